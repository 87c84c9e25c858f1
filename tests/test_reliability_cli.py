"""Every command against every class of bad input: one clear line, the right exit code.

Each case runs a real ``aescope`` command in-process and asserts: the exit code
(2 = what you gave was refused, 1 = something else failed), exactly one
``error:`` line that names the problem (file, column, row, value or option),
and no traceback. ``CASES`` is the table that ``RELIABILITY.md`` counts; a
test below keeps the two in step.

The cases that must *work* (a Parquet file named .csv, a decimal after 100,000
integers, an empty input) and the data-loss cases (the original bytes are
still there afterwards) follow the table.
"""

from __future__ import annotations

import gzip
import os
import pickle
import re
import shutil
import stat
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from aescope import AutoencoderDetector, PreprocessSpec, load_creditcard
from aescope.cli import app

runner = CliRunner()
TINY_FEATURES = ["a", "b", "c"]
BIG_ROWS = 150_000  # several pyarrow blocks: a late bad cell sits far from the first block


def _cards_frame(rows: int) -> pd.DataFrame:
    frame = load_creditcard(sample=True).frame
    return frame[frame["Class"] == 0].head(rows).drop(columns="Class").reset_index(drop=True)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> SimpleNamespace:
    """Two small trained models and every bad file the table needs, made once."""
    d = tmp_path_factory.mktemp("reliability")
    f = SimpleNamespace(dir=d)
    cards = _cards_frame(2000)
    detector = AutoencoderDetector(
        epochs=2, preprocessing=PreprocessSpec(drop=("Time",)), random_state=0
    ).fit(cards)
    f.model = d / "cards.aescope"
    detector.save(f.model)
    rng = np.random.default_rng(0)
    tiny = pd.DataFrame(rng.normal(size=(3000, 3)), columns=TINY_FEATURES)
    f.tiny_model = d / "tiny.aescope"
    AutoencoderDetector(epochs=2, random_state=0).fit(tiny).save(f.tiny_model)

    scoring = cards.head(500).copy()
    scoring.insert(0, "tx_id", [f"T{i:05d}" for i in range(len(scoring))])
    f.good = d / "good.csv"
    scoring.to_csv(f.good, index=False)
    f.labelled = d / "labelled.csv"
    scoring.assign(Class=(np.arange(len(scoring)) % 50 == 0).astype(int)).to_csv(
        f.labelled, index=False
    )

    def variant(name: str, frame: pd.DataFrame, **kw) -> Path:
        path = d / name
        frame.to_csv(path, **({"index": False} | kw))
        return path

    f.nan_cell = variant("nan.csv", scoring.assign(V3=scoring["V3"].where(scoring.index != 321)))
    f.huge_cell = variant(
        "huge.csv", scoring.assign(V5=scoring["V5"].where(scoring.index != 42, 1e39))
    )
    f.text_cell = variant("text.csv", scoring.assign(V7=scoring["V7"].astype(object)))
    with_text = pd.read_csv(f.text_cell, dtype=str)
    with_text.loc[77, "V7"] = "12,5"
    with_text.to_csv(f.text_cell, index=False)
    f.missing_col = variant("missing.csv", scoring.drop(columns="V7"))
    f.extra_col = variant("extra.csv", scoring.assign(V29=1.0))
    f.index_col = variant("index.csv", scoring, index=True)
    f.dup_header = d / "dup.csv"
    f.dup_header.write_text("tx_id,V1,V1\nA,1,2\n")
    f.empty = d / "empty.csv"
    f.empty.write_bytes(b"")
    f.binary = d / "binary.csv"
    f.binary.write_bytes(bytes(range(256)) * 8)
    full_gz = gzip.compress(f.good.read_bytes())
    f.truncated_gz = d / "cut.csv.gz"
    f.truncated_gz.write_bytes(full_gz[: len(full_gz) // 2])
    f.corrupt_gz = d / "corrupt.csv.gz"
    f.corrupt_gz.write_bytes(full_gz[:20] + b"\x00" * 200 + full_gz[220:])
    parquet = d / "good.parquet"
    pq.write_table(pa.Table.from_pandas(scoring, preserve_index=False), parquet)
    f.truncated_parquet = d / "cut.parquet"
    f.truncated_parquet.write_bytes(parquet.read_bytes()[:-100])
    f.parquet_named_csv = d / "really_parquet.csv"
    f.parquet_named_csv.write_bytes(parquet.read_bytes())

    big = pd.DataFrame(rng.normal(size=(BIG_ROWS, 3)), columns=TINY_FEATURES)
    f.big_bad = d / "big_bad.csv"
    lines = big.to_csv(index=False).splitlines()
    lines[BIG_ROWS - 10] = "0.5,oops,0.25"  # data row BIG_ROWS - 11 (0-based)
    f.big_bad.write_text("\n".join(lines) + "\n")
    f.int_then_decimal = d / "int_then_decimal.csv"
    ints = pd.DataFrame({"a": np.arange(BIG_ROWS) % 7, "b": 1, "c": 2})
    text = ints.to_csv(index=False) + "0.5,1.25,2.75\n"
    f.int_then_decimal.write_text(text)
    f.header_only = d / "header.csv"
    f.header_only.write_text("tx_id," + ",".join(cards.columns) + "\n")

    adbench9 = d / "nine.npz"
    np.savez(adbench9, X=rng.normal(size=(400, 9)), y=(np.arange(400) % 20 == 0).astype(int))
    f.adbench9 = adbench9
    adbench13 = d / "thirteen.npz"
    np.savez(adbench13, X=rng.normal(size=(400, 13)), y=(np.arange(400) % 20 == 0).astype(int))
    f.adbench13 = adbench13
    nine = AutoencoderDetector(epochs=2).fit(pd.DataFrame(rng.normal(size=(400, 9))).values)
    f.nine_model = d / "nine.aescope"
    nine.save(f.nine_model)

    label_like = cards.head(400).assign(Class=0)
    f.label_like = variant("leaky.csv", label_like)
    f.arch_latin1 = d / "arch.toml"
    f.arch_latin1.write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    f.not_a_model = d / "not_a_model.aescope"
    f.not_a_model.write_bytes(f.good.read_bytes())
    model_bytes = f.model.read_bytes()
    f.truncated_model = d / "truncated.aescope"
    f.truncated_model.write_bytes(model_bytes[: len(model_bytes) * 2 // 3])
    f.flipped_model = d / "flipped.aescope"
    flipped = bytearray(model_bytes)
    flipped[len(flipped) - 64] ^= 0x10
    f.flipped_model.write_bytes(bytes(flipped))
    f.pickled_model = d / "pickled.aescope"
    f.pickled_model.write_bytes(pickle.dumps({"kind": "aescope.AutoencoderDetector"}))
    f.damaged_resume = d / "resume"
    f.damaged_resume.mkdir()
    (f.damaged_resume / "results.csv").write_text("dataset,detector\nx\n\x00\x01garbage")
    f.parquet_dir = d / "parquet_dir"  # a folder of Parquet files, as Dask and Spark write them
    f.parquet_dir.mkdir()
    for i in range(3):
        part = scoring.iloc[i * 167 : (i + 1) * 167]
        part.to_parquet(f.parquet_dir / f"part.{i}.parquet", index=False)
    f.mixed_dir = d / "mixed_dir"
    shutil.copytree(f.parquet_dir, f.mixed_dir)
    shutil.copy(f.good, f.mixed_dir / "part.3.csv")
    f.empty_dir = d / "empty_dir"
    f.empty_dir.mkdir()
    f.partial_dir = d / "partial_dir"
    shutil.copytree(f.parquet_dir, f.partial_dir)
    pd.read_parquet(f.partial_dir / "part.1.parquet").drop(columns="V7").to_parquet(
        f.partial_dir / "part.1.parquet", index=False
    )
    f.foreign_dir = d / "foreign_dir"
    f.foreign_dir.mkdir()
    (f.foreign_dir / "notes.txt").write_text("someone's files")
    f.fifo = d / "fifo"
    os.mkfifo(f.fifo)
    f.folder = d / "a_folder"
    f.folder.mkdir()
    f.plain_file = d / "plain.txt"
    f.plain_file.write_text("not a folder")
    return f


@dataclass(frozen=True)
class Case:
    """One bad input: the command line, the exit code, and what the error line must say."""

    name: str
    kind: str  # the class of bad input, as RELIABILITY.md counts them
    argv: Callable[[SimpleNamespace], list[str]]
    says: str  # a regular expression the one error line must match
    code: int = 2


CASES = [
    # ---------------------------------------------------------- outputs that would destroy
    Case("score -o INPUT", "output would destroy", lambda f: ["score", f.model, f.good, "-o", f.good], r"is the input file"),
    Case("score -o MODEL", "output would destroy", lambda f: ["score", f.model, f.good, "-o", f.model], r"(is the model|unknown output format)"),
    Case("score -o folder", "output would destroy", lambda f: ["score", f.model, f.good, "-o", f.folder], r"is a folder"),
    Case("score -o fifo", "output would destroy", lambda f: ["score", f.model, f.good, "--id", "tx_id", "-o", f.fifo], r"not a regular file"),
    Case("train --out DATA", "output would destroy", lambda f: ["train", "--data", f.label_like, "--out", f.label_like, "--epochs", "1"], r"is the training data"),
    Case("train --out folder", "output would destroy", lambda f: ["train", "--data", f.good, "--out", f.folder], r"is a folder"),
    Case("train --out under a file", "output would destroy", lambda f: ["train", "--data", f.good, "--out", f.plain_file / "m.aescope", "--epochs", "1"], r"(is the|not a folder|cannot write)"),
    Case("evaluate --json MODEL", "output would destroy", lambda f: ["evaluate", f.model, f.labelled, "--json", f.model], r"name the file \.json"),
    Case("evaluate --plots FILE", "output would destroy", lambda f: ["evaluate", f.model, f.labelled, "--plots", f.plain_file], r"not a folder"),
    Case("study --out FILE", "output would destroy", lambda f: ["study", "--quick", "--out", f.plain_file], r"not a folder"),
    Case("score -o INPUT folder", "output would destroy", lambda f: ["score", f.model, f.parquet_dir, "-o", f.parquet_dir, "--id", "tx_id"], r"is, holds or sits inside the input"),
    Case("score -o inside the input folder", "output would destroy", lambda f: ["score", f.model, f.parquet_dir, "-o", f.parquet_dir / "scores", "--engine", "dask"], r"is, holds or sits inside the input"),
    Case("score -o a folder aescope did not write", "output would destroy", lambda f: ["score", f.model, f.parquet_dir, "-o", f.foreign_dir, "--id", "tx_id"], r"holds files that aescope did not write"),
    Case("bench --out FILE", "output would destroy", lambda f: ["bench", "--out", f.plain_file, "--datasets", "x"], r"not a folder"),
    # ---------------------------------------------------------- unreadable input files
    Case("missing input", "unreadable input", lambda f: ["score", f.model, "nope.csv", "-o", "x.csv"], r"no such file: nope\.csv", code=1),
    Case("empty file", "unreadable input", lambda f: ["score", f.model, f.empty, "-o", "x.csv"], r"empty\.csv: empty file"),
    Case("binary junk as CSV", "unreadable input", lambda f: ["score", f.model, f.binary, "-o", "x.csv"], r"binary\.csv: not a readable CSV"),
    Case("truncated csv.gz", "unreadable input", lambda f: ["score", f.model, f.truncated_gz, "-o", "x.csv", "--id", "tx_id"], r"cut\.csv\.gz: cannot read the file .*truncated or corrupt"),
    Case("corrupt csv.gz", "unreadable input", lambda f: ["score", f.model, f.corrupt_gz, "-o", "x.csv", "--id", "tx_id"], r"corrupt\.csv\.gz: "),
    Case("truncated Parquet", "unreadable input", lambda f: ["score", f.model, f.truncated_parquet, "-o", "x.csv"], r"cut\.parquet: not a readable Parquet"),
    Case("data info on binary junk", "unreadable input", lambda f: ["data", "info", "-d", f.binary], r"binary\.csv: not a readable CSV"),
    Case("evaluate on truncated csv.gz", "unreadable input", lambda f: ["evaluate", f.model, f.truncated_gz], r"cut\.csv\.gz"),
    Case("folder with a CSV file", "unreadable input", lambda f: ["score", f.model, f.mixed_dir, "-o", "out", "--id", "tx_id"], r"part\.3\.csv: not a Parquet file"),
    Case("empty folder", "unreadable input", lambda f: ["score", f.model, f.empty_dir, "-o", "out", "--engine", "spark"], r"empty_dir: no data files"),
    # ---------------------------------------------------------- bad cells
    Case("NaN cell", "bad cell", lambda f: ["score", f.model, f.nan_cell, "-o", "x.csv", "--id", "tx_id"], r"nan\.csv: column 'V3', row 321: missing value"),
    Case("1e39 cell", "bad cell", lambda f: ["score", f.model, f.huge_cell, "-o", "x.csv", "--id", "tx_id"], r"huge\.csv: column 'V5', row 42: value 1e\+39 is too large"),
    Case("text cell", "bad cell", lambda f: ["score", f.model, f.text_cell, "-o", "x.csv", "--id", "tx_id"], r"text\.csv: column 'V7', row 77: non-numeric value '12,5'"),
    Case("bad cell at row 149,989", "bad cell", lambda f: ["score", f.tiny_model, f.big_bad, "-o", "x.csv"], rf"big_bad\.csv: column 'b', row {BIG_ROWS - 11}: non-numeric value 'oops'"),
    Case("evaluate: NaN cell", "bad cell", lambda f: ["evaluate", f.model, f.nan_cell, "--ignore-extra-columns"], r"no label column 'Class'"),
    # ---------------------------------------------------------- columns that do not fit
    Case("missing model column", "wrong columns", lambda f: ["score", f.model, f.missing_col, "-o", "x.csv", "--id", "tx_id"], r"missing columns 'V7'"),
    Case("extra column", "wrong columns", lambda f: ["score", f.model, f.extra_col, "-o", "x.csv", "--id", "tx_id"], r"not trained on: 'V29'"),
    Case("13-column set on a 9-column model", "wrong columns", lambda f: ["evaluate", f.nine_model, f.adbench13], r"not trained on: 'x9', 'x10', 'x11', 'x12'"),
    Case("evaluate: missing column", "wrong columns", lambda f: ["evaluate", f.model, f.missing_col], r"missing columns 'V7'"),
    Case("saved pandas index", "wrong columns", lambda f: ["score", f.model, f.index_col, "-o", "x.csv"], r"column 1 has no name"),
    Case("duplicated header", "wrong columns", lambda f: ["score", f.model, f.dup_header, "-o", "x.csv"], r"duplicated column names: 'V1'"),
    Case("--id absent", "wrong columns", lambda f: ["score", f.model, f.good, "-o", "x.csv", "--id", "nope"], r"no id column 'nope'"),
    Case("evaluate: no label", "wrong columns", lambda f: ["evaluate", f.model, f.good, "--ignore-extra-columns"], r"no label column 'Class'"),
    Case("train on an unnamed index", "wrong columns", lambda f: ["train", "--data", f.index_col, "--epochs", "1"], r"column 1 has no name"),
    Case("train --drop unknown", "wrong columns", lambda f: ["train", "--data", f.good, "--drop", "nope", "--id", "tx_id", "--epochs", "1"], r"no column\(s\) 'nope'"),
    Case("a folder file without a model column", "wrong columns", lambda f: ["score", f.model, f.partial_dir, "-o", "out", "--id", "tx_id", "--engine", "dask"], r"part\.1\.parquet: missing columns 'V7'"),
    # ---------------------------------------------------------- options that cannot work
    Case("--id shadows score", "bad option", lambda f: ["score", f.model, f.good, "-o", "x.csv", "--id", "score"], r"--id 'score' would be overwritten"),
    Case("--top-k -1", "bad option", lambda f: ["score", f.model, f.good, "-o", "x.csv", "--top-k", "-1"], r"top-k"),
    Case("--chunk-rows 0", "bad option", lambda f: ["score", f.model, f.good, "-o", "x.csv", "--chunk-rows", "0"], r"chunk-rows"),
    Case("--threshold nan", "bad option", lambda f: ["score", f.model, f.good, "-o", "x.csv", "--threshold", "nan"], r"--threshold must be a finite number"),
    Case("unknown output format", "bad option", lambda f: ["score", f.model, f.good, "-o", "scores.txt"], r"unknown output format"),
    Case("--threshold f1 in train", "bad option", lambda f: ["train", "--data", f.good, "--threshold", "f1"], r"needs labelled validation rows"),
    Case("--threshold cost in train", "bad option", lambda f: ["train", "--data", f.good, "--threshold", "cost:review=5"], r"needs labelled validation rows"),
    Case("threshold typo", "bad option", lambda f: ["train", "--data", f.good, "--threshold", "fpr:abc"], r"fpr"),
    Case("--threshold fixed:inf", "bad option", lambda f: ["train", "--data", f.good, "--threshold", "fixed:inf"], r"value must be finite"),
    Case("--seed -1", "bad option", lambda f: ["train", "--data", f.good, "--seed", "-1"], r"seed"),
    Case("--epochs 0", "bad option", lambda f: ["train", "--data", f.good, "--epochs", "0"], r"epochs"),
    Case("--learning-rate 0", "bad option", lambda f: ["train", "--data", f.good, "--learning-rate", "0"], r"learning-rate"),
    Case("--split temporal without time", "bad option", lambda f: ["train", "--data", f.labelled, "--label", "Class", "--id", "tx_id", "--split", "temporal", "--epochs", "1"], r"temporal needs a time column"),
    Case("unknown preset", "bad option", lambda f: ["train", "--data", f.good, "--arch", "nope"], r"'nope' is neither a preset"),
    Case("non-UTF-8 architecture file", "bad option", lambda f: ["train", "--data", f.good, "--arch", f.arch_latin1], r"cannot read architecture file"),
    Case("model summary: unknown", "bad option", lambda f: ["model", "summary", "nope"], r"neither a preset"),
    Case("study --seeds 1", "bad option", lambda f: ["study", "--quick", "--seeds", "1"], r"seeds"),
    Case("bench --datasets ','", "bad option", lambda f: ["bench", "--datasets", ","], r"--datasets ',' names nothing"),
    Case("bench --detectors unknown", "bad option", lambda f: ["bench", "--detectors", "nope"], r"unknown detector\(s\) nope"),
    Case("bench --resume damaged", "bad option", lambda f: ["bench", "--resume", "--out", f.damaged_resume, "--no-creditcard", "--adbench-dir", f.dir], r"cannot resume from it"),
    Case("--engine dask -o CSV", "bad option", lambda f: ["score", f.model, f.parquet_dir, "-o", "x.csv", "--engine", "dask"], r"writes a folder of Parquet files; name it without \.csv"),
    Case("--engine spark on a CSV file", "bad option", lambda f: ["score", f.model, f.good, "-o", "out", "--engine", "spark", "--id", "tx_id"], r"good\.csv: --engine dask and spark read Parquet"),
    Case("--scheduler without --engine dask", "bad option", lambda f: ["score", f.model, f.good, "-o", "x.csv", "--scheduler", "tcp://127.0.0.1:8786"], r"--scheduler is the Dask scheduler's address: add --engine dask"),
    Case("--workers with the local engine", "bad option", lambda f: ["score", f.model, f.good, "-o", "x.csv", "--workers", "2"], r"--workers sizes a local Dask or Spark cluster"),
    Case("study --scheduler and --dask-workers", "bad option", lambda f: ["study", "--quick", "--scheduler", "tcp://127.0.0.1:1", "--dask-workers", "2"], r"give one of them"),
    # ---------------------------------------------------------- clusters out of reach
    Case("score --engine spark, master down", "unreachable cluster", lambda f: ["score", f.model, f.parquet_dir, "-o", "out", "--id", "tx_id", "--engine", "spark", "--master", "spark://127.0.0.1:1"], r"cannot reach the Spark master at tcp://127\.0\.0\.1:1"),
    Case("score --engine dask, scheduler down", "unreachable cluster", lambda f: ["score", f.model, f.parquet_dir, "-o", "out", "--id", "tx_id", "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1"], r"cannot reach the Dask scheduler at tcp://127\.0\.0\.1:1"),
    Case("bench --scheduler down", "unreachable cluster", lambda f: ["bench", "--no-creditcard", "--adbench-dir", f.dir, "--detectors", "pca", "--out", "b", "--scheduler", "tcp://127.0.0.1:1"], r"cannot reach the Dask scheduler"),
    Case("--scheduler not an address", "unreachable cluster", lambda f: ["score", f.model, f.parquet_dir, "-o", "out", "--id", "tx_id", "--engine", "dask", "--scheduler", "nowhere"], r"'nowhere' is not HOST:PORT"),
    # ---------------------------------------------------------- model files
    Case("model missing", "model file", lambda f: ["score", "nope.aescope", f.good, "-o", "x.csv"], r"nope\.aescope"),
    Case("model is a CSV", "model file", lambda f: ["score", f.not_a_model, f.good, "-o", "x.csv"], r"not_a_model\.aescope"),
    Case("model truncated", "model file", lambda f: ["score", f.truncated_model, f.good, "-o", "x.csv"], r"truncated\.aescope"),
    Case("model bit-flipped", "model file", lambda f: ["score", f.flipped_model, f.good, "-o", "x.csv"], r"flipped\.aescope"),
    Case("model is a pickle", "model file", lambda f: ["score", f.pickled_model, f.good, "-o", "x.csv"], r"pickled\.aescope"),
    # ---------------------------------------------------------- silent leaks and blow-ups
    Case("label-like column", "label leak", lambda f: ["train", "--data", f.label_like, "--epochs", "1"], r"column 'Class' looks like a label"),
    Case("learning rate 1e6", "training blow-up", lambda f: ["train", "--data", f.good, "--id", "tx_id", "--learning-rate", "1e6", "--epochs", "2"], r"training diverged at epoch 1", code=1),
]  # fmt: skip
# The 'x.csv' outputs of failing cases must never be written; each case runs in a fresh cwd.


def _one_error_line(output: str) -> str:
    lines = [
        line for line in output.splitlines() if line.startswith(("error:", "Error:", "Usage:"))
    ]
    errors = [line for line in output.splitlines() if line.startswith("error:")]
    assert "Traceback" not in output, output
    if errors:
        assert len(errors) == 1, output
        return errors[0]
    assert lines, output  # click's own usage errors: "Usage: ..." then "Error: Invalid value..."
    return " ".join(output.split())


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_gives_one_clear_line(case: Case, files, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    argv = [str(part) for part in case.argv(files)]
    before = {p: p.read_bytes() for p in files.dir.rglob("*") if p.is_file() and not p.is_fifo()}
    result = runner.invoke(app, argv)
    assert isinstance(result.exception, SystemExit), (argv, result.output, result.exception)
    line = _one_error_line(result.output)
    assert result.exit_code == case.code, (argv, result.output)
    assert re.search(case.says, line), (case.says, line)
    assert not (tmp_path / "x.csv").exists()
    assert not (tmp_path / "out").exists()  # nor a folder output, nor its temporary folder
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".aescope.tmp")]
    now = {p for p in files.dir.rglob("*") if p.is_file() and not p.is_fifo()}
    assert now == set(before), "a refused command left a file beside its inputs"
    after = {p: p.read_bytes() for p in before}
    assert after == before, "a refused command changed one of its input files"
    assert stat.S_ISFIFO(files.fifo.stat().st_mode)


def test_reliability_md_counts_this_table():
    """RELIABILITY.md's per-class counts are this table's, not numbers typed by hand."""
    text = (Path(__file__).resolve().parents[1] / "RELIABILITY.md").read_text(encoding="utf-8")
    documented = {
        m.group(1).strip(): int(m.group(2))
        for m in re.finditer(r"^\| ([a-z][a-z -]+?) \| (\d+) \|", text, flags=re.M)
    }
    assert documented == dict(Counter(c.kind for c in CASES))


# ------------------------------------------------------------------ what must work


def _scores(path: Path) -> pd.DataFrame:
    return pd.read_csv(path) if path.suffix == ".csv" else pq.read_table(path).to_pandas()


def test_content_decides_the_format_not_the_name(files, tmp_path):
    out = tmp_path / "s.csv"
    result = runner.invoke(
        app,
        ["score", str(files.model), str(files.parquet_named_csv), "-o", str(out), "--id", "tx_id"],
    )
    assert result.exit_code == 0, result.output
    assert len(_scores(out)) == 500


def test_a_decimal_after_150k_integers_is_read(files, tmp_path):
    out = tmp_path / "s.parquet"
    result = runner.invoke(
        app, ["score", str(files.tiny_model), str(files.int_then_decimal), "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    scored = _scores(out)
    assert len(scored) == BIG_ROWS + 1
    detector = AutoencoderDetector.load(files.tiny_model)
    last = detector.score_samples(pd.DataFrame([[0.5, 1.25, 2.75]], columns=TINY_FEATURES))
    assert scored["score"].iloc[-1] == last[0]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".csv.gz"])
def test_an_input_without_rows_gives_an_empty_output_with_its_header(files, tmp_path, suffix):
    out = tmp_path / f"s{suffix}"
    argv = ["score", str(files.model), str(files.header_only), "-o", str(out), "--id", "tx_id"]
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert "scored 0 rows" in result.output
    frame = pd.read_csv(out) if suffix != ".parquet" else pq.read_table(out).to_pandas()
    assert list(frame.columns) == ["tx_id", "score", "flag", "top_features"] and frame.empty


@pytest.mark.parametrize("policy", ["skip", "flag"])
def test_invalid_rows_are_skipped_or_flagged_and_counted(files, tmp_path, policy):
    out = tmp_path / "s.csv"
    argv = ["score", str(files.model), str(files.huge_cell), "-o", str(out), "--id", "tx_id"]
    result = runner.invoke(app, [*argv, "--on-invalid", policy])
    assert result.exit_code == 0, result.output
    assert "1 rows with missing, infinite or out-of-range values" in result.output
    scored = _scores(out)
    if policy == "skip":
        assert len(scored) == 499 and "T00042" not in set(scored["tx_id"])
    else:
        row = scored.set_index("tx_id").loc["T00042"]
        assert np.isinf(row["score"]) and row["flag"] == 1 and row["top_features"] == "V5"


def test_scores_are_bitwise_the_same_whatever_the_chunk_size(files, tmp_path):
    outputs = []
    for rows in (1, 7, 100, 100_000):
        out = tmp_path / f"s{rows}.parquet"
        argv = ["score", str(files.model), str(files.good), "-o", str(out), "--id", "tx_id"]
        result = runner.invoke(app, [*argv, "--chunk-rows", str(rows)])
        assert result.exit_code == 0, result.output
        outputs.append(_scores(out))
    for other in outputs[1:]:
        pd.testing.assert_frame_equal(other, outputs[0], check_exact=True)


def test_threshold_override_and_alert_count(files, tmp_path):
    out = tmp_path / "s.csv"
    argv = ["score", str(files.model), str(files.good), "-o", str(out), "--id", "tx_id"]
    result = runner.invoke(app, [*argv, "--threshold", "-1000"])  # scores are z-scores
    assert result.exit_code == 0, result.output
    assert "500 alerts (100.00%) at threshold -1000" in result.output
    assert _scores(out)["flag"].eq(1).all()


def test_score_needs_only_the_columns_the_model_uses(files, tmp_path):
    no_time = tmp_path / "no_time.csv"
    pd.read_csv(files.good).drop(columns="Time").to_csv(no_time, index=False)
    out = tmp_path / "s.csv"
    result = runner.invoke(
        app, ["score", str(files.model), str(no_time), "-o", str(out), "--id", "tx_id"]
    )
    assert result.exit_code == 0, result.output


def test_dash_writes_csv_to_standard_output(files):
    result = runner.invoke(
        app, ["score", str(files.model), str(files.good), "-o", "-", "--id", "tx_id"]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == '"tx_id","score","flag","top_features"'
    assert len(result.stdout.splitlines()) == 501
    assert not Path("-").exists()


def test_train_drop_id_and_temporal_split(files, tmp_path):
    out = tmp_path / "m.aescope"
    frame = pd.read_csv(files.labelled)
    frame["Merchant"] = 7.0
    data = tmp_path / "d.csv"
    frame.to_csv(data, index=False)
    argv = [
        "train", "--data", str(data), "--label", "Class", "--time", "Time", "--id", "tx_id",
        "--drop", "Merchant", "--split", "temporal", "--epochs", "1", "--bootstrap", "10",
        "--out", str(out),
    ]  # fmt: skip
    result = runner.invoke(app, argv)
    assert result.exit_code == 0, result.output
    assert "split: temporal" in result.output
    assert "relu [latent]" in result.output  # rich markup must not swallow bracketed text
    detector = AutoencoderDetector.load(out)
    assert (
        "tx_id" not in detector.feature_names_in_ and "Merchant" not in detector.feature_names_in_
    )
    assert "Time" not in detector.columns_used_


# ------------------------------------------------------------------ nothing is lost


def test_writing_through_a_symlink_keeps_the_link(files, tmp_path):
    target = tmp_path / "real.csv"
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    argv = ["score", str(files.model), str(files.good), "-o", str(link), "--id", "tx_id"]
    assert runner.invoke(app, argv).exit_code == 0
    assert link.is_symlink() and len(_scores(target)) == 500


def test_a_symlink_to_the_input_is_refused(files, tmp_path):
    link = tmp_path / "link.csv"
    link.symlink_to(files.good)
    before = files.good.read_bytes()
    result = runner.invoke(app, ["score", str(files.model), str(files.good), "-o", str(link)])
    assert result.exit_code == 2 and "is the input file" in result.output
    assert files.good.read_bytes() == before and link.is_symlink()


def test_dev_null_is_written_through_and_stays_a_device(files):
    argv = ["score", str(files.model), str(files.good), "-o", os.devnull, "--id", "tx_id"]
    assert runner.invoke(app, argv).exit_code == 0
    assert stat.S_ISCHR(os.stat(os.devnull).st_mode)


def test_a_hard_link_to_the_model_is_refused(files, tmp_path):
    twin = tmp_path / "twin.csv"
    os.link(files.model, twin)
    before = files.model.read_bytes()
    result = runner.invoke(app, ["score", str(files.model), str(files.good), "-o", str(twin)])
    assert result.exit_code == 2 and "is the model" in result.output
    assert files.model.read_bytes() == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_an_unwritable_folder_is_refused_before_training(files, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        argv = ["train", "--data", str(files.good), "--id", "tx_id", "--out", str(locked / "m")]
        result = runner.invoke(app, argv)
    finally:
        locked.chmod(0o700)
    assert result.exit_code == 2 and "cannot write" in result.output
    assert "Total params" not in result.output  # refused before the network was even built
