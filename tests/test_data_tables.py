"""load_table (CSV, gzip CSV, Parquet) and load_adbench (.npz), on synthetic and real files."""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aescope.data import load_adbench, load_table, read_frame
from aescope.data import tables as tables_module
from aescope.errors import DataUnavailableError, DataValidationError

QUOTED = (
    '"Time","V1","Amount","Class"\n'
    '0,-1.3598071336738,149.62,"0"\n'
    '1,1.19185711131486,2.69,"1"\n'
    '2,-0.0727811733098497,378.66,"0"\n'
)


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_with_quoted_header_and_values(tmp_path):
    ds = load_table(_write(tmp_path / "cards.csv", QUOTED), label="Class", time="Time")
    assert ds.name == "cards"
    assert ds.features == ["Time", "V1", "Amount"]
    assert ds.y.tolist() == [0, 1, 0]
    assert ds.frame["V1"].tolist() == [-1.3598071336738, 1.19185711131486, -0.0727811733098497]
    assert ds.time == "Time" and ds.source == str(tmp_path / "cards.csv")


def test_gzip_csv_and_parquet_give_the_same_content(tmp_path):
    plain = load_table(_write(tmp_path / "cards.csv", QUOTED), label="Class")
    gz = tmp_path / "cards.csv.gz"
    gz.write_bytes(gzip.compress(QUOTED.encode()))
    parquet = tmp_path / "cards.parquet"
    pd.read_csv(tmp_path / "cards.csv").to_parquet(parquet)
    assert load_table(gz, label="Class").fingerprint() == plain.fingerprint()
    assert load_table(parquet, label="Class").fingerprint() == plain.fingerprint()
    assert load_table(gz, label="Class").name == "cards"


def test_format_is_sniffed_not_taken_from_the_name(tmp_path):
    disguised = tmp_path / "cards.csv"  # gzip bytes under a .csv name
    disguised.write_bytes(gzip.compress(QUOTED.encode()))
    assert len(load_table(disguised, label="Class").frame) == 3


def test_features_select_columns(tmp_path):
    ds = load_table(_write(tmp_path / "c.csv", QUOTED), label="Class", features=["Amount"])
    assert list(ds.frame.columns) == ["Amount", "Class"]


def test_pandas_fallback_reads_the_same_values(tmp_path, monkeypatch):
    path = _write(tmp_path / "cards.csv", QUOTED)
    fast = load_table(path, label="Class")

    def refuse(*args, **kwargs):
        raise pa.ArrowInvalid("forced")

    monkeypatch.setattr(tables_module.pa_csv, "read_csv", refuse)
    assert load_table(path, label="Class").fingerprint() == fast.fingerprint()


def test_non_numeric_cell_in_csv_is_named(tmp_path):
    text = QUOTED.replace("378.66", "abc")
    with pytest.raises(
        DataValidationError, match=r"column 'Amount', row 2: non-numeric value 'abc'"
    ):
        load_table(_write(tmp_path / "c.csv", text), label="Class")


def test_non_numeric_cell_late_in_a_big_csv_is_named(tmp_path):
    rows = ["a,b"] + [f"{i},{i * 0.5}" for i in range(300_000)] + ["7,oops"]
    path = _write(tmp_path / "big.csv", "\n".join(rows) + "\n")
    with pytest.raises(
        DataValidationError, match=r"column 'b', row 300000: non-numeric value 'oops'"
    ):
        load_table(path)


def test_empty_cell_in_csv_is_named(tmp_path):
    text = QUOTED.replace("2.69", "")
    with pytest.raises(DataValidationError, match=r"column 'Amount', row 1: missing value"):
        load_table(_write(tmp_path / "c.csv", text), label="Class")


def test_infinite_value_in_csv_is_named(tmp_path):
    text = QUOTED.replace("149.62", "inf")
    with pytest.raises(DataValidationError, match=r"column 'Amount', row 0: infinite value inf"):
        load_table(_write(tmp_path / "c.csv", text), label="Class")


def test_bad_label_in_csv_is_named(tmp_path):
    text = QUOTED.replace('2.69,"1"', '2.69,"2"')
    with pytest.raises(DataValidationError, match=r"label column 'Class', row 1: value 2"):
        load_table(_write(tmp_path / "c.csv", text), label="Class")


def test_duplicated_csv_header_is_refused_not_renamed(tmp_path):
    path = _write(tmp_path / "dup.csv", "a,b,a\n1,2,3\n")
    with pytest.raises(DataValidationError, match=r"duplicated column names: 'a'"):
        load_table(path)


def test_duplicated_parquet_columns_are_refused(tmp_path):
    path = tmp_path / "dup.parquet"
    table = pa.table([pa.array([1.0]), pa.array([2.0])], names=["a", "a"])
    pq.write_table(table, path)
    with pytest.raises(DataValidationError, match=r"duplicated column names: 'a'"):
        load_table(path)


def test_missing_label_column_in_file(tmp_path):
    with pytest.raises(DataValidationError, match=r"missing columns: 'label'"):
        load_table(_write(tmp_path / "c.csv", QUOTED), label="label")


def test_header_only_csv_is_an_empty_table(tmp_path):
    with pytest.raises(DataValidationError, match=r"empty table"):
        load_table(_write(tmp_path / "c.csv", "a,b\n"))


def test_empty_file_is_an_empty_table(tmp_path):
    with pytest.raises(DataValidationError, match=r"empty file: no header and no rows"):
        load_table(_write(tmp_path / "c.csv", ""))


def test_ragged_csv_is_refused(tmp_path):
    with pytest.raises(DataValidationError, match=r"c\.csv"):
        load_table(_write(tmp_path / "c.csv", "a,b\n1,2\n3,4,5\n"))


def test_corrupt_parquet_is_refused(tmp_path):
    path = tmp_path / "bad.parquet"
    path.write_bytes(b"PAR1" + b"\x00" * 20)
    with pytest.raises(DataValidationError, match=r"not a readable Parquet file"):
        load_table(path)


def test_missing_file_is_unavailable(tmp_path):
    with pytest.raises(DataUnavailableError, match=r"no such file"):
        load_table(tmp_path / "nope.csv")


def test_read_frame_keeps_raw_columns(tmp_path):
    frame = read_frame(_write(tmp_path / "c.csv", QUOTED))
    assert list(frame.columns) == ["Time", "V1", "Amount", "Class"]


# --- ADBench -------------------------------------------------------------------------------


def test_adbench_npz_gets_x_columns_and_label_y(tmp_path):
    path = tmp_path / "7_toy.npz"
    x = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.int16)
    np.savez(path, X=x, y=np.array([0.0, 1.0, 0.0]))
    ds = load_adbench(path)
    assert ds.name == "7_toy" and ds.label == "y" and ds.time is None
    assert ds.features == ["x0", "x1"]
    assert ds.frame["x1"].dtype == np.float64 and ds.frame["x1"].tolist() == [2.0, 4.0, 6.0]
    assert ds.y.tolist() == [0, 1, 0]


def test_adbench_missing_key(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X=np.zeros((2, 2)))
    with pytest.raises(DataValidationError, match=r"missing arrays 'y'"):
        load_adbench(path)


def test_adbench_refuses_pickled_arrays(tmp_path):
    path = tmp_path / "pickled.npz"
    np.savez(path, X=np.array([[1, "a"]], dtype=object), y=np.array([0]))
    with pytest.raises(DataValidationError, match=r"cannot read arrays"):
        load_adbench(path)


def test_adbench_label_length_must_match(tmp_path):
    path = tmp_path / "bad.npz"
    np.savez(path, X=np.zeros((3, 2)), y=np.array([0, 1]))
    with pytest.raises(DataValidationError, match=r"one label per row of X \(3\)"):
        load_adbench(path)


def test_adbench_nan_is_reported(tmp_path):
    path = tmp_path / "nan.npz"
    np.savez(path, X=np.array([[1.0, 2.0], [np.nan, 1.0]]), y=np.array([0, 1]))
    with pytest.raises(DataValidationError, match=r"column 'x0', row 1: missing value"):
        load_adbench(path)


def test_adbench_single_array_file_is_refused(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.zeros((2, 2)))
    with pytest.raises(DataValidationError, match=r"not an \.npz archive"):
        load_adbench(path)


def test_real_adbench_files_match_their_index(adbench_dir):
    with open(adbench_dir / "INDEX.tsv", newline="") as handle:
        index = list(csv.DictReader(handle, delimiter="\t"))
    assert len(index) == 22
    for row in index:
        ds = load_adbench(adbench_dir / row["file"])
        assert len(ds.frame) == int(row["rows"]), row["file"]
        assert len(ds.features) == int(row["features"]), row["file"]
        assert int(ds.y.sum()) == int(row["anomalies"]), row["file"]
