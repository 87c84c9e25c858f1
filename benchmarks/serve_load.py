"""Load test of ``aescope serve`` on loopback, plus in-process ONNX Runtime vs ``score_samples``.

Starts ``aescope serve`` on 127.0.0.1 on a free port, waits for /healthz, drives
it with a bounded number of requests from httpx (or aiohttp) async clients, checks a few
answers against ``score_samples``, stops the server, and prints:

* single-row requests (JSON records) at concurrency 1, 8 and 32: p50/p95/p99
  latency, measured by the client from send to parsed answer;
* 1,000-row requests, as columns and as records: rows per second;
* every error seen (non-200 answers, failed requests, scores off by > 1e-5);
* in-process throughput on the same real rows: the ONNX Runtime session the
  service runs vs ``AutoencoderDetector.score_samples``.

Client and server share the machine: on 2 cores the client's CPU time is part of
every number here, as it would be for a co-located caller. The default client is
aiohttp, which needs about a quarter of httpx's CPU per request (``--client
httpx`` for the comparison). ``--client-procs 2`` splits the concurrency over two
client processes, so that the client's Python is not the one core everything
queues behind.

Usage::

    pip install -e '.[loadtest]'
    .venv/bin/python benchmarks/serve_load.py                      # trains a small model
    .venv/bin/python benchmarks/serve_load.py --workers 2 --client-procs 2 --json out.json
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import multiprocessing
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import msgspec
import numpy as np
from _common import data_dir, machine, versions, write_json

JSON = {"content-type": "application/json"}
ARROW = {"content-type": "application/vnd.apache.arrow.stream"}


def headers_for(body: bytes) -> dict[str, str]:
    """Arrow IPC streams start with the continuation marker 0xFFFFFFFF; JSON never does."""
    return ARROW if body[:4] == b"\xff\xff\xff\xff" else JSON


TARGET_P99_MS = 10.0  # single row, concurrency 8
TARGET_ROWS_PER_S = 200_000  # 1,000-row requests
PACKAGES = (
    "aescope", "fastapi", "uvicorn", "msgspec", "onnxruntime", "httpx", "aiohttp", "numpy"
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(model: Path, port: int, workers: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-c", "from aescope.cli import app; app()", "serve", str(model)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    handle = log.open("w")
    return subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 180.0) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{base}/healthz", timeout=1.0).status_code == 200:
                return time.perf_counter() - start
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout:.0f} s")


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and its children (Linux /proc; NaN elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, found = 0.0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(stat.parent.name) == pid or int(fields[1]) == pid:  # fields[1]: the parent
            total += (int(fields[11]) + int(fields[12])) / tick
            found = True
    return total if found else float("nan")


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()  # uvicorn shuts down gracefully on SIGTERM
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def drive(
    base: str,
    bodies: list[bytes],
    n: int,
    concurrency: int,
    pid: int,
    pool: Any = None,
    client: str = "httpx",
) -> dict[str, Any]:
    """``n`` POSTs at ``concurrency``, from this process or split over ``pool``'s processes.

    Adds the CPU time the client processes and the server spent, per request.
    """
    server_cpu = tree_cpu_seconds(pid)
    if pool is None:
        parts = [client_run((base, bodies, n, concurrency, 0.0, client))]
    else:
        k = pool._max_workers
        start_at = time.time() + 1.0  # every client process starts at once
        jobs = [(base, bodies, n // k, concurrency // k, start_at, client) for _ in range(k)]
        parts = list(pool.map(client_run, jobs))
    server_ms = (tree_cpu_seconds(pid) - server_cpu) / n * 1e3
    ms = np.concatenate([p["latencies"] for p in parts]) * 1e3
    handler = np.concatenate([p["handler_ms"] for p in parts])
    wall = max(p["wall_s"] for p in parts)
    return {
        "requests": len(ms),
        "concurrency": concurrency,
        "client_processes": len(parts),
        "wall_s": wall,
        "requests_per_s": len(ms) / wall,
        "p50_ms": float(np.percentile(ms, 50)),
        "p95_ms": float(np.percentile(ms, 95)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "handler_p50_ms": float(np.percentile(handler, 50)) if len(handler) else float("nan"),
        "handler_p99_ms": float(np.percentile(handler, 99)) if len(handler) else float("nan"),
        "errors": [e for p in parts for e in p["errors"]],
        "client_cpu_ms_per_request": sum(p["cpu_s"] for p in parts) / len(ms) * 1e3,
        "server_cpu_ms_per_request": server_ms,
    }


def client_run(job: tuple[str, list[bytes], int, int, float, str]) -> dict[str, Any]:
    """One client process's share: runs the client's driver from ``start_at`` (epoch s) on."""
    base, bodies, n, concurrency, start_at, client = job
    time.sleep(max(0.0, start_at - time.time()))
    cpu = time.process_time()
    driver = drive_aiohttp if client == "aiohttp" else drive_async
    out = asyncio.run(driver(base, bodies, n, concurrency))
    out["cpu_s"] = time.process_time() - cpu
    return out


Post = Callable[[bytes], Awaitable[tuple[int, str, str]]]
"""Sends one body to /v1/score; (status, Server-Timing header, start of the answer)."""


async def closed_loop(
    post: Post,
    failures: tuple[type[Exception], ...],
    bodies: list[bytes],
    n: int,
    concurrency: int,
) -> dict[str, Any]:
    """``n`` requests from ``concurrency`` tasks, each sending its next as soon as one returns.

    ``failures``: the client's exceptions for a request that got no answer (counted
    as errors).
    """
    latencies: list[float] = []
    handler_ms: list[float] = []  # decode + score + encode on the server (Server-Timing)
    errors: list[str] = []
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            start = time.perf_counter()
            try:
                status, timing, text = await post(bodies[i % len(bodies)])
                if timing.startswith("score;dur="):
                    handler_ms.append(float(timing[len("score;dur=") :]))
                if status != 200:
                    errors.append(f"HTTP {status}: {text}")
            except failures as exc:
                errors.append(f"{type(exc).__name__}: {exc}")
            latencies.append(time.perf_counter() - start)

    wall = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return {
        "latencies": np.asarray(latencies),
        "handler_ms": np.asarray(handler_ms),
        "errors": errors,
        "wall_s": time.perf_counter() - wall,
    }


async def drive_async(base: str, bodies: list[bytes], n: int, concurrency: int) -> dict[str, Any]:
    """``n`` POSTs to /v1/score from ``concurrency`` tasks of one httpx async client."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30.0) as client:

        async def post(body: bytes) -> tuple[int, str, str]:
            response = await client.post("/v1/score", content=body, headers=headers_for(body))
            response.read()
            timing = response.headers.get("server-timing", "")
            return response.status_code, timing, response.text[:200]

        return await closed_loop(post, (httpx.HTTPError,), bodies, n, concurrency)


async def drive_aiohttp(base: str, bodies: list[bytes], n: int, concurrency: int) -> dict[str, Any]:
    """The same requests from one aiohttp session (about a quarter of httpx's client CPU)."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=30.0)
    async with aiohttp.ClientSession(base, connector=connector, timeout=timeout) as session:

        async def post(body: bytes) -> tuple[int, str, str]:
            async with session.post("/v1/score", data=body, headers=headers_for(body)) as response:
                text = await response.read()
                timing = response.headers.get("server-timing", "")
                return response.status, timing, text[:200].decode(errors="replace")

        # aiohttp's total timeout raises a bare asyncio.TimeoutError
        failures = (aiohttp.ClientError, asyncio.TimeoutError)
        return await closed_loop(post, failures, bodies, n, concurrency)


def record_bodies(frame: Any, rows: int, count: int) -> list[bytes]:
    values = frame.to_numpy()
    names = list(frame.columns)
    bodies = []
    for b in range(count):
        block = values[(b * rows) % len(values) :][:rows]
        records = [dict(zip(names, map(float, r), strict=True), id=i) for i, r in enumerate(block)]
        bodies.append(msgspec.json.encode(records))
    return bodies


def column_bodies(frame: Any, rows: int, count: int) -> list[bytes]:
    bodies = []
    for b in range(count):
        block = frame.iloc[(b * rows) % len(frame) :].iloc[:rows]
        bodies.append(msgspec.json.encode({c: block[c].tolist() for c in block.columns}))
    return bodies


def arrow_bodies(frame: Any, rows: int, count: int) -> list[bytes]:
    """One Arrow IPC stream per request: the columns as they are, plus integer ids."""
    import pyarrow as pa

    bodies = []
    for b in range(count):
        block = frame.iloc[(b * rows) % len(frame) :].iloc[:rows]
        table = pa.Table.from_pandas(block, preserve_index=False)
        table = table.append_column("id", pa.array(np.arange(len(block))))
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        bodies.append(sink.getvalue().to_pybytes())
    return bodies


def _scores(shape: str, response: httpx.Response) -> list[float]:
    if shape == "arrow":
        import pyarrow as pa

        return pa.ipc.open_stream(response.content).read_all()["score"].to_pylist()
    answer = response.json()["results"]
    return answer["score"] if shape == "columns" else [r["score"] for r in answer]


def check_answers(base: str, detector: Any, frame: Any, rows: int, count: int) -> list[str]:
    """Every shape's answers against ``score_samples`` on the same rows (rtol 1e-5)."""
    problems = []
    shapes = (("columns", column_bodies), ("records", record_bodies), ("arrow", arrow_bodies))
    with httpx.Client(base_url=base, timeout=30.0) as client:
        for shape, make in shapes:
            for b, body in enumerate(make(frame, rows, count)):
                block = frame.iloc[(b * rows) % len(frame) :].iloc[:rows]
                response = client.post("/v1/score", content=body, headers=headers_for(body))
                got = _scores(shape, response)
                want = detector.score_samples(block)
                if not np.allclose(got, want, rtol=1e-5, atol=1e-5):
                    problems.append(f"{shape} request {b}: scores differ from score_samples")
    return problems


def in_process(detector: Any, frame: Any, repeats: int) -> dict[str, float]:
    """Rows/s on the same raw rows: ONNX Runtime (the service's 1-thread session, and one
    with onnxruntime's default threads) vs ``score_samples`` (JAX, XLA's default threads)."""
    import onnxruntime as ort

    from aescope.export.onnx import build_model
    from aescope.export.recipe import recipe_from_detector
    from aescope.serve.scorer import Scorer

    service_session = Scorer.from_detector(detector, max_rows=1024).session
    graph = build_model(recipe_from_detector(detector)).SerializeToString()
    default_session = ort.InferenceSession(graph, providers=["CPUExecutionProvider"])
    x = frame.to_numpy(dtype=np.float64)
    out = {}
    for name, fn in (
        ("onnxruntime_rows_per_s", lambda: service_session.run(None, {"input": x})),
        ("onnxruntime_default_threads_rows_per_s", lambda: default_session.run(None, {"input": x})),
        ("score_samples_rows_per_s", lambda: detector.score_samples(frame)),
    ):
        fn()  # warm-up (JAX compiles here)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            fn()
            times.append(time.perf_counter() - start)
        out[name] = len(x) / float(np.median(times))
    score, flag, _ = service_session.run(None, {"input": x})
    want = detector.score_samples(frame)
    # Scores are z-scores, often near 0: the difference relative to max(1, |score|).
    out["max_relative_difference"] = float(
        np.max(np.abs(score - want) / np.maximum(1.0, np.abs(want)))
    )
    differ = flag != (want >= detector.threshold_)
    out["flags_differing"] = int(np.sum(differ))
    # the rule: flags agree exactly except at rows within 1e-6 of the threshold
    near = np.abs(want - detector.threshold_) <= 1e-6 * max(1.0, abs(detector.threshold_))
    out["flags_differing_away_from_threshold"] = int(np.sum(differ & ~near))
    out["flagged"] = int(np.sum(want >= detector.threshold_))
    return out


def engine_latency(detector: Any, frame: Any, repeats: int = 300) -> dict[str, float]:
    """Per-call µs of the two candidate scoring engines, 1 and 1,024 rows (why ONNX Runtime).

    ONNX Runtime: the service's session on raw float64 rows (preprocessing included).
    JAX: the engine's jitted reconstruction (``engine.forward._infer``, parameters already
    on the device) plus the squared-error row mean, on rows already preprocessed (so JAX
    is spared the preprocessing); ``jax_compile_s_N`` is its first call at N rows (a fresh
    shape for N = 1; 1,024 rows may have been compiled by ``score_samples`` before).
    """
    import jax
    import jax.numpy as jnp

    from aescope.engine.forward import _infer
    from aescope.serve.scorer import Scorer

    session = Scorer.from_detector(detector, max_rows=1024).session
    arch = detector.architecture_
    params = jax.tree_util.tree_map(jnp.asarray, list(detector.params_))

    def jax_score(z: np.ndarray) -> np.ndarray:
        diff = np.asarray(_infer(arch, "reconstruct", params, z)) - z
        return (diff * diff).mean(axis=1, dtype=np.float64)

    out: dict[str, float] = {}
    for n in (1, 1024):
        raw = frame.iloc[:n]
        x = raw.to_numpy(np.float64)
        z = detector.preprocessor_.transform(raw)
        start = time.perf_counter()
        jax_score(z)  # compiles for this shape
        out[f"jax_compile_s_{n}"] = time.perf_counter() - start
        for name, fn in (
            ("onnxruntime", lambda x=x: session.run(None, {"input": x})),
            ("jax", lambda z=z: jax_score(z)),
        ):
            fn()
            start = time.perf_counter()
            for _ in range(repeats):
                fn()
            out[f"{name}_us_{n}"] = (time.perf_counter() - start) / repeats * 1e6
    return out


def load_rows(folder: str | None, n: int) -> tuple[Any, str]:
    from aescope.data import load_creditcard
    from aescope.errors import DataUnavailableError

    try:
        ds = load_creditcard(data_dir=data_dir(folder), download=False)
    except DataUnavailableError:
        ds = load_creditcard(sample=True)
    return ds.X.iloc[:n].reset_index(drop=True), ds.source


def train_model(path: Path) -> None:
    from aescope.data import load_creditcard
    from aescope.detector import AutoencoderDetector

    data = load_creditcard(sample=True)
    AutoencoderDetector("seed-best", epochs=2).fit(data.X[data.y == 0]).save(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model file (default: train seed-best for 2 epochs)")
    parser.add_argument("--data-dir", help="folder with creditcard.csv.gz")
    parser.add_argument("--workers", type=int, default=1, help="server worker processes")
    parser.add_argument(
        "--client-procs", type=int, default=1, help="client processes sharing the concurrency"
    )
    parser.add_argument(
        "--client",
        choices=("httpx", "aiohttp"),
        default="aiohttp",
        help="load generator: aiohttp (default; pip install 'aescope[loadtest]') or httpx "
        "(about four times the client CPU per request)",
    )
    parser.add_argument("--single", type=int, default=2000, help="single-row requests per level")
    parser.add_argument("--bulk", type=int, default=200, help="1,000-row requests per shape")
    parser.add_argument("--rows", type=int, default=100_000, help="rows for in-process throughput")
    parser.add_argument("--json", help="write every number here")
    args = parser.parse_args()
    if args.client == "aiohttp" and importlib.util.find_spec("aiohttp") is None:
        sys.exit(
            "serve_load: aiohttp is missing: pip install 'aescope[loadtest]', or --client httpx"
        )

    from aescope.detector import AutoencoderDetector

    run: dict[str, Any] = {
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "machine": machine(),
        "versions": versions(PACKAGES),
        "load_before": os.getloadavg(),
        "workers": args.workers,
    }
    with tempfile.TemporaryDirectory() as tmp:
        model = Path(args.model) if args.model else Path(tmp) / "model.aescope"
        if not args.model:
            train_model(model)
        detector = AutoencoderDetector.load(model)
        frame, run["source"] = load_rows(args.data_dir, args.rows)
        run |= serve_and_drive(model, detector, frame, args, Path(tmp) / "server.log")
        run["in_process"] = in_process(detector, frame, 3)
        run["in_process_rows"] = len(frame)
        run["engine_latency"] = engine_latency(detector, frame)
    run["load_after"] = os.getloadavg()
    report(run)
    write_json(args.json, run)


def serve_and_drive(
    model: Path, detector: Any, frame: Any, args: argparse.Namespace, log: Path
) -> dict[str, Any]:
    """Every HTTP scenario against one server process, which is stopped at the end."""
    singles = record_bodies(frame, 1, 1000)
    bulk = {
        "columns": column_bodies(frame, 1000, 20),
        "records": record_bodies(frame, 1000, 20),
        "arrow": arrow_bodies(frame, 1000, 20),
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    proc = start_server(model, port, args.workers, log)
    pool = None
    if args.client_procs > 1:
        context = multiprocessing.get_context("spawn")  # no fork of this JAX-threaded process
        pool = ProcessPoolExecutor(args.client_procs, mp_context=context)
    out: dict[str, Any] = {"client_processes": args.client_procs, "client": args.client}
    try:
        out["ready_s"] = wait_ready(base, proc)
        client = args.client
        drive(base, singles, 200, 4, proc.pid, pool, client)  # warm connections and processes
        out["single"] = {
            c: drive(base, singles, args.single, c, proc.pid, pool if c > 1 else None, client)
            for c in (1, 8, 32)
        }
        out["bulk"] = {
            shape: drive(base, bodies, args.bulk, 4, proc.pid, pool, client)
            for shape, bodies in bulk.items()
        }
        out["mismatches"] = check_answers(base, detector, frame, 1000, 3)
        out["healthy_after"] = httpx.get(f"{base}/healthz").status_code == 200
    finally:
        if pool is not None:
            pool.shutdown()
        stop_server(proc)
        out["server_log_tail"] = log.read_text().splitlines()[-20:]
    return out


def report(run: dict[str, Any]) -> None:
    single, bulk, local = run["single"], run["bulk"], run["in_process"]
    errors = sum(len(r["errors"]) for r in [*single.values(), *bulk.values()])
    errors += len(run["mismatches"]) + (0 if run["healthy_after"] else 1)
    run["errors"] = errors
    before, after = run["load_before"], run["load_after"]
    print(
        f"serve_load: {run['started']}; {run['machine']['cores']} cores ({run['machine']['cpu']})"
    )
    print(
        "  load average before {:.2f} {:.2f} {:.2f}, after {:.2f} {:.2f} {:.2f}".format(
            *before, *after
        )
    )
    print(f"  rows: {run['source']}")
    print(
        f"  server: {run['workers']} worker(s), ready {run['ready_s']:.1f} s after start; "
        f"client: {run.get('client', 'httpx')} async, {run['client_processes']} process(es) "
        "(concurrency 1: one)"
    )
    head = "  {:<12}{:>9}{:>10}{:>9}{:>9}{:>9}{:>9}{:>12}{:>8}{:>14}"
    line = "  {:<12}{:>9}{:>10,.0f}{:>9.2f}{:>9.2f}{:>9.2f}{:>9.2f}{:>12}{:>8}{:>14}"
    print("\nclient-measured latency (ms); handler = decode+score+encode (Server-Timing)")
    print(
        head.format(
            "requests",
            "count",
            "per s",
            "p50",
            "p95",
            "p99",
            "max",
            "handler p99",
            "errors",
            "CPU ms/req*",
        )
    )
    rows = [(f"1 row, c={c}", r, r["requests_per_s"]) for c, r in single.items()]
    rows += [(f"1000 {shape[:4]}", r, r["requests_per_s"] * 1000) for shape, r in bulk.items()]
    for name, r, rate in rows:
        cpu = f"{r['server_cpu_ms_per_request']:.2f}/{r['client_cpu_ms_per_request']:.2f}"
        print(
            line.format(
                name,
                r["requests"],
                rate,
                r["p50_ms"],
                r["p95_ms"],
                r["p99_ms"],
                r["max_ms"],
                f"{r['handler_p99_ms']:.2f}",
                len(r["errors"]),
                cpu,
            )
        )
    print("  per s: requests for single rows, rows for 1,000-row requests (concurrency 4);")
    print("  * CPU ms per request: server process(es) / client process(es)")
    print(f"\nanswers vs score_samples (rtol 1e-5): {len(run['mismatches'])} mismatching requests")
    print(
        f"in-process on the same {run['in_process_rows']:,} rows, rows/s: onnxruntime "
        f"{local['onnxruntime_rows_per_s']:,.0f} (the service's session, 1 thread), "
        f"{local['onnxruntime_default_threads_rows_per_s']:,.0f} (default threads); "
        f"score_samples {local['score_samples_rows_per_s']:,.0f}"
    )
    print(
        f"  onnxruntime vs score_samples on those rows: max difference relative to max(1, |score|) "
        f"{local['max_relative_difference']:.1e}; flags differing {local['flags_differing']} "
        f"of {local['flagged']:,} flagged, "
        f"{local.get('flags_differing_away_from_threshold', '?')} of them farther than 1e-6 "
        "from the threshold"
    )
    lat = run["engine_latency"]
    print(
        "per call, µs (1 row / 1,024 rows): onnxruntime {:.0f} / {:.0f}; jax {:.0f} / {:.0f} "
        "(JAX: +{:.2f} s to compile a batch size it has not seen)".format(
            lat["onnxruntime_us_1"],
            lat["onnxruntime_us_1024"],
            lat["jax_us_1"],
            lat["jax_us_1024"],
            lat["jax_compile_s_1"],
        )
    )
    p99 = single[8]["p99_ms"]
    best = max(r["requests_per_s"] * 1000 for r in bulk.values())
    verdict = lambda ok: "PASS" if ok else "FAIL"  # noqa: E731
    print(
        f"\ntarget single-row p99 <= {TARGET_P99_MS:g} ms at concurrency 8: {p99:.2f} ms "
        f"-> {verdict(p99 <= TARGET_P99_MS)}"
    )
    print(
        f"target >= {TARGET_ROWS_PER_S:,} rows/s with 1,000-row requests: {best:,.0f} "
        f"-> {verdict(best >= TARGET_ROWS_PER_S)}"
    )
    print(f"target zero errors: {errors} -> {verdict(errors == 0)}")
    for r in [*single.values(), *bulk.values()]:
        for message in r["errors"][:3]:
            print("  error:", message)
    for message in run["mismatches"]:
        print("  error:", message)
    if errors:
        print("server log tail:\n" + "\n".join(run["server_log_tail"]))


if __name__ == "__main__":
    main()
