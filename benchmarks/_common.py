"""Shared plumbing for the speed benchmarks: data, the architecture, machine facts.

Every framework must be judged on the same rows and the same loss formula, so the
benchmarks load and standardise the data once here and compute every reported
loss with :func:`mse` (numpy, float64) rather than trusting each framework's own
running average.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@dataclass(frozen=True)
class BenchData:
    """Standardised float32 matrices plus where they came from."""

    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray
    source: str
    preprocessor: Any = None  # aescope FittedPreprocessor when the real data was used
    frame_test: Any = None  # raw test rows (pandas), for end-to-end scoring


def data_dir(explicit: str | None) -> Path:
    """The folder holding creditcard.csv.gz: flag, then AESCOPE_DATA_DIR, then ../shared/data."""
    if explicit:
        return Path(explicit)
    env = os.environ.get("AESCOPE_DATA_DIR")
    return Path(env) if env else DEFAULT_DATA_DIR


def load_bench_data(
    data_dir_: str | None = None,
    *,
    rows: int | None = None,
    synthetic: bool = False,
    seed: int = 0,
) -> BenchData:
    """The study's split and preprocessing of the credit-card data (or synthetic rows).

    ``rows`` subsamples the training normals (and the validation rows in proportion)
    for quick smoke runs; the split and the scaler still come from the full data.
    """
    if synthetic:
        return _synthetic(rows or 20_000, seed)
    from aescope.data import load_creditcard
    from aescope.preprocess import PreprocessSpec, fit_preprocessor
    from aescope.split import novelty_split

    folder = data_dir(data_dir_)
    ds = load_creditcard(data_dir=folder, download=False)
    split = novelty_split(ds.y, train_share=0.8, val_share=0.1, seed=0)
    features = ds.X
    pre = fit_preprocessor(
        PreprocessSpec(drop=("Time",), scaling="standard"), features.iloc[split.train]
    )
    train_idx, val_idx = split.train, split.val
    if rows is not None and rows < len(train_idx):
        rng = np.random.default_rng(seed)
        n_val = max(256, int(rows * len(val_idx) / len(train_idx)))
        train_idx = rng.choice(train_idx, size=rows, replace=False)
        val_idx = rng.choice(val_idx, size=min(n_val, len(val_idx)), replace=False)
    frame_test = features.iloc[split.test]
    return BenchData(
        x_train=pre.transform(features.iloc[train_idx]),
        x_val=pre.transform(features.iloc[val_idx]),
        x_test=pre.transform(frame_test),
        source=f"{ds.source} (novelty split seed 0, standard scaling, Time dropped)",
        preprocessor=pre,
        frame_test=frame_test,
    )


def _synthetic(n: int, seed: int) -> BenchData:
    """Correlated Gaussian rows with 29 columns: the same shapes as the real data."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(29, 29)) / np.sqrt(29)
    make = lambda m: (rng.normal(size=(m, 29)) @ mix).astype(np.float32)  # noqa: E731
    return BenchData(make(n), make(max(256, n // 8)), make(max(256, n // 8)), "synthetic")


def seed_best(n_features: int) -> Any:
    """The study's best architecture resized to the table's width."""
    from aescope.model import get_preset

    return get_preset("seed-best").with_features(n_features)


def mse(recon: np.ndarray, x: np.ndarray) -> float:
    """Plain mean squared reconstruction error, the one number compared across frameworks."""
    diff = np.asarray(recon, dtype=np.float64) - np.asarray(x, dtype=np.float64)
    return float(np.mean(diff * diff))


class Timer:
    """``with Timer() as t: ...; t.seconds``: wall time with perf_counter."""

    def __enter__(self) -> Timer:
        self._start = time.perf_counter()
        self.seconds = float("nan")
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def ram_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 2**20
    except OSError:
        pass
    return float("nan")


def versions(names: Sequence[str]) -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def machine() -> dict[str, Any]:
    return {
        "cores": os.cpu_count(),
        "cpu": cpu_model(),
        "ram_gib": round(ram_gib(), 1),
        "platform": platform.platform(),
    }


def run_worker(cmd: list[str], what: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``cmd --worker-out FILE`` in a fresh interpreter and return the JSON it wrote there.

    A fresh process per measurement means no thread pool, JIT cache or warm
    allocator carries over from one run to the next. Raises RuntimeError with the
    last lines of its output, naming ``what``, when the worker fails.
    """
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as fh:
        out_path = Path(fh.name)
    try:
        proc = subprocess.run(
            [*cmd, "--worker-out", str(out_path)],
            capture_output=True,
            text=True,
            check=False,
            env=env,
        )
        if proc.returncode != 0:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
            raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{tail}")
        return json.loads(out_path.read_text())
    finally:
        out_path.unlink(missing_ok=True)


def write_json(path: str | None, payload: dict[str, Any]) -> None:
    if not path:
        return
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=float))
    tmp.replace(target)


def quiet_frameworks() -> None:
    """Silence TensorFlow's start-up chatter before it is imported."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
