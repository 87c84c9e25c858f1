"""The ULB credit-card fraud data: where to find it, how to fetch it, its bundled sample.

Search order for the full file: ``data_dir`` (or ``$AESCOPE_DATA_DIR``), then
the user cache dir, then — if allowed — a verified download into that cache.
"""

from __future__ import annotations

import dataclasses
import os
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs
import pyarrow.parquet as pq

from aescope.data.dataset import Dataset
from aescope.data.download import download_verified
from aescope.data.tables import existing_file, read_frame
from aescope.data.validate import validate_frame
from aescope.errors import DataUnavailableError

CREDITCARD_URL = "https://storage.googleapis.com/download.tensorflow.org/data/creditcard.csv"
CREDITCARD_SHA256 = "76274b691b16a6c49d3f159c883398e03ccd6d1ee12d9d8ee38f4b4b98551a89"
CREDITCARD_FILENAMES = ("creditcard.csv", "creditcard.csv.gz")
CREDITCARD_COLUMNS = ("Time", *(f"V{i}" for i in range(1, 29)), "Amount", "Class")
CREDITCARD_ROWS = 284_807
CREDITCARD_FRAUDS = 492
"""Rows and frauds in the file with ``CREDITCARD_SHA256``."""
LABEL = "Class"
TIME = "Time"
DATA_DIR_ENV = "AESCOPE_DATA_DIR"

SAMPLE_FILENAME = "creditcard_sample.parquet"
SAMPLE_SEED = 2015
SAMPLE_NORMALS = 30_000
# V1..V28 are stored as float32 so that the sample fits in 5 MB (see SAMPLE.md).
SAMPLE_FLOAT32_COLUMNS = tuple(f"V{i}" for i in range(1, 29))


def default_cache_dir() -> Path:
    """Where downloads go (platformdirs' user cache dir for "aescope")."""
    return Path(platformdirs.user_cache_dir("aescope"))


def find_creditcard(data_dir: str | Path | None = None) -> Path | None:
    """The first ``creditcard.csv[.gz]`` in ``data_dir``/``$AESCOPE_DATA_DIR``, then the cache."""
    for folder in _search_dirs(data_dir):
        for filename in CREDITCARD_FILENAMES:
            candidate = folder / filename
            if candidate.is_file():
                return candidate
    return None


def unavailable_message(reason: str, cache_dir: Path, url: str = CREDITCARD_URL) -> str:
    """One line that says what went wrong and the three ways to provide the file."""
    return (
        f"credit-card data unavailable: {reason}. Provide creditcard.csv in one of three ways: "
        f"(1) set {DATA_DIR_ENV} to a folder holding creditcard.csv or creditcard.csv.gz; "
        f"(2) put creditcard.csv or creditcard.csv.gz into the cache dir {cache_dir}; "
        f"(3) let aescope download it (needs internet) from {url}."
    )


def download_creditcard(
    url: str = CREDITCARD_URL,
    sha256: str = CREDITCARD_SHA256,
    cache_dir: str | Path | None = None,
    *,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download the CSV into ``cache_dir`` (verified, atomic) and return its path."""
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    try:
        return download_verified(
            url, cache / "creditcard.csv", sha256, timeout=timeout, progress=progress
        )
    except DataUnavailableError as error:
        raise DataUnavailableError(unavailable_message(str(error), cache, url)) from error


def load_creditcard(
    sample: bool = False, data_dir: str | Path | None = None, download: bool = True
) -> Dataset:
    """The credit-card data set (label "Class", time "Time").

    ``sample=True`` returns the bundled sample (all frauds + 30,000 normal
    rows) and never touches the disk or network beyond the package. Its
    ``prevalence`` is the full file's fraud share (0.17 %), not the sample's
    own (1.6 %), so natural-prevalence metrics mean the same on both.
    """
    if sample:
        return load_creditcard_sample()
    path = find_creditcard(data_dir)
    if path is None:
        cache = default_cache_dir()
        if not download:
            searched = ", ".join(str(d) for d in _search_dirs(data_dir))
            reason = f"no creditcard.csv[.gz] in {searched} and download=False"
            raise DataUnavailableError(unavailable_message(reason, cache))
        path = download_creditcard(CREDITCARD_URL, CREDITCARD_SHA256, cache)
    return load_creditcard_file(path)


def load_creditcard_file(path: str | Path, name: str = "creditcard") -> Dataset:
    """One specific credit-card file (CSV, gzip CSV or Parquet), checked for its columns."""
    path = existing_file(path)
    frame = read_frame(path)
    clean = validate_frame(
        frame, label=LABEL, time=TIME, expected_columns=CREDITCARD_COLUMNS, source=str(path)
    )
    return Dataset(name=name, frame=clean, label=LABEL, time=TIME, source=str(path))


def load_creditcard_sample() -> Dataset:
    resource = resources.files("aescope.data") / SAMPLE_FILENAME
    with resources.as_file(resource) as path:
        dataset = load_creditcard_file(path, name="creditcard-sample")
    return dataclasses.replace(
        dataset,
        source=f"bundled sample aescope/data/{SAMPLE_FILENAME}",
        prevalence=CREDITCARD_FRAUDS / CREDITCARD_ROWS,
    )


def sample_rows(
    y: np.ndarray, n_normal: int = SAMPLE_NORMALS, seed: int = SAMPLE_SEED
) -> np.ndarray:
    """Row positions of the sample: every anomaly plus ``n_normal`` normal rows, in file order.

    Each row gets a 64-bit key from the raw PCG64(seed) stream, in file order;
    the normal rows with the smallest keys are kept. BitGenerator streams are
    stable across NumPy versions (NEP 19), unlike ``Generator.choice``, so the
    same file always gives the same sample.
    """
    y = np.asarray(y)
    normals = np.flatnonzero(y == 0)
    if n_normal > len(normals):
        raise ValueError(f"asked for {n_normal} normal rows, the data has {len(normals)}")
    keys = np.random.PCG64(seed).random_raw(len(y))
    chosen = normals[np.argsort(keys[normals], kind="stable")[:n_normal]]
    return np.sort(np.concatenate([np.flatnonzero(y == 1), chosen]))


def build_sample(
    dataset: Dataset, n_normal: int = SAMPLE_NORMALS, seed: int = SAMPLE_SEED
) -> pd.DataFrame:
    """The sample frame as stored: selected rows, same columns, V1..V28 as float32."""
    rows = sample_rows(dataset.y, n_normal, seed)
    frame = dataset.frame.iloc[rows].reset_index(drop=True)
    return frame.astype({c: np.float32 for c in SAMPLE_FLOAT32_COLUMNS})


def sample_metadata() -> dict[str, str]:
    """Provenance key/values stored in the bundled Parquet file's schema metadata."""
    path = resources.files("aescope.data") / SAMPLE_FILENAME
    with resources.as_file(path) as file:
        raw = pq.read_schema(file).metadata or {}
    return {k.decode(): v.decode() for k, v in raw.items() if k.decode().startswith("aescope.")}


def _search_dirs(data_dir: str | Path | None) -> list[Path]:
    dirs = []
    chosen = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV) or None
    if chosen is not None:
        dirs.append(Path(chosen).expanduser())
    dirs.append(default_cache_dir())
    return dirs
