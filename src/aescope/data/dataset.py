"""The one in-memory form every data source ends up in."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from aescope.errors import DataValidationError


@dataclass(frozen=True, eq=False)
class Dataset:
    """A validated table plus the roles of its columns.

    Loaders build it from :func:`aescope.data.validate_frame` output, so
    ``frame`` holds float64 features and, if ``label`` is set, an int8 0/1
    label. The time column stays among the features: whether to drop it is a
    preprocessing decision, not a loading one.

    ``eq=False`` because comparing two DataFrames has no single truth value;
    compare :meth:`fingerprint` instead.

    ``prevalence`` is the anomaly share of the population the rows come from,
    for a table whose own share differs from it: a sample that keeps every
    anomaly but only some normal rows. Left unset, the table's own share is
    the population's.
    """

    name: str
    frame: pd.DataFrame
    label: str | None = None
    time: str | None = None
    source: str = ""
    prevalence: float | None = None

    def __post_init__(self) -> None:
        # Cheap structural checks only; value checks are validate_frame's job.
        columns = list(self.frame.columns)
        for role, column in (("label", self.label), ("time", self.time)):
            if column is not None and column not in columns:
                raise DataValidationError(f"{self.name}: {role} column {column!r} not in frame")
        if self.label is not None and self.label == self.time:
            raise DataValidationError(f"{self.name}: {self.label!r} cannot be label and time")
        if self.prevalence is not None:
            if self.label is None:
                raise DataValidationError(f"{self.name}: a prevalence needs a label column")
            if not 0 < self.prevalence < 1:
                raise DataValidationError(
                    f"{self.name}: prevalence must be between 0 and 1 (exclusive), "
                    f"got {self.prevalence}"
                )
        for column, dtype in self.frame.dtypes.items():
            if not (isinstance(dtype, np.dtype) and dtype.kind in "biuf"):
                raise DataValidationError(
                    f"{self.name}: column {column!r} has dtype {dtype}; "
                    "build datasets from validate_frame output"
                )

    @property
    def features(self) -> list[str]:
        """All columns except the label (the time column included)."""
        return [c for c in self.frame.columns if c != self.label]

    @property
    def X(self) -> pd.DataFrame:
        return self.frame[self.features]

    @property
    def y(self) -> np.ndarray | None:
        if self.label is None:
            return None
        return self.frame[self.label].to_numpy(dtype=np.int8)

    @property
    def population_prevalence(self) -> float | None:
        """The anomaly share a deployed detector would face: ``prevalence`` if set,
        else the table's own share (None without a label)."""
        if self.prevalence is not None:
            return self.prevalence
        y = self.y
        return None if y is None or y.size == 0 else float(y.mean())

    def fingerprint(self) -> str:
        """sha256 of the frame's content: column names, dtypes, shape and value bytes.

        Independent of pandas' own hashing (which may change between versions)
        and of the index, so the same data loaded from CSV, gzip or Parquet
        gives the same fingerprint, and a model file can name the data it saw.
        """
        return frame_fingerprint(self.frame)

    def summary(self) -> dict[str, Any]:
        """Plain-Python summary (JSON-ready): sizes, anomaly share and per-feature stats.

        ``std`` is the sample standard deviation (ddof=1), as pandas reports it.
        """
        y = self.y
        anomalies = None if y is None else int(y.sum())
        rows = len(self.frame)
        stats = {}
        for column in self.features if rows else ():
            values = self.frame[column].to_numpy(dtype=np.float64)
            stats[column] = {
                "mean": float(values.mean()),
                "std": float(values.std(ddof=1)) if rows > 1 else float("nan"),
                "min": float(values.min()),
                "max": float(values.max()),
            }
        return {
            "name": self.name,
            "source": self.source,
            "rows": rows,
            "features": len(self.features),
            "label": self.label,
            "time": self.time,
            "anomalies": anomalies,
            "anomaly_share": None if anomalies is None or rows == 0 else anomalies / rows,
            "population_prevalence": self.population_prevalence,
            "columns": stats,
        }


def frame_fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of a frame's column names, dtypes, row count and little-endian value bytes.

    Shared by :meth:`Dataset.fingerprint` and the model files' ``data_fingerprint``,
    so a model's record of its training data uses the same algorithm as a data set's.
    """
    digest = hashlib.sha256()
    header = {
        "columns": [str(c) for c in frame.columns],
        "dtypes": [str(t) for t in frame.dtypes],
        "rows": len(frame),
    }
    digest.update(json.dumps(header, sort_keys=True).encode())
    for column in frame.columns:
        values = frame[column].to_numpy()
        digest.update(np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")))
    return digest.hexdigest()
