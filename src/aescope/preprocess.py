"""Column dropping, log1p and scaling, fitted on training normals only.

The study standardised all 29 features after dropping ``Time``, with the
scaler fitted on the training normals; that alone reproduces its loss table,
so it is :data:`STUDY_PREPROCESSING`. Fitting reuses scikit-learn's scalers,
but the fitted state kept here is just a centre and a scale per column: plain
numbers that a model file can store as JSON and reload without pickle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.preprocessing import RobustScaler, StandardScaler

from aescope.errors import DataValidationError

Scaling = Literal["standard", "robust", "none"]
FLOAT32_MAX = float(np.finfo(np.float32).max)
_SCALERS = {"standard": StandardScaler, "robust": RobustScaler}


@dataclass(frozen=True)
class PreprocessSpec:
    """What to do to the raw columns before the autoencoder sees them."""

    drop: tuple[str, ...] = ()
    scaling: Scaling = "standard"
    log1p: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.scaling not in ("standard", "robust", "none"):
            raise DataValidationError(
                f"scaling must be 'standard', 'robust' or 'none', got {self.scaling!r}"
            )
        object.__setattr__(self, "drop", tuple(self.drop))
        object.__setattr__(self, "log1p", tuple(self.log1p))
        clash = set(self.drop) & set(self.log1p)
        if clash:
            raise DataValidationError(
                f"columns both dropped and log1p-transformed: {sorted(clash)}"
            )

    def to_dict(self) -> dict[str, Any]:
        return {"drop": list(self.drop), "scaling": self.scaling, "log1p": list(self.log1p)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessSpec:
        return cls(drop=tuple(data["drop"]), scaling=data["scaling"], log1p=tuple(data["log1p"]))


STUDY_PREPROCESSING = PreprocessSpec(drop=("Time",), scaling="standard")


@dataclass(frozen=True)
class FittedPreprocessor:
    """A fitted :class:`PreprocessSpec`: input columns in, float32 model features out."""

    spec: PreprocessSpec
    input_columns: tuple[str, ...]
    output_columns: tuple[str, ...]
    center: np.ndarray = field(repr=False)
    scale: np.ndarray = field(repr=False)

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Map a frame holding the modelled columns to the float32 matrix the network sees.

        The frame needs :attr:`output_columns` (any order); columns the spec drops may be
        present or not, anything else is refused. A value that cannot reach the network
        as a finite float32 — missing, infinite, ``<= -1`` under log1p, or so large that
        scaling overflows float32 (``1e39``) — is an error naming its column, row and value.
        """
        z = self.scaled(frame)
        unusable = unusable_cells(z)
        if unusable.any():
            raise self.refusal(frame, unusable)
        return np.ascontiguousarray(z, dtype=np.float32)  # rows contiguous, as XLA takes them

    def scaled(self, frame: pd.DataFrame) -> np.ndarray:
        """Centred and scaled float64 values of the modelled columns, unchecked: NaN or
        inf where a cell cannot be used (see :meth:`invalid_rows`)."""
        check_columns(frame.columns, self.input_columns, required=self.output_columns)
        return self.scale_values(column_values(frame, self.output_columns))

    def scale_values(self, values: np.ndarray) -> np.ndarray:
        """``values`` (float64, one column per output column, in order) log1p'd, centred
        and scaled **in place**, unchecked; for callers that gathered the columns
        themselves (the batch scorer) and so need no further copy."""
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            _log1p_in_place(values, [self.output_columns.index(c) for c in self.spec.log1p])
            values -= self.center
            values /= self.scale
        return values

    def refusal(self, frame: pd.DataFrame, unusable: np.ndarray) -> DataValidationError:
        """The error naming the column, row and raw value of one unusable cell of
        ``frame`` (``unusable``: its scaled cells that cannot be used).

        The cell the detector's own checks name first: a missing or infinite value,
        column by column in the frame's order (as ``validate_frame`` looks), else the
        first cell, by row then column, that log1p or the scaling cannot use.
        """
        for name in frame.columns:
            if name not in self.output_columns:
                continue
            rows = np.flatnonzero(unusable[:, self.output_columns.index(name)])
            if len(rows):
                picked = pd.to_numeric(frame[name].iloc[rows], errors="coerce")
                raw = picked.to_numpy(dtype=np.float64, na_value=np.nan)
                missing = ~np.isfinite(raw)
                if missing.any():
                    return self._refuse(frame, int(rows[np.argmax(missing)]), name)
        row, col = np.argwhere(unusable)[0]
        return self._refuse(frame, int(row), self.output_columns[col])

    def _refuse(self, frame: pd.DataFrame, row: int, name: str) -> DataValidationError:
        return DataValidationError(
            f"column {name!r}, row {_row_label(frame, row)!r}: "
            f"{_why_invalid(frame[name].iloc[row], name in self.spec.log1p)}"
        )

    def invalid_rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows :meth:`transform` would refuse (a bool per row), for callers that skip
        or flag them instead."""
        return unusable_cells(self.scaled(frame)).any(axis=1)

    def usable_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Per input column, the raw values whose scaled value stays within float32.

        For callers that check raw values before the scaling runs elsewhere (an
        ONNX graph); columns the model does not use are unbounded. The bounds come
        from the centre and scale, so they agree with :meth:`transform`'s refusal
        up to the last bit.
        """
        low = np.full(len(self.input_columns), -np.inf)
        high = np.full(len(self.input_columns), np.inf)
        with np.errstate(over="ignore"):
            for j, name in enumerate(self.output_columns):
                i = self.input_columns.index(name)
                low[i] = self.center[j] - FLOAT32_MAX * self.scale[j]
                high[i] = self.center[j] + FLOAT32_MAX * self.scale[j]
                if name in self.spec.log1p:  # the bounds hold for log1p(value)
                    low[i], high[i] = np.expm1(low[i]), np.expm1(high[i])
        return low, high

    def to_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec.to_dict(),
            "input_columns": list(self.input_columns),
            "output_columns": list(self.output_columns),
            "center": self.center.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FittedPreprocessor:
        center = np.asarray(data["center"], dtype=np.float64)
        scale = np.asarray(data["scale"], dtype=np.float64)
        outputs = tuple(data["output_columns"])
        if center.shape != (len(outputs),) or scale.shape != (len(outputs),):
            raise DataValidationError(
                f"preprocessing state has {center.size} centres and {scale.size} scales "
                f"for {len(outputs)} columns"
            )
        return cls(
            PreprocessSpec.from_dict(data["spec"]),
            tuple(data["input_columns"]),
            outputs,
            center,
            scale,
        )


def fit_preprocessor(spec: PreprocessSpec, frame: pd.DataFrame) -> FittedPreprocessor:
    """Fit on ``frame`` (training normals only: fitting on test rows would leak)."""
    if len(frame) == 0:
        raise DataValidationError("cannot fit preprocessing on an empty table")
    columns = tuple(str(c) for c in frame.columns)
    for name in (*spec.drop, *spec.log1p):
        if name not in columns:
            raise DataValidationError(
                f"preprocessing names column {name!r}, which is not in the data "
                f"(columns: {', '.join(columns)})"
            )
    outputs = tuple(c for c in columns if c not in spec.drop)
    if not outputs:
        raise DataValidationError("preprocessing drops every column; nothing left to model")
    x = _apply_log1p(frame[list(outputs)], spec.log1p)
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataValidationError(
            f"column {outputs[col]!r}, row {_row_label(frame, row)!r}: "
            f"{_why_invalid(frame[outputs[col]].iloc[row], outputs[col] in spec.log1p)}"
        )
    if spec.scaling == "none":
        center, scale = np.zeros(len(outputs)), np.ones(len(outputs))
    else:
        scaler = _SCALERS[spec.scaling]().fit(x)
        center = np.asarray(scaler.center_ if spec.scaling == "robust" else scaler.mean_)
        scale = np.asarray(scaler.scale_)
    return FittedPreprocessor(spec, columns, outputs, center.astype(np.float64), scale)


def check_columns(
    actual: Sequence[Any], expected: Sequence[str], required: Sequence[str] | None = None
) -> None:
    """Refuse input whose columns differ from the fitted ones, naming the differences.

    ``required`` (default: all of ``expected``) must be present; anything outside
    ``expected`` is unexpected.
    """
    actual_names = [str(c) for c in actual]
    needed = expected if required is None else required
    missing = [c for c in needed if c not in actual_names]
    unexpected = [c for c in actual_names if c not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"missing columns {missing}")
        if unexpected:
            parts.append(f"unexpected columns {unexpected}")
        raise DataValidationError(
            f"input columns differ from those the model was fitted on: {'; '.join(parts)}"
        )


def unusable_cells(z: np.ndarray) -> np.ndarray:
    """Scaled cells the network cannot take: NaN, infinite, or beyond float32's range."""
    with np.errstate(invalid="ignore"):
        return ~(np.abs(z) <= FLOAT32_MAX)  # NaN compares False: unusable too


def column_values(
    frame: pd.DataFrame,
    columns: Sequence[str],
    convert: Callable[[pd.Series, str], np.ndarray] | None = None,
) -> np.ndarray:
    """``frame[columns]`` as a new float64 matrix, filled column by column (one copy;
    selecting the columns first would make two; column-major, so each column is one
    contiguous write). ``convert(column, name)``, when
    given, turns each column into numbers (and refuses what is not one)."""
    values = np.empty((len(frame), len(columns)), dtype=np.float64, order="F")
    for j, name in enumerate(columns):
        column = frame[name]
        values[:, j] = convert(column, name) if convert else column.to_numpy(dtype=np.float64)
    return values


def _log1p_in_place(x: np.ndarray, positions: Sequence[int]) -> None:
    """``log1p`` of the columns at ``positions``; NaN where a value is <= -1."""
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in positions:
            x[:, j] = np.where(x[:, j] > -1, np.log1p(x[:, j]), np.nan)


def _apply_log1p(frame: pd.DataFrame, columns: tuple[str, ...]) -> np.ndarray:
    """The frame's values as float64, ``log1p`` applied to ``columns`` (NaN where <= -1)."""
    x = frame.to_numpy(dtype=np.float64, copy=True)
    _log1p_in_place(x, [frame.columns.get_loc(name) for name in columns])
    return x


def _why_invalid(value: Any, under_log1p: bool) -> str:
    if value is None or value is pd.NA:
        return "missing value (empty cell or NaN)"
    value = float(value)
    if np.isnan(value):
        return "missing value (empty cell or NaN)"
    if np.isinf(value):
        return f"infinite value {value}"
    if under_log1p and value <= -1:
        return f"log1p needs values > -1, got {value!r}"
    return (
        f"value {value!r} is too large for the model: scaled, it leaves float32's range "
        f"(±{FLOAT32_MAX:.3g})"
    )


def _row_label(frame: pd.DataFrame, position: int) -> Any:
    label = frame.index[position]
    return label.item() if isinstance(label, np.generic) else label
