"""Fault tests against a real uvicorn server on 127.0.0.1 (ephemeral port, bounded requests).

Every bad input gets its 4xx naming what is wrong, and the server answers
/healthz after each; a burst of concurrent requests gets the detector's scores.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import subprocess
import sys
import time

import httpx
import numpy as np
import pytest
from _serve_helpers import detector, model_path, running_server

from aescope.data import load_creditcard
from aescope.serve.app import ScoringService, app_for
from aescope.serve.scorer import Scorer
from aescope.serve.settings import ServeSettings

MAX_ROWS = 64
MAX_BYTES = 40_000


@pytest.fixture(scope="module")
def frame():
    return load_creditcard(sample=True).X.iloc[:2000]


@pytest.fixture(scope="module")
def base_url():
    scorer = Scorer.from_detector(detector(), max_rows=MAX_ROWS)
    settings = ServeSettings(max_rows=MAX_ROWS, max_bytes=MAX_BYTES)
    with running_server(app_for(ScoringService(scorer, settings))) as url:
        yield url


def _row(frame, i: int = 0, **changes) -> dict:
    row = frame.iloc[i].to_dict()
    row.update(changes)
    return row


def _records(frame, *rows: dict) -> bytes:
    return json.dumps(list(rows)).encode()


# finite, but beyond float32 once scaled: `aescope score` refuses it too
OUT_OF_RANGE = ["row 1", "'V8'", "1e+300", "too large for the model"]


def _bad_cases(frame) -> list[tuple[str, bytes, int, list[str]]]:
    good = _row(frame)
    missing = {k: v for k, v in good.items() if k != "V2"}
    columns = {c: frame[c].iloc[:3].tolist() for c in frame.columns}
    zeros = {c: [0.0] * (MAX_ROWS + 1) for c in frame.columns}  # within the byte limit
    return [
        ("empty body", b"", 400, ["empty request body"]),
        ("blank body", b" \n\t", 400, ["empty request body"]),
        ("malformed JSON", b'[{"V1": 1.0,', 400, ["malformed JSON", "column"]),
        ("NaN", _records(frame, _row(frame, V3=float("nan"))), 422, ["row 0", "'V3'", "NaN"]),
        ("inf", _records(frame, good, _row(frame, V4=float("inf"))), 422, ["row 1", "Infinity"]),
        ("1e999", b"[" + json.dumps(good).encode()[:-1] + b', "x": 1e999}]', 422, ["'x'"]),
        ("string", _records(frame, good, _row(frame, V5="abc")), 422, ["row 1", "'V5'", '"abc"']),
        ("null", _records(frame, _row(frame, V6=None)), 422, ["row 0", "'V6'", "null"]),
        ("bool", _records(frame, _row(frame, V7=True)), 422, ["row 0", "'V7'", "true"]),
        ("missing column", _records(frame, good, missing), 422, ["row 1", "missing", "'V2'"]),
        ("extra column", _records(frame, _row(frame, extra=1)), 422, ["unexpected", "'extra'"]),
        ("log1p domain", _records(frame, _row(frame, Amount=-2)), 422, ["'Amount'", "-2.0"]),
        ("out of range", _records(frame, good, _row(frame, V8=1e300)), 422, OUT_OF_RANGE),
        ("row not object", b"[[1, 2, 3]]", 422, ["row 0", "[1, 2, 3]"]),
        ("scalar body", b'"hello"', 422, ['"hello"']),
        ("no rows", b"[]", 422, ["no rows"]),
        ("short column", _columns_with(columns, V9=[1.0]), 422, ["'V9' has 1 values"]),
        ("column not array", _columns_with(columns, V9=1.0), 422, ["'V9'", "array"]),
        ("bare record", json.dumps(good).encode(), 422, ["array of objects"]),
        ("column string", _columns_with(columns, V9=[1, 2, "x"]), 422, ["row 2", "'V9'"]),
        ("too many rows", _columns_with(zeros), 413, ["65 rows", "at most 64"]),
    ]


def _columns_with(columns: dict, **changes) -> bytes:
    return json.dumps({**columns, **changes}).encode()


def test_every_bad_input_gets_a_4xx_that_names_it_and_the_server_goes_on(base_url, frame):
    with httpx.Client(base_url=base_url, timeout=30) as client:
        for name, body, status, fragments in _bad_cases(frame):
            response = client.post("/v1/score", content=body)
            assert response.status_code == status, (name, response.text)
            detail = response.json()["detail"]
            for fragment in fragments:
                assert fragment in detail, (name, detail)
            assert "Traceback" not in response.text
            assert client.get("/healthz").status_code == 200, name


def test_bodies_over_the_byte_limit_are_refused_declared_or_streamed(base_url, frame):
    big = _records(frame, *[_row(frame, i) for i in range(60)])
    assert len(big) > MAX_BYTES
    with httpx.Client(base_url=base_url, timeout=30) as client:
        declared = client.post("/v1/score", content=big)
        assert declared.status_code == 413 and "40,000" in declared.json()["detail"]
        assert client.get("/healthz").status_code == 200
        chunks = (big[i : i + 4096] for i in range(0, len(big), 4096))  # no Content-Length
        streamed = client.post("/v1/score", content=chunks)
        assert streamed.status_code == 413 and "40,000" in streamed.json()["detail"]
        assert client.get("/healthz").status_code == 200


def test_a_burst_of_concurrent_requests_gets_the_detectors_scores(base_url, frame):
    det = detector()
    rng = np.random.default_rng(0)
    blocks = []
    for i in range(48):
        size = int(rng.integers(1, MAX_ROWS // 2))
        start = int(rng.integers(0, len(frame) - size))
        blocks.append((i, frame.iloc[start : start + size]))

    async def one(client: httpx.AsyncClient, i: int, block) -> dict:
        ids = [f"{i}-{j}" for j in range(len(block))]
        if i % 2:
            body = {c: block[c].tolist() for c in block.columns} | {"id": ids}
        else:
            body = [dict(r, id=k) for r, k in zip(block.to_dict("records"), ids, strict=True)]
        response = await client.post("/v1/score", json=body)
        assert response.status_code == 200, response.text
        results = response.json()["results"]
        if i % 2:
            return {"id": results["id"], "score": results["score"]}
        return {"id": [r["id"] for r in results], "score": [r["score"] for r in results]}

    async def burst() -> list[dict]:
        async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
            return await asyncio.gather(*(one(client, i, b) for i, b in blocks))

    answers = asyncio.run(burst())
    for (i, block), answer in zip(blocks, answers, strict=True):
        assert answer["id"] == [f"{i}-{j}" for j in range(len(block))]
        np.testing.assert_allclose(answer["score"], det.score_samples(block), rtol=1e-5, atol=1e-5)
    assert httpx.get(f"{base_url}/healthz", timeout=10).status_code == 200


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_cli(workers: int) -> tuple[subprocess.Popen, str]:
    """``aescope serve`` on a free loopback port, once /healthz answers (a port taken
    between choosing and binding it is tried again)."""
    for _ in range(3):
        port = _free_port()
        command = [sys.executable, "-c", "from aescope.cli import app; app()", "serve"]
        command += [str(model_path()), "--port", str(port), "--max-rows", "8"]
        command += ["--workers", str(workers)]
        server = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while server.poll() is None and time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    return server, base
            except httpx.HTTPError:
                time.sleep(0.3)
        if server.poll() is None:
            server.kill()
        output = server.communicate()[0]
        if "address already in use" not in output:
            raise AssertionError(f"aescope serve did not become ready:\n{output[-2000:]}")
    raise AssertionError("no free port after three tries")


@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_the_cli_serves_until_stopped(frame, workers):
    server, base = _start_cli(workers)
    try:
        card = httpx.get(f"{base}/v1/model", timeout=10).json()
        assert card["limits"]["max_rows"] == 8
        rows = frame.iloc[:8]
        answer = httpx.post(f"{base}/v1/score", json=rows.to_dict("records"), timeout=10)
        scores = [r["score"] for r in answer.json()["results"]]
        np.testing.assert_allclose(scores, detector().score_samples(rows), rtol=1e-5, atol=1e-5)
        nine = frame.iloc[:9].to_dict("records")
        assert httpx.post(f"{base}/v1/score", json=nine, timeout=10).status_code == 413
    finally:
        server.terminate()
        output = server.communicate(timeout=60)[0]
    # uvicorn shuts down gracefully, then re-raises SIGTERM to exit as the signal asked.
    assert server.returncode in (0, -signal.SIGTERM), output[-2000:]
    assert "Finished server process" in output and "Traceback" not in output
