"""One gate for every table that enters aescope.

Every loader funnels its raw frame through :func:`validate_frame`, so a bad
cell is reported the same way whatever the file format, and nothing downstream
has to wonder whether a NaN, a stray string or a 2 in the label slipped in.
The gate converts dtypes (integers and float32 to float64, the label to int8)
but never *values*: a cell that is not already a finite number is an error that
names its column, row and value, never a silent NaN or a dropped row.

Rows are named by the frame's index label. For a table freshly read from a
file that is the 0-based count of data rows (the header is not a row); for a
slice of a bigger frame (a chunk of a file being streamed, or rows filtered by
a user) it is the row's place in the original, which is where a person will
look for it. The returned frame keeps the input's index.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from aescope.errors import DataValidationError

# Integers beyond 2**53 do not survive the trip to float64.
_MAX_EXACT_INT = 2**53
# How pandas names a header cell left empty, e.g. by ``to_csv`` writing the index.
_UNNAMED = re.compile(r"^Unnamed: \d+(_level_\d+)?$")


def check_column_names(names: Sequence[object], source: str | None = None) -> None:
    """Refuse duplicated or non-string column names.

    Readers call this on the raw header too, because pandas would otherwise
    rename a second ``A`` to ``A.1`` behind the user's back.
    """
    seen: set[object] = set()
    duplicated: list[object] = []
    for name in names:
        if name in seen and name not in duplicated:
            duplicated.append(name)
        seen.add(name)
    if duplicated:
        raise DataValidationError(
            _where(source) + f"duplicated column names: {', '.join(map(repr, duplicated))}"
        )
    for position, name in enumerate(names):
        if not isinstance(name, str):
            raise DataValidationError(
                _where(source)
                + f"column names must be strings; got {name!r} ({type(name).__name__})"
            )
        if not name.strip() or _UNNAMED.match(name):
            raise DataValidationError(
                _where(source) + f"column {position + 1} has no name ({name!r}): a saved "
                "row index? Name the column, or write the file without its index "
                "(pandas: to_csv(..., index=False))"
            )


def validate_frame(
    frame: pd.DataFrame,
    *,
    label: str | None = None,
    features: Sequence[str] | None = None,
    time: str | None = None,
    expected_columns: Sequence[str] | None = None,
    source: str | None = None,
) -> pd.DataFrame:
    """Check ``frame`` and return a clean copy: float64 features (+ int8 0/1 label).

    ``features`` selects and orders the feature columns (default: every column
    but the label, in the frame's order); ``time`` is a feature that later
    layers may drop, so it is added to an explicit ``features`` list when
    missing there. ``expected_columns``, when given, is the complete set of
    columns the frame must hold — anything more or less is an error, and the
    result follows its order. ``source`` prefixes messages (a file name).

    Raises :class:`DataValidationError` naming the column, row or value at fault.
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            _where(source) + f"expected a pandas DataFrame, got {type(frame).__name__}"
        )
    names = list(frame.columns)
    check_column_names(names, source)
    present = set(names)

    if expected_columns is not None:
        expected = list(expected_columns)
        missing = [c for c in expected if c not in present]
        if missing:
            raise DataValidationError(_where(source) + f"missing columns: {_names(missing)}")
        unexpected = [c for c in names if c not in set(expected)]
        if unexpected:
            raise DataValidationError(_where(source) + f"unexpected columns: {_names(unexpected)}")
        names = expected

    feature_names = _feature_names(names, label, features, time, source)
    wanted = [*feature_names, *([label] if label is not None else [])]
    missing = [c for c in wanted if c not in present]
    if missing:
        available = ", ".join(map(repr, names[:12])) + (" ..." if len(names) > 12 else "")
        raise DataValidationError(
            _where(source) + f"missing columns: {_names(missing)} (available: {available})"
        )

    if len(frame) == 0:
        raise DataValidationError(_where(source) + "empty table: it has no rows")
    if not feature_names:
        raise DataValidationError(_where(source) + "empty table: it has no feature columns")

    columns: dict[str, np.ndarray] = {}
    for name in feature_names:
        columns[name] = _finite_float64(frame[name], name, source)
    if label is not None:
        columns[label] = _binary_label(frame[label], label, source)
    return pd.DataFrame(columns, index=frame.index)


def _feature_names(
    names: list[str],
    label: str | None,
    features: Sequence[str] | None,
    time: str | None,
    source: str | None,
) -> list[str]:
    if features is None:
        return [c for c in names if c != label]
    if isinstance(features, str):
        raise DataValidationError(
            _where(source) + f"features must be a list of column names, not the string {features!r}"
        )
    chosen = list(features)
    check_column_names(chosen, source)
    if label is not None and label in chosen:
        raise DataValidationError(
            _where(source) + f"label column {label!r} is also listed as a feature"
        )
    if time is not None and time not in chosen:
        chosen.insert(0, time)
    return chosen


def _finite_float64(column: pd.Series, name: str, source: str | None) -> np.ndarray:
    """The column as float64, after proving every value is a finite number."""
    values = _numeric_array(column, name, source)
    as_float = values.astype(np.float64, copy=True)
    bad = ~np.isfinite(as_float)
    if bad.any():
        row = int(np.argmax(bad))
        value = float(as_float[row])
        what = "missing value (empty cell or NaN)" if np.isnan(value) else f"infinite value {value}"
        raise DataValidationError(
            _where(source) + f"column {name!r}, row {_row(column, row)!r}: {what}"
        )
    return as_float


def numeric_column(column: pd.Series, name: str, source: str | None = None) -> np.ndarray:
    """The column as float64, missing cells as NaN; anything else that is not a real
    number (text, dates, an integer too large for float64) is an error naming its row."""
    return _numeric_array(column, name, source).astype(np.float64, copy=False)


def _binary_label(column: pd.Series, name: str, source: str | None) -> np.ndarray:
    values = _finite_float64(column, name, source)
    bad = (values != 0.0) & (values != 1.0)
    if bad.any():
        row = int(np.argmax(bad))
        raise DataValidationError(
            _where(source) + f"label column {name!r}, row {_row(column, row)!r}: "
            f"value {_show(column.iloc[row])} is not 0 or 1"
        )
    return values.astype(np.int8)


def _numeric_array(column: pd.Series, name: str, source: str | None) -> np.ndarray:
    """Numbers as a numpy array (NaN allowed here), or an error naming the first non-number."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or (
        pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype)
    ):
        if isinstance(dtype, np.dtype) and dtype.kind in "iu":
            values = column.to_numpy()
            too_big = np.abs(values.astype(np.float64)) > _MAX_EXACT_INT
            if too_big.any():
                row = int(np.argmax(too_big))
                raise DataValidationError(
                    _where(source)
                    + f"column {name!r}, row {_row(column, row)!r}: integer {int(values[row])} "
                    "is too large to be represented exactly as float64"
                )
            return values
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    if pd.api.types.is_object_dtype(dtype):
        return _object_numbers(column, name, source)
    row, value = _first_present(column)
    raise DataValidationError(
        _where(source) + f"column {name!r} is not numeric (dtype {dtype}); "
        f"row {_row(column, row)!r} holds {_show(value)}"
    )


def _object_numbers(column: pd.Series, name: str, source: str | None) -> np.ndarray:
    """Accept object columns only when they hold real numbers (or missing cells).

    Numbers written as text are refused too — converting them is the reader's
    job for its own format — but a column like ``["1.5", "abc"]`` is reported
    at ``"abc"``, the value that is wrong, not at the first text cell.
    """
    values = column.to_numpy(dtype=object)
    first_text: tuple[int, object] | None = None
    for row, value in enumerate(values):
        if _is_missing(value) or _is_real(value):
            continue
        if isinstance(value, str) and _parses_as_number(value):
            if first_text is None:
                first_text = (row, value)
            continue
        raise DataValidationError(
            _where(source)
            + f"column {name!r}, row {_row(column, row)!r}: non-numeric value {_show(value)}"
        )
    if first_text is not None:
        row, value = first_text
        raise DataValidationError(
            _where(source)
            + f"column {name!r}, row {_row(column, row)!r}: number stored as text {value!r}; "
            "convert the column to a numeric dtype first"
        )
    return np.array([np.nan if _is_missing(v) else float(v) for v in values], dtype=np.float64)


def _is_real(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, str)


def _is_missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _parses_as_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_present(column: pd.Series) -> tuple[int, object]:
    present = column.notna().to_numpy()
    row = int(np.argmax(present)) if present.any() else 0
    return row, column.iloc[row]


def _row(column: pd.Series, position: int) -> object:
    """The index label of the row at ``position`` (a plain int for a RangeIndex)."""
    label = column.index[position]
    return label.item() if isinstance(label, np.generic) else label


def _show(value: object) -> str:
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value) if isinstance(value, str) else f"{value!r} ({type(value).__name__})"


def _names(columns: Sequence[str]) -> str:
    return ", ".join(map(repr, columns))


def _where(source: str | None) -> str:
    return f"{source}: " if source else ""


LABEL_LIKE_NAMES = frozenset(
    {
        "class", "label", "labels", "target", "y", "ground_truth", "groundtruth", "truth",
        "fraud", "is_fraud", "isfraud", "fraudulent", "anomaly", "is_anomaly", "anomalous",
        "outlier", "is_outlier", "attack", "is_attack", "malicious",
    }
)  # fmt: skip
"""Column names that usually hold the answer: training on one leaks it into the model."""


def label_like_columns(names: Sequence[str]) -> list[str]:
    """The names in ``names`` that look like an anomaly label (case, spaces, dashes ignored)."""
    return [n for n in names if re.sub(r"[\s\-]+", "_", str(n).strip().lower()) in LABEL_LIKE_NAMES]


def check_labels(values: object, name: str = "labels") -> np.ndarray:
    """A 1-D array of 0/1 anomaly labels as int8, or an error naming the first bad row.

    Metrics, thresholds, splits and the detector all take label vectors; one
    check keeps their refusals identical.
    """
    y = np.asarray(values)
    if y.ndim != 1:
        raise DataValidationError(f"{name} must be 1-D, got shape {y.shape}")
    if y.dtype.kind not in "biuf":
        raise DataValidationError(f"{name} must be numeric 0/1 labels, got dtype {y.dtype}")
    bad = np.flatnonzero(~np.isin(y, (0, 1)))
    if bad.size:
        raise DataValidationError(
            f"{name} must be 0/1; row {bad[0]} is {y[bad[0]].item()!r} ({bad.size} bad row(s))"
        )
    return y.astype(np.int8)


def check_scores(values: object, name: str = "scores") -> np.ndarray:
    """A non-empty 1-D array of finite numbers as float64, or an error naming the first bad row."""
    s = np.asarray(values)
    if s.ndim != 1:
        raise DataValidationError(f"{name} must be 1-D, got shape {s.shape}")
    if s.size == 0:
        raise DataValidationError(f"{name} is empty")
    if s.dtype.kind not in "biuf":
        raise DataValidationError(f"{name} must be numeric, got dtype {s.dtype}")
    s = s.astype(np.float64, copy=False)
    bad = np.flatnonzero(~np.isfinite(s))
    if bad.size:
        raise DataValidationError(
            f"{name} must be finite; row {bad[0]} is {s[bad[0]]} ({bad.size} bad row(s))"
        )
    return s
