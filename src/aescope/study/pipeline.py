"""``run_study``: train every setting (or load it from the cache), then write the report.

Order of work: question 1's search (stops at the first training config whose
replicas reach the loss bar), then the depth, latent and latent-L1 sweeps. All
numbers go into one results dict; figures, tables and the report are written
from that dict, so a re-run that hits the cache reproduces the same report.
"""

from __future__ import annotations

import platform
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from rich.console import Console

from aescope import __version__
from aescope.data import Dataset
from aescope.runmap import RunMap
from aescope.study import answers as A
from aescope.study.progress import StudyProgress
from aescope.study.runs import RunCache, RunPoint, StudyData, prepare_data, run_key, run_point
from aescope.study.summary import METRICS, correlations, point_summary
from aescope.study.sweeps import (
    LOSS_BAR,
    STUDY_BAD_LATENT,
    STUDY_TABLE1_VAL_LOSS,
    StudyConfig,
    Sweep,
    q1_points,
    sweeps,
)

SWEEP_TEXT = {
    "depth": {
        "more_x": "Deeper encoders",
        "subject": "encoder depth",
        "name": "depth",
        "unit": "depths",
    },
    "latent": {
        "more_x": "Wider latent layers",
        "subject": "latent width",
        "name": "latent",
        "unit": "latent widths",
    },
    "latent_l1": {
        "more_x": "Stronger latent L1 penalties",
        "subject": "latent L1",
        "name": "L1",
        "unit": "L1 strengths",
    },
}


@dataclass
class StudyOutcome:
    """What ``run_study`` hands back: the results dict and where the files are."""

    results: dict[str, Any]
    out_dir: Path
    data: StudyData
    cache: RunCache


def versions() -> dict[str, str]:
    out = {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "aescope": __version__,
    }
    for name in ("jax", "jaxlib", "optax", "numpy", "pandas", "scikit-learn", "matplotlib"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def meets_bar(record: dict[str, Any], bar: float = LOSS_BAR) -> bool:
    return max(record["train_loss"], record["val_loss"]) <= bar


def run_study(
    dataset: Dataset,
    out_dir: str | Path,
    config: StudyConfig = StudyConfig(),  # noqa: B008 - frozen dataclass
    *,
    progress: bool = True,
    console: Console | None = None,
    map_runs: RunMap | None = None,
) -> StudyOutcome:
    """Run (or resume) the whole study on ``dataset`` and write every artefact to ``out_dir``.

    ``map_runs`` (:mod:`aescope.runmap`) runs the settings elsewhere, e.g. as Dask
    tasks: question 1's search one setting at a time (it stops at the first that
    meets the bar), the sweeps all at once. Each task reads and writes the same
    run cache, so ``out_dir`` must be on storage the workers share.
    """
    from aescope.study.report import write_outputs  # figures pull in matplotlib

    started = time.perf_counter()
    out_dir = Path(out_dir)
    console = console or Console(stderr=True)
    cache = RunCache(out_dir / "cache")
    data = prepare_data(dataset, config.split_seed)
    q1 = q1_points(config, data.n_features)
    plan = sweeps(config, data.n_features)
    total = len(q1) + sum(len(s.points) for s in plan)
    timings: dict[str, float] = {}
    with StudyProgress(total, console=console, enabled=progress) as bar:
        q1_records: list[dict[str, Any]] = []
        t0 = time.perf_counter()
        run = _run if map_runs is None else _mapped_run(map_runs)
        for i, point in enumerate(q1):
            q1_records += run(point, config, data, cache, bar)
            if any(meets_bar(r) for r in q1_records):
                for _ in q1[i + 1 :]:
                    bar.skip()
                break
        timings["q1"] = time.perf_counter() - t0
        sweep_records: dict[str, list[dict[str, Any]]] = {}
        if map_runs is not None:
            t0 = time.perf_counter()
            sweep_records = _mapped_sweeps(map_runs, plan, config, data, cache, bar)
            timings["sweeps_together"] = time.perf_counter() - t0
        for sweep in plan if map_runs is None else ():
            t0 = time.perf_counter()
            sweep_records[sweep.name] = [
                r for point in sweep.points for r in _run(point, config, data, cache, bar)
            ]
            timings[sweep.name] = time.perf_counter() - t0
        cached, ran = bar.cached, bar.finished
    results = assemble(config, data, q1_records, plan, sweep_records)
    results["timing"] = {
        "train_and_measure_seconds": timings,
        "settings_from_cache": cached,
        "settings_total": ran,
    }
    write_outputs(results, out_dir, data, cache, config, started=started)
    return StudyOutcome(results, out_dir, data, cache)


def _run(
    point: RunPoint, config: StudyConfig, data: StudyData, cache: RunCache, bar: StudyProgress
) -> list[dict[str, Any]]:
    bar.start(f"{point.sweep}: {point.label}")
    records = run_point(
        point, config.seeds, data, cache, n_bootstrap=config.n_bootstrap, on_epoch=bar
    )
    bar.done(cached=all(r.get("cached") for r in records))
    return records


def _settings(point: RunPoint, config: StudyConfig, data: StudyData, cache: RunCache):
    """One setting on a worker: the same ``run_point`` as here, without a progress bar."""
    return run_point(point, config.seeds, data, cache, n_bootstrap=config.n_bootstrap)


def _mapped_run(map_runs: RunMap):
    def run(point, config, data, cache, bar: StudyProgress) -> list[dict[str, Any]]:
        bar.start(f"{point.sweep}: {point.label}")
        ((_, records),) = list(map_runs(_settings, [(point, config, data, cache)]))
        bar.done(cached=all(r.get("cached") for r in records))
        return records

    return run


def _mapped_sweeps(
    map_runs: RunMap,
    plan: list[Sweep],
    config: StudyConfig,
    data: StudyData,
    cache: RunCache,
    bar: StudyProgress,
) -> dict[str, list[dict[str, Any]]]:
    """Every sweep setting as one call of ``map_runs``; records put back in plan order.

    A network that two sweeps share (depth 3 is latent 16) is trained by its first
    setting and read from the cache by the second, in a later wave, as locally.
    """
    points = [point for sweep in plan for point in sweep.points]
    first: dict[tuple[str, ...], int] = {}
    waves: tuple[list[int], list[int]] = ([], [])
    for i, point in enumerate(points):
        same = tuple(run_key(point, data, seed) for seed in config.seeds)
        waves[same in first].append(i)
        first.setdefault(same, i)
    done: dict[int, list[dict[str, Any]]] = {}
    for wave in waves:
        calls = [(points[i], config, data, cache) for i in wave]
        for j, records in map_runs(_settings, calls):
            bar.start(f"{points[wave[j]].sweep}: {points[wave[j]].label}")
            bar.done(cached=all(r.get("cached") for r in records))
            done[wave[j]] = records
    out: dict[str, list[dict[str, Any]]] = {}
    position = iter(range(len(points)))
    for sweep in plan:
        out[sweep.name] = [r for _ in sweep.points for r in done[next(position)]]
    return out


def assemble(
    config: StudyConfig,
    data: StudyData,
    q1_records: list[dict[str, Any]],
    plan: list[Sweep],
    sweep_records: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """All numbers, summaries, effect sizes and answer texts in one JSON-ready dict."""
    summaries = {}
    for sweep in plan:
        records = sweep_records[sweep.name]
        summaries[sweep.name] = {
            "parameter": sweep.parameter,
            "points": point_summary(records),
            "correlations": correlations(records, seed=config.split_seed),
        }
    answers: dict[str, Any] = {"q1": A.answer_q1(q1_records, LOSS_BAR)}
    for q_loss, q_sep, name in (("q2", "q3", "depth"), ("q4", "q5", "latent")):
        if name not in summaries:
            continue
        s = summaries[name]
        budget = f"at most {config.epochs} epochs, early-stopping patience {config.patience}"
        answers[q_loss] = {
            "text": A.answer_loss(s["points"], s["correlations"], **SWEEP_TEXT[name], budget=budget)
        }
        answers[q_sep] = {
            "text": A.answer_separation(s["points"], s["correlations"], **SWEEP_TEXT[name])
        }
    if "latent" in summaries:
        table, text = A.answer_q4_table(summaries["latent"]["points"], STUDY_TABLE1_VAL_LOSS)
        answers["q4"]["study_table"] = table
        answers["q4"]["text"] += " " + text
    if "latent_l1" in summaries:
        s = summaries["latent_l1"]
        answers["q6"] = {"text": A.answer_q6(s["points"], s["correlations"], STUDY_BAD_LATENT)}
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "versions": versions(),
        "config": config.to_dict(),
        "data": data.describe(),
        "metrics": {
            k: {"label": m.label, "higher_is_better": m.higher_is_better}
            for k, m in METRICS.items()
        },
        "study_reference": {
            "table1_val_loss": STUDY_TABLE1_VAL_LOSS,
            "bad_latent": STUDY_BAD_LATENT,
        },
        "loss_bar": LOSS_BAR,
        "answers": answers,
        "q1": {"runs": q1_records},
        "sweeps": summaries,
        "runs": {name: records for name, records in sweep_records.items()},
    }
