"""How training time grows with the number of seeded replicas K, and what groups buy.

aescope trains K replicas as vmapped groups that run side by side, one per CPU
core (or device). This script times ``seed-best`` (batch 64, the credit-card
training normals) for several K, once with the default grouping and once as a
single vmapped group (``replica_groups=1``), and prints seconds per steady epoch
and the ratio to K = 1. Each setting runs in a fresh process.

Usage (inside .venv-bench or .venv)::

    python benchmarks/replica_scaling.py                       # K = 1, 2, 4, 8; 3 epochs
    python benchmarks/replica_scaling.py --ks 1,8 --rows 50000 # quicker
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import load_bench_data, machine, run_worker, seed_best, versions, write_json

PACKAGES = ("aescope", "jax", "jaxlib", "numpy")


def run_one(data_path: str, k: int, groups: int | None, epochs: int) -> dict[str, Any]:
    from aescope.engine import TrainConfig, train
    from aescope.engine.devices import split_replicas

    arrays = np.load(data_path)
    x_train, x_val = arrays["x_train"], arrays["x_val"]
    config = TrainConfig(epochs=epochs, batch_size=64, restore_best=False)
    seeds = list(range(k))
    result = train(
        seed_best(x_train.shape[1]), x_train, x_val, config, seeds, replica_groups=groups
    )
    return {
        "seconds_per_epoch": [float(s) for s in result.histories[0].seconds],
        "compile_seconds": result.compile_seconds,
        "group_sizes": [len(g.seeds) for g in split_replicas(seeds, groups)],
    }


def spawn(data_path: str, k: int, groups: int | None, epochs: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--worker", f"{k},{groups or 0}", "--worker-data", data_path]
    return run_worker([*cmd, "--epochs", str(epochs)], f"K={k} groups={groups}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ks", default="1,2,4,8", help="replica counts (default 1,2,4,8)")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--rows", type=int, default=None, help="subsample training rows")
    p.add_argument("--data-dir", default=None)
    p.add_argument("--synthetic", action="store_true", help="random data (development only)")
    p.add_argument("--json", default=None)
    p.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-data", default=None, help=argparse.SUPPRESS)
    p.add_argument("--worker-out", default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        k, groups = (int(v) for v in args.worker.split(","))
        result = run_one(args.worker_data, k, groups or None, args.epochs)
        Path(args.worker_out).write_text(json.dumps(result))
        return 0

    ks = [int(v) for v in args.ks.split(",")]
    data = load_bench_data(args.data_dir, rows=args.rows, synthetic=args.synthetic)
    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        print(f"warning: load average {load_before[0]:.2f}: other work will skew timings")
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="aescope-scaling-") as tmp:
        data_path = str(Path(tmp) / "data.npz")
        np.savez(data_path, x_train=data.x_train, x_val=data.x_val)
        for k in ks:
            for groups in dict.fromkeys([None, 1]):  # default grouping, then one group
                if k == 1 and groups == 1:
                    continue  # the same thing as the default
                r = spawn(data_path, k, groups, args.epochs)
                steady = statistics.median(r["seconds_per_epoch"][1:] or r["seconds_per_epoch"])
                rows.append({"k": k, "groups": groups, "steady_epoch_s": steady, **r})
                print(f"K={k} groups={r['group_sizes']}: {steady:.3f} s/epoch", flush=True)
    base = next(r["steady_epoch_s"] for r in rows if r["k"] == 1)
    m = machine()
    print(
        f"\nreplica_scaling: seed-best, {data.x_train.shape[0]:,} rows, batch 64, "
        f"{args.epochs} epochs; {m['cores']} cores ({m['cpu']})"
    )
    print("| K | grouping | group sizes | steady s/epoch | × K=1 | per replica × K=1 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for r in rows:
        ratio = r["steady_epoch_s"] / base
        label = "one group" if r["groups"] == 1 else "default"
        sizes = "+".join(str(s) for s in r["group_sizes"])
        print(
            f"| {r['k']} | {label} | {sizes} | {r['steady_epoch_s']:.3f} | {ratio:.2f}× "
            f"| {ratio / r['k']:.2f} |"
        )
    meta = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "source": data.source,
        "machine": m,
        "load_average_before": load_before,
        "versions": versions(PACKAGES),
    }
    write_json(args.json, {"meta": meta, "rows": rows})
    return 0


if __name__ == "__main__":
    sys.exit(main())
