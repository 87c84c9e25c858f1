"""The benchmark loop: data sets × seeds × detectors, timing fit and score, one record each.

The split and scaling are computed once per (data set, seed) and shared by all
detectors, which is what makes their numbers comparable. A detector that fails
on a data set yields a record with its error instead of stopping the run.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any

import numpy as np

from aescope.bench.detectors import DetectorSpec
from aescope.bench.protocol import Prepared, prepare, subsample
from aescope.bench.sources import Source
from aescope.errors import AescopeError
from aescope.metrics import average_precision, recall_at_fpr, roc_auc
from aescope.runmap import RunMap, local_map

FPR_BUDGET = 0.01
DIGITS = 6  # quality metrics are stored to 6 decimals
METRICS = ("auroc", "auprc", "recall_at_1pct_fpr", "fit_seconds", "score_seconds")

Record = dict[str, Any]
Key = tuple[str, str, int]  # (data set, detector, seed)


def run_one(spec: DetectorSpec, prep: Prepared) -> Record:
    """Fit ``spec`` on one prepared split and measure it on the test rows."""
    train_rows = subsample(np.arange(len(prep.x_train)), spec.max_train_rows, prep.seed)
    x_train = prep.x_train[train_rows]
    record: Record = {
        "detector": spec.name,
        "n_train": len(x_train),
        "n_val": len(prep.x_val),
        "n_test": len(prep.y_test),
        "n_test_anomalies": int(prep.y_test.sum()),
        "n_features": prep.x_train.shape[1],
        "error": "",
    }
    detector = spec.factory(prep.seed)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # LOF duplicates, PyOD chatter: not our findings
            t0 = time.perf_counter()
            detector.fit(x_train, prep.x_val)
            t1 = time.perf_counter()
            scores = np.asarray(detector.score(prep.x_test), dtype=np.float64)
            t2 = time.perf_counter()
        if scores.shape != prep.y_test.shape:
            raise AescopeError(
                f"{spec.name} returned {scores.shape} scores for {prep.y_test.shape}"
            )
        if not np.isfinite(scores).all():
            # Rank-based metrics cope with +inf (e.g. LOF on duplicates) but not NaN.
            scores = np.nan_to_num(scores, nan=np.inf)
    except Exception as exc:  # a broken competitor must not end a long run
        record["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return record | dict.fromkeys(METRICS, float("nan"))
    # Rounded so that a run resumed from results.csv ranks exactly like a fresh one:
    # differences below 1e-6 are float noise and should tie.
    record.update(
        auroc=round(roc_auc(prep.y_test, scores), DIGITS),
        auprc=round(average_precision(prep.y_test, scores), DIGITS),
        recall_at_1pct_fpr=round(recall_at_fpr(prep.y_test, scores, FPR_BUDGET), DIGITS),
        fit_seconds=t1 - t0,
        score_seconds=t2 - t1,
    )
    return record


def run_benchmark(
    sources: Sequence[Source],
    detectors: Sequence[DetectorSpec],
    seeds: Sequence[int],
    *,
    max_train_rows: int | None = None,
    skip: Collection[Key] = (),
    on_record: Callable[[Record], None] | None = None,
    map_runs: RunMap | None = None,
) -> list[Record]:
    """Run every detector on every source for every seed; records in run order.

    ``skip`` lists (data set, detector, seed) triples already measured (resuming
    an interrupted run); ``on_record`` sees each new record as soon as it exists.
    ``map_runs`` runs the fits elsewhere (:mod:`aescope.runmap`: Dask tasks); by
    default they run here, in order (:func:`~aescope.runmap.local_map`).
    """
    calls = _calls(sources, detectors, seeds, max_train_rows, set(skip))
    done: dict[int, Record] = {}
    for i, record in (map_runs or local_map)(_measured, calls):
        done[i] = record
        if on_record is not None:
            on_record(record)
    return [done[i] for i in sorted(done)]


def _todo(
    source: Source, detectors: Sequence[DetectorSpec], seeds: Sequence[int], skip: set[Key]
) -> list[tuple[int, DetectorSpec]]:
    return [
        (seed, spec)
        for seed in seeds
        for spec in detectors
        if (source.name, spec.name, seed) not in skip
    ]


def _measured(name: str, family: str, seed: int, spec: DetectorSpec, prep: Prepared) -> Record:
    record: Record = {"dataset": name, "family": family, "seed": seed}
    return record | run_one(spec, prep)


def _calls(
    sources: Sequence[Source],
    detectors: Sequence[DetectorSpec],
    seeds: Sequence[int],
    max_train_rows: int | None,
    skip: set[Key],
) -> Iterator[tuple[str, str, int, DetectorSpec, Prepared]]:
    """Every fit's arguments, prepared lazily: one data set in memory at a time.

    Each split (split, scaling) is prepared once and shared by the detectors of
    its seed, whether the fits run here or elsewhere: the quality numbers are
    the same either way.
    """
    for source in sources:
        todo = _todo(source, detectors, seeds, skip)
        if not todo:
            continue
        data = source.load()
        for seed in sorted({seed for seed, _ in todo}):
            prep = prepare(data, seed, max_train_rows=max_train_rows)
            for spec in (s for sd, s in todo if sd == seed):
                yield source.name, source.family, seed, spec, prep
        del data
