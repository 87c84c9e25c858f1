"""Shared by the export and serving tests: one trained model per session, real rows, a server.

The model is trained once per test session (seed-best, 2 epochs, on the bundled
sample's normal rows) with ``Time`` dropped and ``Amount`` log1p-transformed, so
that every preprocessing step of the exported graph is exercised.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from aescope.data import load_creditcard
from aescope.detector import AutoencoderDetector
from aescope.preprocess import PreprocessSpec

PREPROCESSING = PreprocessSpec(drop=("Time",), log1p=("Amount",))


@functools.cache
def model_path() -> Path:
    """A saved detector, trained once per session; the folder goes at interpreter exit."""
    folder = Path(tempfile.mkdtemp(prefix="aescope-serve-tests-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    data = load_creditcard(sample=True)
    detector = AutoencoderDetector("seed-best", epochs=2, preprocessing=PREPROCESSING)
    detector.fit(data.X[data.y == 0])
    path = folder / "model.aescope"
    detector.save(path)
    return path


@functools.cache
def detector() -> AutoencoderDetector:
    return AutoencoderDetector.load(model_path())


@functools.cache
def real_rows(n: int = 100_000) -> tuple[pd.DataFrame, str]:
    """The first ``n`` rows of the full file when AESCOPE_DATA_DIR has it, else the sample."""
    folder = os.environ.get("AESCOPE_DATA_DIR")
    full = folder and any(
        (Path(folder) / name).exists() for name in ("creditcard.csv.gz", "creditcard.csv")
    )
    data = load_creditcard(data_dir=folder, download=False) if full else None
    data = data or load_creditcard(sample=True)
    return data.X.iloc[:n], data.source


@contextlib.contextmanager
def running_server(app) -> Iterator[str]:
    """A real uvicorn server for ``app`` on 127.0.0.1, ephemeral port; yields its base URL."""
    import uvicorn

    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
