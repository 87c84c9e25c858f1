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
def dask_cluster():
    """One Dask LocalCluster for the session: two worker processes on 127.0.0.1, closed at
    the end. Shared, so that its workers start (and import JAX) once."""
    pytest.importorskip("distributed")
    from aescope.distributed.dask_engine import dask_client

    with dask_client(workers=2) as client:
        yield client


@pytest.fixture(scope="session")
def spark_local():
    """One Spark ``local[2]`` session for the session (bound to 127.0.0.1), stopped at the
    end: its JVM and Python workers start once. ``aescope score --engine spark`` run
    in-process uses it too, as it uses any active session."""
    import shutil

    pytest.importorskip("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        pytest.skip("PySpark needs Java (17+)")
    from aescope.distributed.spark_engine import spark_session

    with spark_session(workers=2) as session:
        yield session


@pytest.fixture(scope="session")
def small_data():
    """The study's prepared split of :func:`_study_helpers.tiny_dataset` (seed 0)."""
    from _study_helpers import tiny_dataset

    from aescope.study.runs import prepare_data

    return prepare_data(tiny_dataset(), split_seed=0)
