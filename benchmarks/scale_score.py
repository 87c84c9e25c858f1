"""Scoring a Parquet folder of 10M+ rows: the single-process CLI, Dask and Spark, end to end.

Makes (once, then reuses) a folder of Parquet files holding the real credit-card
rows tiled to ``--rows`` (with a unique ``tx_id``), ``--files`` files of equal
size, and a ``seed-best`` model (one epoch: scoring costs the same for any
weights): one autoencoder without the neighbour term, or with ``--model
default`` the detector's defaults (four autoencoders and a neighbour search,
several times the scoring cost per row). Then, for each size in ``--sizes``
(multiples of ``--rows``, the same rows per file, so a larger size has more
files, not larger ones), it runs::

    aescope score MODEL IN/ -o OUT/ --id tx_id --engine local|dask|spark [--workers N]

as a subprocess and reports rows per second (wall time of the whole command:
interpreter, cluster or JVM start-up included) and the peak memory (VmHWM) of
every process of the run, grouped by role: the CLI's own process, Dask workers,
Spark's JVM and its Python workers. A process's peak is read from /proc every
0.2 s while it lives, so a process that grows in its last 0.2 s is under-read;
so is its CPU time (user + system, summed over the processes), which is printed
as CPU-seconds per million rows: on a shared machine that figure moves much
less with the load than the wall time does.
Each engine also scores a 1,000-row folder: that run's wall time is the fixed
cost (start-up), and rows/s net of it is printed beside the end-to-end figure.
The outputs of every engine are compared (row counts, alerts, and every score,
flag and top feature of the first and last part files).

Usage (inside .venv, which has the scale extra)::

    python benchmarks/scale_score.py                          # 10M and 20M rows
    python benchmarks/scale_score.py --rows 1000000 --files 4 --sizes 1   # quick
    python benchmarks/scale_score.py --json out/scale_score.json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import data_dir, machine, versions, write_json

ENGINES = ("local", "dask", "spark")
MODELS: dict[str, dict[str, int]] = {
    # the model of the recorded runs: scoring cost is the network's, per row
    "single": {"n_models": 1, "neighbors": 0},
    # AutoencoderDetector's defaults (issue #11): four networks and a 5-nearest-neighbour
    # search of 4,096 stored rows per scored row
    "default": {},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000, help="rows at size 1")
    parser.add_argument("--files", type=int, default=20, help="files at size 1")
    parser.add_argument("--sizes", default="1,2", help="multiples of --rows, e.g. 1,2")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--workers", type=int, default=2, help="Dask workers / Spark local[N]")
    parser.add_argument("--workdir", default="/tmp/aescope-scale-bench")
    parser.add_argument("--data-dir", default=None, help="folder with creditcard.csv.gz")
    parser.add_argument(
        "--model",
        choices=tuple(MODELS),
        default="single",
        help="single: one autoencoder, no neighbour term (the run of record); default: "
        "AutoencoderDetector's defaults (four autoencoders and a neighbour term)",
    )
    parser.add_argument("--json", default=None, help="write every measurement here")
    args = parser.parse_args()
    work = Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    sizes = [int(s) for s in args.sizes.split(",")]

    facts = machine() | versions(["aescope", "jax", "pandas", "pyarrow", "dask", "pyspark"])
    facts["load_at_start"] = os.getloadavg()
    print(f"machine: {facts}", flush=True)
    facts["model"] = {"kind": args.model, **MODELS[args.model]}
    model = make_model(work, args.data_dir, args.model)
    source = load_rows(args.data_dir)
    tiny = make_folder(work / "in-tiny", source, 1000, 1)
    results: dict = {"machine": facts, "runs": [], "startup": {}}
    for engine in engines:
        run = score(model, tiny, work / "out-tiny", engine, args.workers, 1000)
        results["startup"][engine] = run["wall_s"]
        print(f"start-up {engine}: {run['wall_s']:.1f} s (1,000 rows)", flush=True)
    for size in sizes:
        rows, files = args.rows * size, args.files * size
        folder = make_folder(work / f"in-{rows}", source, rows, files)
        outputs = {}
        for engine in engines:
            out = work / f"out-{engine}"
            run = score(model, folder, out, engine, args.workers, rows)
            run.update(size=size, files=files, startup_s=results["startup"][engine])
            results["runs"].append(run)
            outputs[engine] = summary_of(out)
            show(run)
        check_same(outputs)
        for engine in engines:
            shutil.rmtree(work / f"out-{engine}", ignore_errors=True)
    print_table(results)
    write_json(args.json, results)


# --------------------------------------------------------------------------- data


def load_rows(data_dir_: str | None) -> dict[str, np.ndarray]:
    from aescope.data import load_creditcard

    frame = load_creditcard(data_dir=data_dir(data_dir_), download=False).frame
    return {c: frame[c].to_numpy() for c in frame.columns if c != "Class"}


def make_model(work: Path, data_dir_: str | None, kind: str) -> Path:
    path = work / f"seed-best-{kind}.aescope"
    if path.exists():
        return path
    from aescope import AutoencoderDetector, PreprocessSpec
    from aescope.data import load_creditcard

    frame = load_creditcard(data_dir=data_dir(data_dir_), download=False).frame
    normal = frame[frame["Class"] == 0].drop(columns="Class").sample(50_000, random_state=0)
    detector = AutoencoderDetector(
        "seed-best",
        epochs=1,
        preprocessing=PreprocessSpec(drop=("Time",)),
        random_state=0,
        **MODELS[kind],
    )
    detector.fit(normal).save(path)
    return path


def make_folder(folder: Path, source: dict[str, np.ndarray], rows: int, files: int) -> Path:
    """``files`` Parquet files of the source rows tiled to ``rows`` rows (made once)."""
    stamp = folder / "_made.json"
    want = {"rows": rows, "files": files}
    if stamp.exists() and json.loads(stamp.read_text()) == want:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    n = len(next(iter(source.values())))
    bounds = np.linspace(0, rows, files + 1).astype(np.int64)
    for i in range(files):
        ids = np.arange(bounds[i], bounds[i + 1], dtype=np.int64)
        columns = {"tx_id": pa.array(ids)}
        columns |= {name: pa.array(values[ids % n]) for name, values in source.items()}
        pq.write_table(pa.table(columns), folder / f"part.{i:05d}.parquet")
    stamp.write_text(json.dumps(want))
    return folder


# --------------------------------------------------------------------------- runs


def score(model: Path, folder: Path, out: Path, engine: str, workers: int, rows: int) -> dict:
    aescope = str(Path(sys.executable).parent / "aescope")
    argv = [aescope, "score", str(model), str(folder), "-o", str(out), "--id", "tx_id"]
    argv += ["--engine", engine, "--no-progress"]
    if engine != "local":
        argv += ["--workers", str(workers)]
    load = os.getloadavg()
    t0 = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peaks = _Sampler(child.pid)
    peaks.start()
    _, stderr = child.communicate()
    wall = time.perf_counter() - t0
    peaks.stop()
    if child.returncode != 0:
        raise SystemExit(f"{engine} failed ({child.returncode}):\n{stderr[-3000:]}")
    said = [line for line in stderr.splitlines() if line.startswith("scored ")]
    return {
        "engine": engine,
        "rows": rows,
        "wall_s": wall,
        "rows_per_s": rows / wall,
        "load_before": load,
        "load_after": os.getloadavg(),
        "peak_mib": peaks.by_role(),
        "cpu_s": peaks.cpu_by_role(),
        "processes": peaks.count_by_role(),
        "said": said[-1] if said else "",
    }


class _Sampler(threading.Thread):
    """Every 0.2 s: each descendant of ``root`` and its VmHWM (peak resident memory)."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak: dict[int, float] = {}
        self.cpu: dict[int, float] = {}  # user + system seconds, as last seen
        self.role: dict[int, str] = {}
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            for pid, parent in _tree(self.root).items():
                hwm = _vm_hwm_mib(pid)
                if hwm is None:
                    continue
                self.peak[pid] = max(self.peak.get(pid, 0.0), hwm)
                self.cpu[pid] = max(self.cpu.get(pid, 0.0), _cpu_seconds(pid))
                role = _role(pid, parent, self.root)  # a launcher may exec java
                if role != "other" or pid not in self.role:  # an exiting process reads as ""
                    self.role[pid] = role
            self._done.wait(0.2)

    def stop(self) -> None:
        self._done.set()
        self.join()

    def by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, mib in self.peak.items():
            role = self.role[pid]
            out[role] = max(out.get(role, 0.0), mib)
        return out

    def cpu_by_role(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for pid, seconds in self.cpu.items():
            role = self.role[pid]
            out[role] = out.get(role, 0.0) + seconds
        return out

    def count_by_role(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for role in self.role.values():
            out[role] = out.get(role, 0) + 1
        return out


def _tree(root: int) -> dict[int, int]:
    """pid -> parent pid for ``root`` and all its descendants."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as handle:
                    fields = handle.read().rsplit(")", 1)[1].split()
                parents[int(entry)] = int(fields[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root: parents.get(root, 0)}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree[child] = parent
                frontier.append(child)
    return tree


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def _vm_hwm_mib(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _role(pid: int, parent: int, root: int) -> str:
    if pid == root:
        return "CLI process"
    try:
        cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "other"
    if cmd.split(" ")[0].endswith("java"):
        return "Spark JVM"
    if "pyspark.daemon" in cmd or "pyspark/daemon" in cmd:
        try:
            parent_cmd = Path(f"/proc/{parent}/cmdline").read_bytes()
        except OSError:
            parent_cmd = b""
        return "PySpark worker" if b"pyspark.daemon" in parent_cmd else "PySpark daemon"
    if "multiprocessing.spawn" in cmd or "multiprocessing.forkserver" in cmd:
        return "Dask worker" if "resource_tracker" not in cmd else "other"
    return "other"


# --------------------------------------------------------------------------- checks


def summary_of(out: Path) -> dict:
    marker = json.loads((out / "_aescope.json").read_text())
    parts = sorted(p for p in out.iterdir() if p.name.startswith("part") and p.suffix == ".parquet")
    return {
        "rows": marker["rows_written"],
        "alerts": marker["alerts"],
        "first": pq.read_table(parts[0]).to_pandas(),
        "last": pq.read_table(parts[-1]).to_pandas(),
    }


def check_same(outputs: dict) -> None:
    """Every engine wrote the same rows (counts, alerts, first and last parts in full)."""
    names = list(outputs)
    base = outputs[names[0]]
    for name in names[1:]:
        other = outputs[name]
        assert other["rows"] == base["rows"] and other["alerts"] == base["alerts"], name
        for part in ("first", "last"):
            a, b = base[part], other[part]
            assert list(a["tx_id"]) == list(b["tx_id"]), (name, part)
            np.testing.assert_allclose(a["score"], b["score"], rtol=1e-6)
            assert (a["flag"].to_numpy() == b["flag"].to_numpy()).all(), (name, part)
            assert (a["top_features"].to_numpy() == b["top_features"].to_numpy()).all()
    print(f"outputs agree: {', '.join(names)} ({base['rows']:,} rows)", flush=True)


# --------------------------------------------------------------------------- report


def show(run: dict) -> None:
    peaks = ", ".join(f"{r} {m:,.0f}" for r, m in sorted(run["peak_mib"].items()))
    cpu = sum(run["cpu_s"].values())
    print(
        f"{run['engine']:>5} {run['rows']:>12,} rows: {run['wall_s']:7.1f} s "
        f"{run['rows_per_s']:>11,.0f} rows/s; CPU {cpu:.0f} s "
        f"({cpu / run['rows'] * 1e6:.2f} s per 1M rows); load {run['load_before'][0]:.1f}; "
        f"peak MiB: {peaks}",
        flush=True,
    )


def print_table(results: dict) -> None:
    roles = sorted({r for run in results["runs"] for r in run["peak_mib"]})
    head = ["engine", "rows", "files", "wall s", "rows/s", "rows/s net", "CPU s / 1M rows"]
    head += ["load 1m"]
    print("\n| " + " | ".join(head + [f"peak MiB: {r}" for r in roles]) + " |")
    print("|" + " --- |" * (len(head) + len(roles)))
    for run in results["runs"]:
        net = run["rows"] / max(run["wall_s"] - run["startup_s"], 1e-9)
        cells = [
            run["engine"],
            f"{run['rows']:,}",
            str(run["files"]),
            f"{run['wall_s']:.1f}",
            f"{run['rows_per_s']:,.0f}",
            f"{net:,.0f}",
            f"{sum(run['cpu_s'].values()) / run['rows'] * 1e6:.2f}",
            f"{run['load_before'][0]:.1f}",
        ]
        for role in roles:
            mib = run["peak_mib"].get(role)
            count = run["processes"].get(role, 0)
            cells.append("" if mib is None else f"{mib:,.0f} (×{count})")
        print("| " + " | ".join(cells) + " |")
    print("start-up (1,000 rows): " + ", ".join(
        f"{e} {s:.1f} s" for e, s in results["startup"].items()
    ))  # fmt: skip


if __name__ == "__main__":
    main()
