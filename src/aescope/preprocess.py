"""Column dropping, log1p and scaling, fitted on training normals only.

The study standardised all 29 features after dropping ``Time``, with the
scaler fitted on the training normals; that alone reproduces its loss table,
so it is :data:`STUDY_PREPROCESSING`. Fitting reuses scikit-learn's scalers,
but the fitted state kept here is just a centre and a scale per column: plain
numbers that a model file can store as JSON and reload without pickle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from sklearn.preprocessing import RobustScaler, StandardScaler

from aescope.errors import DataValidationError

Scaling = Literal["standard", "robust", "none"]
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
        """Map a frame with exactly :attr:`input_columns` (any order) to a float32 matrix."""
        check_columns(frame.columns, self.input_columns)
        values = _apply_log1p(frame, self.spec.log1p)[list(self.output_columns)]
        x = values.to_numpy(dtype=np.float64)
        return ((x - self.center) / self.scale).astype(np.float32)

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
    x = _apply_log1p(frame, spec.log1p)[list(outputs)].to_numpy(dtype=np.float64)
    if spec.scaling == "none":
        center, scale = np.zeros(len(outputs)), np.ones(len(outputs))
    else:
        scaler = _SCALERS[spec.scaling]().fit(x)
        center = np.asarray(scaler.center_ if spec.scaling == "robust" else scaler.mean_)
        scale = np.asarray(scaler.scale_)
    return FittedPreprocessor(spec, columns, outputs, center.astype(np.float64), scale)


def check_columns(actual: Sequence[Any], expected: Sequence[str]) -> None:
    """Refuse input whose columns differ from the fitted ones, naming the differences."""
    actual_names = [str(c) for c in actual]
    missing = [c for c in expected if c not in actual_names]
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


def _apply_log1p(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    if not columns:
        return frame
    out = frame.copy()
    for name in columns:
        values = out[name].to_numpy(dtype=np.float64)
        bad = np.flatnonzero(values <= -1)
        if bad.size:
            row = bad[0]
            raise DataValidationError(
                f"log1p needs values > -1; column {name!r} row {frame.index[row]!r} "
                f"has {values[row].item()!r}"
            )
        out[name] = np.log1p(values)
    return out
