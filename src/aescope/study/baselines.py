"""What every answer is measured against: no model, the linear autoencoder, the benchmark.

An autoencoder's reconstruction error separates fraud well on credit cards,
but so does a score with no model at all: the mean squared standardised
feature of a row, which is exactly the error of a network that outputs the
training mean (a collapsed autoencoder). A claim about an autoencoder means
something only beside that score, beside PCA with as many components as the
network's narrowest layer (the best *linear* autoencoder of that size), and
beside the best classic detector of ``aescope bench`` on the same split.

Baselines depend on the data and split only, so they are computed once per
study and kept in the run cache (``baselines-<key>.json``).
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np

from aescope._atomic import atomic_open
from aescope.bench.detectors import REGISTRY, DetectorSpec, available
from aescope.bench.protocol import subsample
from aescope.metrics import evaluate
from aescope.study.linear import LinearAE
from aescope.study.runs import (
    DETECTION_KEYS,
    THRESHOLD_FPR,
    RunCache,
    StudyData,
    canonical_json,
    data_identity,
    jsonable,
    reconstruction_numbers,
)
from aescope.study.separation import latent_separation
from aescope.thresholds import TargetFPR

BASELINE_VERSION = 1
"""Bumped when a baseline's definition changes, so cached ones are recomputed."""

NO_MODEL = "no_model"


def pca_name(k: int) -> str:
    return f"pca_{k}"


OWN_BASELINES = ("pca", "norm")
"""Bench detectors the study computes its own way: PCA at the network's size, the no-model score."""


def bench_specs(names: Iterable[str] | None = None) -> list[DetectorSpec]:
    """The benchmark's classic detectors that run here (PyOD's only with the bench extra)."""
    chosen = list(REGISTRY) if names is None else list(names)
    return [
        REGISTRY[n]
        for n in chosen
        if n in REGISTRY
        and REGISTRY[n].family == "classic"
        and n not in OWN_BASELINES
        and available(REGISTRY[n])
    ]


def measure_scores(
    data: StudyData,
    test: np.ndarray,
    *,
    val: np.ndarray | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Detection numbers of one score on the study's test set (and its natural view).

    With validation scores, the threshold flags 1 % of validation normals, as for
    the autoencoders; without, threshold-based numbers are left out.
    """
    y = data.y_test
    threshold = None if val is None else TargetFPR(THRESHOLD_FPR).fit(val)
    detection = evaluate(y, test, threshold=threshold, n_bootstrap=n_bootstrap, seed=seed)
    nat = data.natural_rows
    natural = evaluate(y[nat], test[nat], threshold=threshold, n_bootstrap=n_bootstrap, seed=seed)
    return {
        "threshold": threshold,
        "detection": {k: detection.get(k) for k in DETECTION_KEYS},
        "natural": {k: natural.get(k) for k in DETECTION_KEYS},
    }


def reconstruction_record(
    data: StudyData, recon: dict[str, np.ndarray], n_bootstrap: int, seed: int
) -> dict[str, Any]:
    """Losses, the study's accuracy and detection for reconstructions of train/val/test."""
    errors, numbers = reconstruction_numbers(data, recon)
    return {
        **numbers,
        **measure_scores(
            data, errors["test"], val=errors["val"], n_bootstrap=n_bootstrap, seed=seed
        ),
    }


def compute_baselines(
    data: StudyData,
    pca_sizes: Iterable[int],
    *,
    detectors: Iterable[str] | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """Every baseline's record, keyed ``no_model``, ``pca_<k>`` and the bench detectors' names."""
    out: dict[str, dict[str, Any]] = {}
    zeros = {
        part: np.zeros_like(x)
        for part, x in (("train", data.x_train), ("val", data.x_val), ("test", data.x_test))
    }
    out[NO_MODEL] = {
        "label": "no model (mean squared standardised feature)",
        "kind": "no_model",
        **reconstruction_record(data, zeros, n_bootstrap, seed),
        # The latent measures on the input itself: what an encoder must beat.
        "latent": latent_separation(data.x_test, data.y_test, seed=seed),
    }
    linear: LinearAE = data.linear
    for k in sorted(set(pca_sizes)):
        recon = {
            part: linear.reconstruct(x, k)
            for part, x in (("train", data.x_train), ("val", data.x_val), ("test", data.x_test))
        }
        out[pca_name(k)] = {
            "label": f"PCA, {k} components (linear AE)",
            "kind": "pca",
            "components": k,
            **reconstruction_record(data, recon, n_bootstrap, seed),
            "latent": latent_separation(linear.encode(data.x_test, k), data.y_test, seed=seed),
        }
    for spec in bench_specs(detectors):
        out[spec.name] = bench_record(spec, data, n_bootstrap, seed)
    return out


def bench_record(spec: DetectorSpec, data: StudyData, n_bootstrap: int, seed: int) -> dict:
    """One ``aescope bench`` detector fitted on the study's training rows (its row cap applies)."""
    rows = subsample(np.arange(len(data.x_train)), spec.max_train_rows, seed)
    detector = spec.factory(seed)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LOF duplicates and the like: not findings
        detector.fit(data.x_train[rows], data.x_val)
        scores = np.asarray(detector.score(data.x_test), dtype=np.float64)
    scores = np.nan_to_num(scores, nan=np.inf)
    return {
        "label": spec.label,
        "kind": "bench",
        "note": spec.note,
        "train_rows": int(rows.size),
        "seconds": time.perf_counter() - t0,
        **measure_scores(data, scores, n_bootstrap=n_bootstrap, seed=seed),
    }


def best_bench(baselines: dict[str, dict[str, Any]]) -> str | None:
    """Name of the bench detector with the highest test AUPRC (chosen on test: optimistic)."""
    bench = [k for k, b in baselines.items() if b.get("kind") == "bench"]
    return max(bench, key=lambda k: baselines[k]["detection"]["auprc"], default=None)


def load_or_compute(
    cache: RunCache,
    data: StudyData,
    pca_sizes: Iterable[int],
    *,
    detectors: Iterable[str] | None = None,
    n_bootstrap: int = 200,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """The baselines from the cache, or computed and cached (one file per data and settings)."""
    sizes = sorted(set(pca_sizes))
    names = [s.name for s in bench_specs(detectors)]
    identity = {
        **data_identity(data),
        "pca": sizes,
        "bench": names,
        "n_bootstrap": n_bootstrap,
        "seed": seed,
        "version": BASELINE_VERSION,
    }
    key = hashlib.sha256(canonical_json(identity).encode()).hexdigest()
    path = cache.folder / f"baselines-{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    out = compute_baselines(data, sizes, detectors=names, n_bootstrap=n_bootstrap, seed=seed)
    with atomic_open(path) as handle:
        json.dump(jsonable(out), handle, indent=1)
    return out
