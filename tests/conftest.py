"""Shared fixtures: where the real data lives, and skipping cleanly when it does not."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# In-process CLI tests must not switch on JAX's on-disk compilation cache for the
# whole test session; the cache has its own test, in a subprocess.
os.environ["AESCOPE_COMPILE_CACHE"] = "0"


def _shared_data_dir() -> Path | None:
    env = os.environ.get("AESCOPE_DATA_DIR")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[1].parent / "shared" / "data")
    for path in candidates:
        if (path / "creditcard.csv.gz").exists() or (path / "creditcard.csv").exists():
            return path
    return None


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    """The folder with the real credit-card file and ADBench sets; skips if absent."""
    path = _shared_data_dir()
    if path is None:
        pytest.skip("real data not available: set AESCOPE_DATA_DIR or provide ../shared/data")
    return path


@pytest.fixture(scope="session")
def adbench_dir(shared_data_dir: Path) -> Path:
    path = shared_data_dir / "adbench"
    if not path.is_dir():
        pytest.skip(f"no ADBench folder at {path}")
    return path


@pytest.fixture(scope="session")
def small_data():
    """The study's prepared split of :func:`_study_helpers.tiny_dataset` (seed 0)."""
    from _study_helpers import tiny_dataset

    from aescope.study.runs import prepare_data

    return prepare_data(tiny_dataset(), split_seed=0)
