"""One entry point for "a data set by name or path", as the CLI and studies take it."""

from __future__ import annotations

from pathlib import Path

from aescope.data.adbench import load_adbench
from aescope.data.creditcard import load_creditcard
from aescope.data.dataset import Dataset
from aescope.data.tables import load_table, sniff_format

BUILTIN_DATASETS = ("creditcard", "creditcard-sample")


def load_dataset(
    name: str,
    *,
    label: str | None = None,
    time: str | None = None,
    data_dir: str | Path | None = None,
    download: bool = True,
) -> Dataset:
    """``creditcard``, ``creditcard-sample``, an ADBench ``.npz`` or a CSV / Parquet path."""
    if name == "creditcard":
        return load_creditcard(data_dir=data_dir, download=download)
    if name == "creditcard-sample":
        return load_creditcard(sample=True)
    path = Path(name)
    if path.suffix == ".npz" or (path.is_file() and sniff_format(path) == "npz"):
        return load_adbench(path)
    return load_table(path, label=label, time=time)
