"""A command stopped by SIGTERM mid-write leaves no temporary file and the old output intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from aescope import AutoencoderDetector


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_sigterm_while_scoring_removes_the_temporary_file(tmp_path: Path):
    rng = np.random.default_rng(0)
    columns = ["a", "b", "c"]
    model = tmp_path / "m.aescope"
    AutoencoderDetector(epochs=1).fit(
        pd.DataFrame(rng.normal(size=(500, 3)), columns=columns)
    ).save(model)
    rows = tmp_path / "rows.parquet"
    pq.write_table(pa.table({c: rng.normal(size=2_000_000) for c in columns}), rows)
    out = tmp_path / "scores.parquet"
    out.write_bytes(b"yesterday's scores")
    env = dict(os.environ, AESCOPE_COMPILE_CACHE="0")
    command = [sys.executable, "-c", "from aescope.cli import app; app()"]
    args = ["score", str(model), str(rows), "-o", str(out), "--chunk-rows", "5000"]
    process = subprocess.Popen(
        [*command, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob(".scores.parquet.*.aescope.tmp*")):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the temporary output never appeared"
        time.sleep(0.05)
    time.sleep(0.5)  # well inside the writing loop
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert b"Traceback" not in stderr
    assert not list(tmp_path.glob(".scores.parquet.*")), "a temporary file was left behind"
    assert out.read_bytes() == b"yesterday's scores"
