"""``run_study``: train every setting (or load it from the cache), then write the report.

Order of work: question 1 (the study's own protocol, then the candidates on
the study's split until one brings every seed to the loss bar), the depth,
latent and latent-L1 sweeps, question 6's network under the study's protocol,
and the baselines. All numbers go into one results dict; figures, tables and
the report are written from that dict, so a re-run that hits the cache
reproduces the same report.

The run loop is :class:`Runner`: one setting at a time here, or, with a run map
(:mod:`aescope.runmap`: threads of this process, or Dask tasks), question 1's
search one setting at a time (it stops at the first that meets the bar), then
every sweep setting and question 6's protocol run at once.
Each task reads and writes the same run cache, so the numbers are the same either
way; on a cluster ``out_dir`` must be on storage the workers share.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from aescope.data import Dataset
from aescope.errors import OutputError
from aescope.runmap import RunMap, ThreadMap
from aescope.study.assemble import assemble
from aescope.study.baselines import load_or_compute
from aescope.study.linear import pca_size
from aescope.study.progress import StudyProgress
from aescope.study.runs import (
    RunCache,
    RunPoint,
    StudyData,
    jsonable,
    prepare_data,
    protocol_data,
    run_key,
    run_point,
)
from aescope.study.sweeps import (
    LOSS_BAR,
    STUDY_PROTOCOL,
    StudyConfig,
    Sweep,
    protocol_point,
    q1_points,
    q6_protocol_point,
    sweeps,
)


@dataclass
class StudyOutcome:
    """What ``run_study`` hands back: the results dict and where the files are."""

    results: dict[str, Any]
    out_dir: Path
    data: StudyData
    cache: RunCache


def meets_bar(record: dict[str, Any], bar: float = LOSS_BAR) -> bool:
    return max(record["train_loss"], record["val_loss"]) <= bar


@dataclass
class Runner:
    """Runs one setting at a time (cache first) and remembers where reused results came from.

    A setting found in the cache was either trained earlier in this run under
    another name (depth 3 *is* latent 16: same network, same training) or in an
    earlier run of the study; the report says which.
    """

    config: StudyConfig
    cache: RunCache
    bar: StudyProgress
    map_runs: RunMap | None = None
    trained: list[str] = field(default_factory=list)
    shared: list[dict[str, str]] = field(default_factory=list)
    resumed: list[str] = field(default_factory=list)
    _first: dict[str, str] = field(default_factory=dict)

    def run(self, point: RunPoint, data: StudyData) -> list[dict[str, Any]]:
        """One setting: in this process (progress per epoch), or as one task of the run map."""
        name = _name(point)
        self.bar.start(name, work(point, data, len(self.config.seeds)))
        if self.map_runs is None or isinstance(self.map_runs, ThreadMap):
            records = run_point(
                point,
                self.config.seeds,
                data,
                self.cache,
                n_bootstrap=self.config.n_bootstrap,
                on_epoch=self.bar,
            )
        else:
            call = (point, data, self.config, self.cache, self._stop_check)
            t0 = time.perf_counter()
            ((_, records),) = list(self.map_runs(_setting, [call]))
            if not all(r.get("cached") for r in records):
                self.bar.trained_elsewhere(time.perf_counter() - t0)
        return self._done(name, records)

    def run_many(self, items: list[tuple[RunPoint, StudyData]]) -> list[list[dict[str, Any]]]:
        """Settings through the run map at once; their records back in the order given.

        A network two settings share (depth 3 is latent 16) is trained by its first
        setting and read from the cache by the second, in a later wave, as locally.
        """
        assert self.map_runs is not None
        first: dict[tuple[str, ...], int] = {}
        waves: tuple[list[int], list[int]] = ([], [])
        for i, (point, data) in enumerate(items):
            same = tuple(run_key(point, data, seed) for seed in self.config.seeds)
            waves[same in first].append(i)
            first.setdefault(same, i)
        done: dict[int, list[dict[str, Any]]] = {}
        for wave in waves:
            calls = [(*items[i], self.config, self.cache, self._stop_check) for i in wave]
            since = time.perf_counter()
            for j, records in self.map_runs(_setting, calls):
                point, data = items[wave[j]]
                self.bar.start(_name(point), work(point, data, len(self.config.seeds)))
                if not all(r.get("cached") for r in records):
                    # settings run side by side: the pace is the work finished per
                    # second since the previous one finished
                    now = time.perf_counter()
                    self.bar.trained_elsewhere(now - since)
                    since = now
                self.bar.done()
                done[wave[j]] = records
            for i in wave:  # in plan order, whatever order they finished in: the same report
                self._account(_name(items[i][0]), done[i])
        return [done[i] for i in range(len(items))]

    @property
    def _stop_check(self) -> Callable[..., None] | None:
        """The run map's per-epoch check that it is still wanted (a :class:`ThreadMap`'s)."""
        return getattr(self.map_runs, "check", None)

    def _done(self, name: str, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        self._account(name, records)
        self.bar.done()
        return records

    def _account(self, name: str, records: list[dict[str, Any]]) -> None:
        """Trained here, shared with an earlier setting of this run, or resumed from the cache."""
        owner = self._first.get(records[0]["key"])
        if not all(r.get("cached") for r in records):
            self.trained.append(name)
        elif owner is not None:
            self.shared.append({"setting": name, "same_as": owner})
        else:
            self.resumed.append(name)
        for r in records:
            self._first.setdefault(r["key"], name)

    def summary(self) -> dict[str, Any]:
        return {
            "trained": len(self.trained),
            "shared": self.shared,
            "resumed": len(self.resumed),
            "total": len(self.trained) + len(self.shared) + len(self.resumed),
        }


def _name(point: RunPoint) -> str:
    return f"{point.sweep}: {point.label}"


def how_settings_ran(map_runs: RunMap | None) -> str:
    """For the report: recorded training times add up only when settings ran in turn."""
    if map_runs is None:
        return "one at a time"
    if isinstance(map_runs, ThreadMap):
        return f"up to {map_runs.workers} at a time in threads of one process"
    return f"as tasks of {type(map_runs).__name__}"


def run_in_turn(
    runner: Runner,
    plan: list[Sweep],
    data: StudyData,
    q6: list[RunPoint],
    own: StudyData,
    timings: dict[str, float],
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The sweeps, then question 6's protocol run, one setting at a time, each timed."""
    sweep_records: dict[str, list[dict[str, Any]]] = {}
    for sweep in plan:
        t0 = time.perf_counter()
        sweep_records[sweep.name] = [r for p in sweep.points for r in runner.run(p, data)]
        timings[sweep.name] = time.perf_counter() - t0
    t0 = time.perf_counter()
    q6_records = [r for p in q6 for r in runner.run(p, own)]
    timings["q6_protocol"] = time.perf_counter() - t0
    return sweep_records, q6_records


def run_together(
    runner: Runner, plan: list[Sweep], data: StudyData, q6: list[RunPoint], own: StudyData
) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """The sweeps and question 6's protocol run as one batch of the run map."""
    items = [(p, data) for sweep in plan for p in sweep.points] + [(p, own) for p in q6]
    records = iter(runner.run_many(items))
    sweep_records = {s.name: [r for _ in s.points for r in next(records)] for s in plan}
    return sweep_records, [r for _ in q6 for r in next(records)]


def _setting(
    point: RunPoint,
    data: StudyData,
    config: StudyConfig,
    cache: RunCache,
    on_epoch: Callable[..., None] | None = None,
) -> list[dict[str, Any]]:
    """One setting on a worker: the same ``run_point`` as here, without a progress bar."""
    return run_point(
        point, config.seeds, data, cache, n_bootstrap=config.n_bootstrap, on_epoch=on_epoch
    )


def work(point: RunPoint, data: StudyData, seeds: int) -> float:
    """Upper bound of a setting's arithmetic (epochs × rows × weights × seeds), for time left."""
    return float(point.config.epochs * len(data.x_train) * point.arch.n_params * seeds)


def check_previous(out_dir: Path, fingerprint: str, config: StudyConfig, force: bool) -> None:
    """Refuse to replace a study of other data or another configuration, unless forced.

    The same data and configuration resume (the cache makes that cheap); anything
    else would silently swap the report in a folder someone may be reading.
    """
    try:
        previous = json.loads((out_dir / "results.json").read_text(encoding="utf-8"))
        old_config, old_data = previous["config"], previous["data"]
    except (OSError, ValueError, KeyError, TypeError):
        return
    new_config = json.loads(json.dumps(jsonable(config.to_dict())))
    if force or (old_data.get("fingerprint") == fingerprint and old_config == new_config):
        return
    if old_data.get("fingerprint") != fingerprint:
        what = f"other data ({old_data.get('dataset')})"
    else:
        keys = sorted(
            k
            for k in new_config.keys() | old_config.keys()
            if old_config.get(k) != new_config.get(k)
        )
        what = (
            "another configuration ("
            + ", ".join(
                f"{k} {old_config.get(k)} there, {new_config.get(k)} here" for k in keys[:3]
            )
            + (", …" if len(keys) > 3 else "")
            + ")"
        )
    raise OutputError(
        f"{out_dir} holds a study of {what}; choose another --out, or --force to replace it"
    )


def run_study(
    dataset: Dataset,
    out_dir: str | Path,
    config: StudyConfig = StudyConfig(),  # noqa: B008 - frozen dataclass
    *,
    progress: bool = True,
    console: Console | None = None,
    force: bool = False,
    map_runs: RunMap | None = None,
) -> StudyOutcome:
    """Run (or resume) the whole study on ``dataset`` and write every artefact to ``out_dir``.

    A folder holding a study of other data or another configuration is refused
    (:class:`OutputError`) unless ``force``. ``map_runs`` runs the settings elsewhere
    (see :class:`Runner`).
    """
    from aescope.study.report import write_outputs  # figures pull in matplotlib

    started = time.perf_counter()
    out_dir = Path(out_dir)
    check_previous(out_dir, dataset.fingerprint(), config, force)
    console = console or Console(stderr=True)
    cache = RunCache(out_dir / "cache")
    data = prepare_data(dataset, config.split_seed)
    own = protocol_data(data, STUDY_PROTOCOL["validation_split"])
    n = data.n_features
    q1 = q1_points(config, n)
    plan = sweeps(config, n)
    epochs = config.protocol_epochs
    protocol = [protocol_point(n, epochs), q6_protocol_point(n, epochs)] if config.protocol else []
    planned = [(p, own) for p in protocol[:1]] + [(p, data) for p in q1]
    planned += [(p, data) for s in plan for p in s.points] + [(p, own) for p in protocol[1:]]
    timings: dict[str, float] = {}
    with StudyProgress(
        [work(p, d, len(config.seeds)) for p, d in planned], console=console, enabled=progress
    ) as bar:
        runner = Runner(config, cache, bar, map_runs)
        t0 = time.perf_counter()
        protocol_records = runner.run(protocol[0], own) if protocol else []
        q1_records: list[dict[str, Any]] = []
        for i, point in enumerate(q1):
            records = runner.run(point, data)
            q1_records += records
            if all(meets_bar(r) for r in records):
                for skipped in q1[i + 1 :]:
                    bar.skip(work(skipped, data, len(config.seeds)))
                break
        timings["q1"] = time.perf_counter() - t0
        if map_runs is None:
            sweep_records, q6_protocol = run_in_turn(runner, plan, data, protocol[1:], own, timings)
        else:
            t0 = time.perf_counter()
            sweep_records, q6_protocol = run_together(runner, plan, data, protocol[1:], own)
            timings["sweeps_and_q6_protocol_together"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    sizes = {pca_size(p.arch, n) for p, _ in planned}
    baselines = load_or_compute(
        cache,
        data,
        sizes,
        detectors=config.baselines,
        n_bootstrap=config.n_bootstrap,
        seed=config.split_seed,
    )
    timings["baselines"] = time.perf_counter() - t0
    results = assemble(
        config,
        data,
        baselines,
        q1={"protocol": protocol_records, "runs": q1_records, "data": own.describe()},
        plan=plan,
        sweep_records=sweep_records,
        q6_protocol=q6_protocol,
    )
    results["timing"] = {
        "train_and_measure_seconds": timings,
        "settings": runner.summary(),
        "settings_ran": how_settings_ran(map_runs),
    }
    write_outputs(results, out_dir, data, cache, config, started=started)
    return StudyOutcome(results, out_dir, data, cache)
