"""validate_frame: one test per rule, each checking that the message names the culprit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from aescope.data import validate_frame
from aescope.errors import AescopeError, DataValidationError


def _frame(**columns) -> pd.DataFrame:
    base = {"a": [0.5, 1.5, 2.5], "b": [1, 2, 3], "label": [0, 1, 0]}
    base.update(columns)
    return pd.DataFrame(base)


def test_valid_frame_gives_float64_features_and_int8_label():
    clean = validate_frame(_frame(), label="label")
    assert list(clean.columns) == ["a", "b", "label"]
    assert clean["a"].dtype == np.float64 and clean["b"].dtype == np.float64
    assert clean["label"].dtype == np.int8
    assert clean["label"].tolist() == [0, 1, 0]
    assert isinstance(clean.index, pd.RangeIndex)


def test_result_does_not_alias_the_input():
    frame = _frame()
    clean = validate_frame(frame, label="label")
    clean.loc[0, "a"] = 99.0
    assert frame.loc[0, "a"] == 0.5


def test_errors_belong_to_the_aescope_family():
    with pytest.raises(AescopeError):
        validate_frame(_frame(), label="nope")


def test_missing_label_column_is_named():
    with pytest.raises(DataValidationError, match=r"missing columns: 'target'"):
        validate_frame(_frame(), label="target")


def test_missing_feature_column_is_named():
    with pytest.raises(DataValidationError, match=r"missing columns: 'zz'"):
        validate_frame(_frame(), label="label", features=["a", "zz"])


def test_missing_time_column_is_named():
    with pytest.raises(DataValidationError, match=r"missing columns: 'Time'"):
        validate_frame(_frame(), label="label", features=["a"], time="Time")


def test_features_select_and_order_columns_time_included():
    clean = validate_frame(_frame(), label="label", features=["b"], time="a")
    assert list(clean.columns) == ["a", "b", "label"]


def test_label_cannot_also_be_a_feature():
    with pytest.raises(DataValidationError, match=r"'label' is also listed as a feature"):
        validate_frame(_frame(), label="label", features=["a", "label"])


def test_missing_expected_columns_are_named():
    with pytest.raises(DataValidationError, match=r"missing columns: 'c'"):
        validate_frame(_frame(), label="label", expected_columns=["a", "b", "c", "label"])


def test_unexpected_columns_are_named():
    frame = _frame(extra=[1.0, 2.0, 3.0])
    with pytest.raises(DataValidationError, match=r"unexpected columns: 'extra'"):
        validate_frame(frame, label="label", expected_columns=["a", "b", "label"])


def test_expected_columns_fix_the_order():
    clean = validate_frame(_frame(), label="label", expected_columns=["b", "a", "label"])
    assert list(clean.columns) == ["b", "a", "label"]


def test_non_numeric_value_names_column_row_and_value():
    frame = _frame(a=["1.5", "2.5", "abc"])
    with pytest.raises(DataValidationError, match=r"column 'a', row 2: non-numeric value 'abc'"):
        validate_frame(frame, label="label")


def test_numbers_stored_as_text_are_not_converted_silently():
    frame = _frame(a=["1.5", "2.5", "3.5"])
    with pytest.raises(DataValidationError, match=r"column 'a', row 0: number stored as text"):
        validate_frame(frame, label="label")


def test_object_column_of_real_numbers_is_accepted():
    frame = _frame(a=pd.Series([1, 2.5, np.float32(3)], dtype=object))
    assert validate_frame(frame)["a"].tolist() == [1.0, 2.5, 3.0]


def test_non_numeric_dtype_column_is_refused():
    frame = _frame(a=pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03"]))
    with pytest.raises(DataValidationError, match=r"column 'a' is not numeric.*row 0"):
        validate_frame(frame)


def test_nan_names_column_and_row():
    frame = _frame(b=[1.0, np.nan, 3.0])
    with pytest.raises(DataValidationError, match=r"column 'b', row 1: missing value"):
        validate_frame(frame, label="label")


def test_missing_cell_in_text_column_names_row():
    frame = _frame(a=pd.Series([1.0, None, 2.0], dtype=object))
    with pytest.raises(DataValidationError, match=r"column 'a', row 1: missing value"):
        validate_frame(frame)


def test_nullable_integer_na_is_reported():
    frame = _frame(b=pd.array([1, 2, None], dtype="Int64"))
    with pytest.raises(DataValidationError, match=r"column 'b', row 2: missing value"):
        validate_frame(frame)


def test_infinite_value_names_column_and_row():
    frame = _frame(a=[0.0, 1.0, -np.inf])
    with pytest.raises(DataValidationError, match=r"column 'a', row 2: infinite value -inf"):
        validate_frame(frame, label="label")


def test_integer_too_large_for_float64_is_refused():
    frame = _frame(b=np.array([1, 2**60 + 1, 3], dtype=np.int64))
    with pytest.raises(
        DataValidationError, match=r"column 'b', row 1: integer 1152921504606846977"
    ):
        validate_frame(frame)


def test_empty_table_is_refused():
    with pytest.raises(DataValidationError, match=r"empty table: it has no rows"):
        validate_frame(_frame().iloc[:0], label="label")


def test_table_without_features_is_refused():
    with pytest.raises(DataValidationError, match=r"no feature columns"):
        validate_frame(pd.DataFrame({"label": [0, 1]}), label="label")


@pytest.mark.parametrize(
    ("values", "row", "shown"),
    [([0, 2, 1], 1, r"2 \(int\)"), ([0.0, 1.0, 0.5], 2, r"0\.5 \(float\)"), ([-1, 0, 1], 0, "-1")],
)
def test_label_not_zero_one_names_value_and_row(values, row, shown):
    with pytest.raises(
        DataValidationError, match=rf"label column 'label', row {row}: value {shown}"
    ):
        validate_frame(_frame(label=values), label="label")


def test_label_as_text_is_refused():
    with pytest.raises(
        DataValidationError, match=r"column 'label', row 1: non-numeric value 'yes'"
    ):
        validate_frame(_frame(label=["0", "yes", "1"]), label="label")


def test_label_nan_is_refused():
    with pytest.raises(DataValidationError, match=r"column 'label', row 0: missing value"):
        validate_frame(_frame(label=[np.nan, 1.0, 0.0]), label="label")


def test_boolean_and_float_labels_become_int8():
    assert validate_frame(_frame(label=[True, False, True]), label="label")["label"].tolist() == [
        1,
        0,
        1,
    ]
    assert validate_frame(_frame(label=[1.0, 0.0, 0.0]), label="label")["label"].dtype == np.int8


def test_duplicated_column_names_are_named():
    frame = pd.DataFrame([[1.0, 2.0, 3.0]], columns=["a", "b", "a"])
    with pytest.raises(DataValidationError, match=r"duplicated column names: 'a'"):
        validate_frame(frame)


def test_non_string_column_names_are_refused():
    with pytest.raises(DataValidationError, match=r"column names must be strings; got 0"):
        validate_frame(pd.DataFrame(np.zeros((2, 2))))


def test_source_prefixes_messages():
    with pytest.raises(DataValidationError, match=r"^cards\.csv: column 'b', row 1"):
        validate_frame(_frame(b=[1.0, np.nan, 3.0]), source="cards.csv")


def test_not_a_dataframe_is_refused():
    with pytest.raises(DataValidationError, match=r"expected a pandas DataFrame, got ndarray"):
        validate_frame(np.zeros((2, 2)))  # type: ignore[arg-type]
