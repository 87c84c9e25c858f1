"""Scoring throughput of ``seed-best``: aescope vs PyTorch and Keras ``predict``.

Two questions, each answered in rows per second:

from memory
    a float32 matrix already standardised (~1M rows: the real test rows tiled)
    in, one reconstruction error per row out. aescope through
    ``engine.reconstruct`` + the squared-error mean, and through the detector's
    ``score_samples`` on the raw frame (adds validation + preprocessing); PyTorch
    (inference mode, 65,536-row chunks) and Keras ``predict`` (same chunks) on
    the same network.
end to end
    a ~1M-row Parquet file of raw columns on disk: read + preprocess + score +
    write the scores as Parquet. The same hand-written pipeline for every
    framework, plus ``aescope score MODEL in.parquet -o out.parquet`` (the CLI,
    timed as a subprocess including interpreter start-up; it also writes a flag
    and the top-3 features per row).

Weights are freshly initialised (scoring costs the same for any weights), except
for the detector/CLI, which need a fitted model file: one epoch on a few thousand
training rows. Every measurement runs in its own subprocess with one warm-up
call (pays compilation) and then ``--repeats`` timed calls; the median is shown.

Usage (inside .venv-bench)::

    python benchmarks/score_speed.py                   # 1,000,000 rows
    python benchmarks/score_speed.py --rows 200000 --repeats 2   # quick
    python benchmarks/score_speed.py --cores 2 --json out/score_speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import load_bench_data, machine, quiet_frameworks, seed_best, versions, write_json

BAR_ROWS_PER_S = 1_000_000
PACKAGES = (
    "aescope",
    "jax",
    "jaxlib",
    "numpy",
    "pandas",
    "pyarrow",
    "tensorflow",
    "keras",
    "torch",
)
CHUNK = 65536
TASKS = (
    "aescope-memory",
    "aescope-detector",
    "torch-memory",
    "keras-memory",
    "aescope-e2e",
    "torch-e2e",
    "keras-e2e",
    "aescope-cli",
    "aescope-cli_top0",
)


# --------------------------------------------------------------------------- timing


def measure(fn: Callable[[], Any], repeats: int) -> dict[str, Any]:
    """One warm-up call (compile, caches), then ``repeats`` timed calls."""
    start = time.perf_counter()
    fn()
    warmup = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return {"warmup_s": warmup, "times_s": times, "median_s": statistics.median(times)}


# --------------------------------------------------------------------------- scorers


def scorer(framework: str, n_features: int) -> Callable[[np.ndarray], np.ndarray]:
    """x (standardised float32) -> per-row mean squared reconstruction error."""
    arch = seed_best(n_features)
    if framework == "aescope":
        from aescope.engine import init_params, reconstruct

        params = init_params(arch, 0)

        def run(x: np.ndarray) -> np.ndarray:
            recon = reconstruct(arch, params, x)
            return np.mean(np.square(recon - x), axis=1)

        return run
    from competitors import KerasAutoencoder, TorchAutoencoder

    model = TorchAutoencoder(arch) if framework == "torch" else KerasAutoencoder(arch)
    model.build(0)
    return lambda x: model.errors(x, CHUNK)


def end_to_end(
    score: Callable[[np.ndarray], np.ndarray], pre: Any, source: Path, target: Path
) -> Callable[[], None]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    def run() -> None:
        frame = pq.read_table(source).to_pandas()
        x = pre.transform(frame[list(pre.input_columns)])
        scores = score(x)
        pq.write_table(pa.table({"score": scores.astype(np.float64)}), target)

    return run


def run_task(task: str, work: Path, repeats: int) -> dict[str, Any]:
    """One measurement; runs inside a worker process."""
    quiet_frameworks()
    framework, kind = task.split("-", 1)
    meta = json.loads((work / "meta.json").read_text())
    rows = meta["rows"]
    if kind == "memory":
        x = np.load(work / "x.npy")
        score = scorer(framework, x.shape[1])
        return {"rows": rows, **measure(lambda: score(x), repeats)}
    if kind == "detector":
        import pandas as pd

        from aescope.detector import AutoencoderDetector

        det = AutoencoderDetector.load(work / "model.aescope")
        frame = pd.read_parquet(work / "in.parquet")[list(det.feature_names_in_)]
        return {"rows": rows, **measure(lambda: det.score_samples(frame), repeats)}
    if kind == "e2e":
        from aescope.preprocess import FittedPreprocessor

        pre = FittedPreprocessor.from_dict(meta["preprocessor"])
        score = scorer(framework, len(pre.output_columns))
        fn = end_to_end(score, pre, work / "in.parquet", work / f"out-{framework}.parquet")
        return {"rows": rows, **measure(fn, repeats)}
    if kind in ("cli", "cli_top0"):
        exe = str(Path(sys.executable).with_name("aescope"))
        exe = exe if Path(exe).exists() else (shutil.which("aescope") or "aescope")
        cmd = [exe, "score", str(work / "model.aescope"), str(work / "in.parquet")]
        cmd += ["-o", str(work / "out-cli.parquet")]
        if kind == "cli_top0":
            cmd += ["--top-k", "0"]  # scores and flags only: no per-row feature ranking

        def run() -> None:
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"aescope score failed: {proc.stdout}{proc.stderr}")

        return {"rows": rows, "command": " ".join(cmd), **measure(run, repeats)}
    raise ValueError(f"unknown task {task!r}")


def spawn(task: str, work: Path, repeats: int, cores: int | None) -> dict[str, Any]:
    out = work / f"result-{task}.json"
    cmd = [sys.executable, __file__, "--worker", task, "--worker-dir", str(work)]
    cmd += ["--repeats", str(repeats)]
    if cores:
        cmd += ["--cores", str(cores)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        return {"error": f"exit {proc.returncode}: {tail}"}
    return json.loads(out.read_text())


# --------------------------------------------------------------------------- preparation


def prepare(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Write the tiled matrix, the raw Parquet input and (if possible) a detector file."""
    data = load_bench_data(args.data_dir, synthetic=args.synthetic, seed=0)
    reps = -(-args.rows // len(data.x_test))
    x = np.tile(data.x_test, (reps, 1))[: args.rows]
    np.save(work / "x.npy", np.ascontiguousarray(x, dtype=np.float32))
    meta: dict[str, Any] = {"rows": len(x), "features": int(x.shape[1]), "source": data.source}
    if data.frame_test is None:  # synthetic: no raw frame, no preprocessor
        meta["preprocessor"] = None
    else:
        import pandas as pd

        raw = data.frame_test.reset_index(drop=True)
        frame = pd.concat([raw] * reps, ignore_index=True).iloc[: args.rows]
        frame.to_parquet(work / "in.parquet", index=False)
        meta["parquet_mib"] = round((work / "in.parquet").stat().st_size / 2**20, 1)
        meta["preprocessor"] = data.preprocessor.to_dict()
        meta["detector"] = fit_detector(raw.iloc[:5000], work / "model.aescope")
    (work / "meta.json").write_text(json.dumps(meta))
    return meta


def fit_detector(frame: Any, path: Path) -> str:
    try:
        from aescope.detector import AutoencoderDetector
        from aescope.preprocess import PreprocessSpec

        det = AutoencoderDetector(
            "seed-best",
            preprocessing=PreprocessSpec(drop=("Time",), scaling="standard"),
            epochs=1,
            patience=None,
            threshold="quantile:0.99",
        )
        det.fit(frame)
        det.save(path)
        return "fitted: 1 epoch on 5,000 rows"
    except Exception as exc:  # the detector may not exist yet: skip its rows, say why
        return f"unavailable: {type(exc).__name__}: {exc}"


# --------------------------------------------------------------------------- report


def print_report(meta: dict[str, Any], results: dict[str, dict[str, Any]]) -> list[dict]:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=140)
    m = meta["machine"]
    console.print(
        f"[bold]score_speed[/]: seed-best, {meta['rows']:,} rows × {meta['features']} features; "
        f"{meta['cores_used']} core(s) used of {m['cores']} ({m['cpu']}); Parquet input "
        f"{meta.get('parquet_mib', '-')} MiB; median of {meta['repeats']} after 1 warm-up"
    )
    table = Table(title="scoring throughput")
    for col in ("measurement", "warm-up s", "median s", "rows / s", "vs aescope"):
        table.add_column(col, justify="left" if col == "measurement" else "right")
    base = {  # aescope's rate per kind of measurement (memory, e2e), for the last column
        task.split("-", 1)[1]: r["rows"] / r["median_s"]
        for task, r in results.items()
        if task.startswith("aescope") and "median_s" in r
    }
    for task, r in results.items():
        if "median_s" not in r:
            table.add_row(task, "-", "-", "[yellow]skipped[/]", r.get("error", "")[:60])
            continue
        rate = r["rows"] / r["median_s"]
        kind = task.split("-", 1)[1]
        ref = base.get(kind)
        rel = ""
        if ref and not task.startswith("aescope"):
            rel = f"{ref / rate:.1f}× slower" if ref >= rate else f"{rate / ref:.1f}× faster"
        table.add_row(task, f"{r['warmup_s']:.2f}", f"{r['median_s']:.3f}", f"{rate:,.0f}", rel)
    console.print(table)
    checks = []
    mem = results.get("aescope-memory", {})
    if "median_s" in mem:
        rate = mem["rows"] / mem["median_s"]
        checks.append(
            {
                "bar": f"≥ {BAR_ROWS_PER_S:,} rows/s from memory on {meta['cores_used']} cores",
                "value": f"{rate:,.0f} rows/s",
                "pass": rate >= BAR_ROWS_PER_S,
            }
        )
    for c in checks:
        verdict = "[green]PASS[/]" if c["pass"] else "[red]FAIL[/]"
        console.print(f"bar: {c['bar']}: {c['value']} → {verdict}")
    for task, r in results.items():
        if "error" in r:
            console.print(f"[yellow]{task} skipped[/]: {r['error']}")
    return checks


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=1_000_000, help="rows to score (default 1M)")
    p.add_argument("--repeats", type=int, default=5, help="timed calls after the warm-up")
    p.add_argument("--cores", type=int, default=None, help="pin to this many cores")
    p.add_argument("--only", default=",".join(TASKS), help=f"comma list from {', '.join(TASKS)}")
    p.add_argument("--data-dir", default=None, help="folder with creditcard.csv.gz")
    p.add_argument("--synthetic", action="store_true", help="random data: memory tasks only")
    p.add_argument("--json", default=None, help="write all numbers to this JSON file")
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-dir", default=None, help=argparse.SUPPRESS)
    return p.parse_args(argv)


def pin_cores(cores: int | None) -> int:
    """Restrict this process (and what it starts) to the first ``cores`` CPUs."""
    available = sorted(os.sched_getaffinity(0))
    if cores:
        os.sched_setaffinity(0, available[:cores])
        # XLA/OpenMP size their pools from the affinity mask or these variables.
        os.environ["OMP_NUM_THREADS"] = str(cores)
        return min(cores, len(available))
    return len(available)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cores_used = pin_cores(args.cores)
    if args.worker:
        work = Path(args.worker_dir)
        result = run_task(args.worker, work, args.repeats)
        (work / f"result-{args.worker}.json").write_text(json.dumps(result))
        return 0
    tasks = [t.strip() for t in args.only.split(",") if t.strip()]
    unknown = [t for t in tasks if t not in TASKS]
    if unknown:
        raise SystemExit(f"unknown task(s) {unknown}; choose from {', '.join(TASKS)}")
    started = time.perf_counter()
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="aescope-score-") as tmp:
        work = Path(tmp)
        print(f"preparing {args.rows:,} rows in {work} ...", flush=True)
        prep = prepare(work, args)
        for task in tasks:
            if prep.get("preprocessor") is None and not task.endswith("-memory"):
                results[task] = {"error": "needs the real data (not --synthetic)"}
                continue
            if task.startswith(("aescope-detector", "aescope-cli")) and not prep[
                "detector"
            ].startswith("fitted"):
                results[task] = {"error": f"detector {prep['detector']}"}
                continue
            print(f"{task} ...", flush=True)
            results[task] = spawn(task, work, args.repeats, args.cores)
            r = results[task]
            if "median_s" in r:
                print(f"  {r['rows'] / r['median_s']:,.0f} rows/s", flush=True)
            else:
                print(f"  skipped: {r['error'][:300]}", flush=True)
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "rows": prep["rows"],
        "features": prep["features"],
        "source": prep["source"],
        "parquet_mib": prep.get("parquet_mib"),
        "detector": prep.get("detector"),
        "repeats": args.repeats,
        "cores_used": cores_used,
        "machine": machine(),
        "load_average": os.getloadavg(),
        "versions": versions(PACKAGES),
        "total_seconds": time.perf_counter() - started,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
    }
    checks = print_report(meta, results)
    write_json(args.json, {"meta": meta, "results": results, "checks": checks})
    return 0


if __name__ == "__main__":
    sys.exit(main())
