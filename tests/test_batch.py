"""`score_frame`, the chunk scorer behind `aescope score` and the Dask and Spark engines.

It validates and scales a whole chunk itself (one copy of the columns, no per-call
checks), so it must give exactly what the detector's own API gives: the same scores,
the same refusals and the same top features, whatever the column types.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _scale_helpers import scoring_rows, train_small_model

from aescope.batch import score_frame, top_feature_names
from aescope.detector import rank_features
from aescope.errors import DataValidationError
from aescope.explain import top_columns


@pytest.fixture(scope="module")
def detector(tmp_path_factory):
    return train_small_model(tmp_path_factory.mktemp("batch") / "m.aescope")


@pytest.fixture(scope="module")
def rows(detector):
    frame = scoring_rows(1500)
    return frame[["tx_id", *detector.columns_used_]]


def _joined(top: pd.DataFrame, k: int) -> list[str]:
    return [",".join(names) for names in top[[f"feature_{j + 1}" for j in range(k)]].to_numpy()]


def test_scores_and_names_are_the_detector_apis(detector, rows):
    out, invalid = score_frame(detector, rows, id_column="tx_id", top_k=3)
    assert invalid == 0 and list(out.columns) == ["tx_id", "score", "flag", "top_features"]
    features = rows[detector.columns_used_]
    np.testing.assert_array_equal(out["score"].to_numpy(), detector.score_samples(features))
    np.testing.assert_array_equal(out["flag"], detector.predict(features))
    assert list(out["top_features"]) == _joined(detector.top_features(features, k=3), 3)
    assert list(out["tx_id"]) == list(rows["tx_id"])


def test_names_stay_right_from_chunk_to_chunk_and_for_every_k(detector, rows):
    """Joined names are kept between calls (per columns and k): a later chunk, another
    k or the same columns in another order must not be handed stale text."""
    features = rows[detector.columns_used_]
    errors = detector.feature_errors(features)
    for k in (1, 2, 3):
        for part in (rows.iloc[:700], rows.iloc[700:], rows.iloc[::-1]):
            out, _ = score_frame(detector, part, top_k=k)
            want = _joined(rank_features(errors.loc[part.index], k), k)
            assert list(out["top_features"]) == want
    shuffled = list(reversed(detector.columns_used_))
    values = errors.to_numpy()[:, ::-1]
    want = _joined(rank_features(pd.DataFrame(values, columns=shuffled), 3), 3)
    assert list(top_feature_names(values, shuffled, 3)) == want


def test_ranking_in_place_gives_the_ranking_of_a_copy():
    errors = np.random.default_rng(0).random((200, 9))
    errors[:, 4] = errors[:, 2]  # ties go to the earlier column either way
    want = top_columns(errors, 3)
    assert (top_columns(errors.copy(), 3, overwrite=True) == want).all()


def test_integer_and_text_number_columns_score_like_floats(detector, rows):
    mixed = rows.copy()
    mixed["V1"] = mixed["V1"].round().astype(np.int64)
    floats = mixed.copy()
    floats["V1"] = floats["V1"].astype(np.float64)
    mixed["V2"] = mixed["V2"].astype(object)
    got, _ = score_frame(detector, mixed)
    want, _ = score_frame(detector, floats)
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.nan, r"column 'V4', row 9: missing value"),
        (np.inf, r"column 'V4', row 9: infinite value inf"),
        (1e308, r"column 'V4', row 9: value 1e\+308 is too large for the model"),
        ("ten", r"column 'V4', row 9: .*'ten'"),
    ],
)
def test_a_bad_cell_is_refused_by_column_row_and_value(detector, rows, value, message):
    bad = rows.astype({"V4": object}) if isinstance(value, str) else rows.copy()
    bad.loc[9, "V4"] = value
    with pytest.raises(DataValidationError, match=message):
        score_frame(detector, bad)
    if not isinstance(value, str):  # a number the model cannot use: skip or flag the row
        flagged, invalid = score_frame(detector, bad, on_invalid="flag")
        assert invalid == 1 and np.isinf(flagged.loc[9, "score"]) and flagged.loc[9, "flag"] == 1
        assert flagged.loc[9, "top_features"] == "V4"
        skipped, invalid = score_frame(detector, bad, on_invalid="skip")
        assert invalid == 1 and 9 not in skipped.index and len(skipped) == len(rows) - 1


@pytest.mark.parametrize(
    ("width", "k"),
    [(110, 3), (30, 13)],  # too many combinations to keep; beyond one int64 per combination
)
def test_names_of_wide_tables_take_the_other_paths_with_the_same_result(width, k):
    rng = np.random.default_rng(width)
    errors = rng.random((400, width))
    columns = [f"c{j}" for j in range(width)]
    want = _joined(rank_features(pd.DataFrame(errors, columns=columns), k), k)
    assert list(top_feature_names(errors, columns, k)) == want


@pytest.mark.parametrize("dtype", ["Float64", object])
def test_a_missing_value_of_any_kind_is_named_not_a_traceback(detector, rows, dtype):
    bad = rows.astype({"V1": dtype})
    bad.loc[3, "V1"] = pd.NA if dtype == "Float64" else None
    with pytest.raises(DataValidationError, match=r"column 'V1', row 3: missing value"):
        score_frame(detector, bad)
    with pytest.raises(DataValidationError, match=r"column 'V1', row 3: missing value"):
        detector.score_samples(bad[detector.columns_used_])


def _refusals(detector, frame) -> tuple[str, str]:
    """The error of ``score_frame`` and of the detector's API for the same bad frame."""
    with pytest.raises(DataValidationError) as ours:
        score_frame(detector, frame)
    with pytest.raises(DataValidationError) as api:
        detector.score_samples(frame[detector.columns_used_])
    return str(ours.value), str(api.value)


@pytest.mark.parametrize("late", [np.nan, 1e308])
def test_with_several_bad_cells_the_same_one_is_named_as_by_the_detector(detector, rows, late):
    """Missing or infinite values first, column by column; then the rest row by row."""
    bad = rows.copy()
    bad.loc[50, "V2"] = np.nan
    bad.loc[10, "V20"] = late
    bad.loc[5, "V9"] = 1e308
    ours, api = _refusals(detector, bad)
    assert ours == api and ours.startswith("column 'V2', row 50: missing value")
    bad.loc[50, "V2"] = 0.0
    ours, api = _refusals(detector, bad)
    assert ours == api


def test_a_duplicated_column_is_refused_by_name(detector, rows):
    twice = pd.concat([rows, rows[["V1"]]], axis=1)
    with pytest.raises(DataValidationError, match="duplicated column names: 'V1'"):
        score_frame(detector, twice)
