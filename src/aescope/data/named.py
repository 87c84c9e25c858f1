"""One entry point for "a data set by name or path", as the CLI and studies take it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from aescope.data.adbench import load_adbench
from aescope.data.creditcard import load_creditcard
from aescope.data.dataset import Dataset
from aescope.data.tables import drop_columns, load_table, sniff_format
from aescope.errors import DataValidationError

BUILTIN_DATASETS = ("creditcard", "creditcard-sample")


def load_dataset(
    name: str,
    *,
    label: str | None = None,
    time: str | None = None,
    data_dir: str | Path | None = None,
    download: bool = True,
    drop: Sequence[str] = (),
) -> Dataset:
    """``creditcard``, ``creditcard-sample``, an ADBench ``.npz`` or a CSV / Parquet path.

    ``drop`` leaves columns out before anything else sees them (an id, a column that
    must not reach a model); the label and time column cannot be dropped.
    """
    if (label is not None and label in drop) or (time is not None and time in drop):
        raise DataValidationError(f"{name}: the label or time column cannot be dropped")
    if name in BUILTIN_DATASETS:
        data = load_creditcard(data_dir=data_dir, download=download, sample=name != "creditcard")
    else:
        path = Path(name)
        if path.suffix == ".npz" or (path.is_file() and sniff_format(path) == "npz"):
            data = load_adbench(path)
        else:
            return load_table(path, label=label, time=time, drop=drop)
    if not drop:
        return data
    if {data.label, data.time} & set(drop):
        raise DataValidationError(f"{name}: the label or time column cannot be dropped")
    return replace(data, frame=drop_columns(data.frame, drop, data.name))
