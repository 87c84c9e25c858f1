"""The detectors of the benchmark behind one tiny interface: ``fit(x_train, x_val)``, ``score(x)``.

Every detector receives the same scaled float32 matrices from
:mod:`aescope.bench.protocol` and returns scores where *higher means more
anomalous* (scikit-learn's ``score_samples`` is negated). Competitors run at
their libraries' defaults, because the question the benchmark answers is what
a user gets without tuning. The quadratic ones (LOF, OCSVM) and PyOD's slow
per-row training loop get a documented cap on training rows instead.

PyOD detectors are optional (the ``bench`` extra): :func:`available` says
whether a detector's libraries import, and the CLI and tests skip the rest.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from aescope.errors import AescopeError, ConfigError


class Detector(Protocol):
    """What the runner needs: train on normal rows, then score any rows."""

    def fit(self, x_train: np.ndarray, x_val: np.ndarray) -> None: ...

    def score(self, x: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class DetectorSpec:
    """A registered detector: how to build it for a seed, and what it needs."""

    name: str
    label: str
    factory: Callable[[int], Detector]
    family: str  # "aescope", "classic" or "deep"
    requires: tuple[str, ...] = ()
    max_train_rows: int | None = None
    note: str = ""


# --------------------------------------------------------------------------- aescope


class AescopeAE:
    """aescope's :class:`~aescope.detector.AutoencoderDetector` on pre-scaled input.

    ``options`` are detector parameters on top of its defaults (``{}``: the
    default detector, exactly what a user gets). Everything else, network and
    training schedule included, is the detector's ``"auto"`` sizing.
    """

    def __init__(self, seed: int = 0, **options: object) -> None:
        self.seed = seed
        self.options = options

    def fit(self, x_train: np.ndarray, x_val: np.ndarray) -> None:
        from aescope.detector import AutoencoderDetector

        self.model = AutoencoderDetector(
            preprocessing=None,  # the protocol has scaled already
            random_state=self.seed,
            **self.options,
        )
        self.model.fit(x_train, validation_data=x_val)

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.model.score_samples(x)


# --------------------------------------------------------------------------- classic


class PCAReconstruction:
    """Squared reconstruction error from the principal components that hold 95 % variance.

    At most ``d - 1`` components are kept: with all of them every row would be
    reconstructed exactly and every score would be zero.
    """

    def __init__(self, variance: float = 0.95, seed: int = 0) -> None:
        self.variance = variance
        self.seed = seed

    def fit(self, x_train: np.ndarray, x_val: np.ndarray) -> None:
        from sklearn.decomposition import PCA

        full = PCA(svd_solver="full").fit(x_train)
        kept = int(np.searchsorted(np.cumsum(full.explained_variance_ratio_), self.variance) + 1)
        self.n_components_ = max(1, min(kept, x_train.shape[1] - 1))
        self.model = PCA(n_components=self.n_components_, svd_solver="full").fit(x_train)

    def score(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        recon = self.model.inverse_transform(self.model.transform(x))
        return np.sum((x - recon) ** 2, axis=1)


class LibraryDetector:
    """A scikit-learn or PyOD detector, its scores turned to "higher = more anomalous".

    scikit-learn's ``score_samples`` is *lower* for outliers (``sign=-1``); PyOD's
    ``decision_function`` is already higher for outliers (``sign=+1``).
    """

    def __init__(self, make: Callable[[], object], method: str, sign: float) -> None:
        self.make, self.method, self.sign = make, method, sign

    def fit(self, x_train: np.ndarray, x_val: np.ndarray) -> None:
        self.model = self.make()
        self.model.fit(x_train)

    def score(self, x: np.ndarray) -> np.ndarray:
        return self.sign * np.asarray(getattr(self.model, self.method)(x), dtype=np.float64)


def _sklearn(make: Callable[[], object]) -> Detector:
    return LibraryDetector(make, "score_samples", -1.0)


def _pyod(make: Callable[[], object]) -> Detector:
    return LibraryDetector(make, "decision_function", 1.0)


def _iforest(seed: int) -> Detector:
    from sklearn.ensemble import IsolationForest

    return _sklearn(lambda: IsolationForest(random_state=seed))


def _lof(seed: int) -> Detector:
    from sklearn.neighbors import LocalOutlierFactor

    return _sklearn(lambda: LocalOutlierFactor(novelty=True))


def _ocsvm(seed: int) -> Detector:
    from sklearn.svm import OneClassSVM

    return _sklearn(lambda: OneClassSVM())


class KNNDistance:
    """Distance to the ``k``-th nearest training row (scikit-learn ``NearestNeighbors``).

    The plain "largest" kNN detector: every training row is a reference, the
    score of a row is its distance to the ``k``-th closest of them. Queries run
    in batches of ``batch_rows`` so that the brute-force search scikit-learn
    picks for wide tables never holds a (test rows × training rows) matrix.
    """

    def __init__(self, k: int = 5, batch_rows: int = 4096) -> None:
        self.k, self.batch_rows = k, batch_rows

    def fit(self, x_train: np.ndarray, x_val: np.ndarray) -> None:
        from sklearn.neighbors import NearestNeighbors

        self.model = NearestNeighbors(n_neighbors=min(self.k, len(x_train))).fit(x_train)

    def score(self, x: np.ndarray) -> np.ndarray:
        parts = [
            self.model.kneighbors(x[i : i + self.batch_rows])[0][:, -1]
            for i in range(0, len(x), self.batch_rows)
        ]
        return np.concatenate(parts).astype(np.float64) if parts else np.zeros(0)


class SquaredNorm:
    """The no-model baseline: mean squared standardised feature of a row.

    The protocol has standardised every column on the training rows, so this
    is how many standard deviations from the training mean a row sits, on
    average over its features. Any detector that does not beat it has learnt
    nothing about the normal rows' structure.
    """

    def fit(self, x_train: np.ndarray, x_val: np.ndarray) -> None:
        return None

    def score(self, x: np.ndarray) -> np.ndarray:
        return np.mean(np.square(x, dtype=np.float64), axis=1)


# --------------------------------------------------------------------------- PyOD


def _pyod_ae(seed: int) -> Detector:
    def make() -> object:
        import torch
        from pyod.models.auto_encoder import AutoEncoder

        # Two torch threads next to JAX's pool ran 8x slower per step on 2 cores.
        torch.set_num_threads(1)
        return AutoEncoder(random_state=seed, verbose=0)

    return _pyod(make)


def _ecod(seed: int) -> Detector:
    def make() -> object:
        from pyod.models.ecod import ECOD

        return ECOD()

    return _pyod(make)


# --------------------------------------------------------------------------- registry

LOF_MAX_TRAIN_ROWS = 10_000
OCSVM_MAX_TRAIN_ROWS = 5_000
PYOD_AE_MAX_TRAIN_ROWS = 10_000

REGISTRY: dict[str, DetectorSpec] = {
    spec.name: spec
    for spec in (
        DetectorSpec(
            "aescope-auto",
            "aescope (default)",
            lambda seed: AescopeAE(seed),
            "aescope",
            note="AutoencoderDetector defaults: 4 denoising autoencoders (auto widths and "
            "schedule; input noise 0.1 × each feature's std) trained together, per-feature "
            "errors scaled by their val-normal means and "
            "averaged, z-scored on val normals, plus 0.5 × the z-scored mean distance to the "
            "5 nearest of 4,096 training rows, each feature divided by its typical "
            "reconstruction error on val normals",
        ),
        DetectorSpec(
            "aescope-single",
            "aescope AE (one model)",
            lambda seed: AescopeAE(seed, n_models=1, neighbors=0, input_noise=0.0),
            "aescope",
            note="one plain autoencoder, no neighbour term (n_models=1, neighbors=0, "
            "input_noise=0): the default before ensembles (same network and schedule; "
            "errors scaled per feature)",
        ),
        DetectorSpec(
            "pca",
            "PCA reconstruction",
            lambda seed: PCAReconstruction(seed=seed),
            "classic",
            note="components holding 95 % of variance (at most d - 1)",
        ),
        DetectorSpec(
            "iforest",
            "Isolation Forest",
            _iforest,
            "classic",
            note="scikit-learn defaults (100 trees, 256 rows each)",
        ),
        DetectorSpec(
            "lof",
            "LOF (novelty)",
            _lof,
            "classic",
            max_train_rows=LOF_MAX_TRAIN_ROWS,
            note="scikit-learn defaults, novelty=True (20 neighbours)",
        ),
        DetectorSpec(
            "ocsvm",
            "One-Class SVM",
            _ocsvm,
            "classic",
            max_train_rows=OCSVM_MAX_TRAIN_ROWS,
            note="scikit-learn defaults (RBF, gamma='scale', nu=0.5)",
        ),
        DetectorSpec(
            "knn",
            "kNN (k = 5)",
            lambda seed: KNNDistance(),
            "classic",
            note="distance to the 5th nearest training row (scikit-learn NearestNeighbors, "
            "algorithm='auto'), queries in batches of 4,096 rows",
        ),
        DetectorSpec(
            "norm",
            "squared norm (no model)",
            lambda seed: SquaredNorm(),
            "classic",
            note="mean squared standardised feature: the no-model baseline",
        ),
        DetectorSpec(
            "pyod-ae",
            "PyOD AutoEncoder",
            _pyod_ae,
            "deep",
            requires=("pyod", "torch"),
            max_train_rows=PYOD_AE_MAX_TRAIN_ROWS,
            note="PyOD defaults (64-32, batch 32, 10 epochs, batch norm, dropout 0.2); 1 thread",
        ),
        DetectorSpec(
            "ecod",
            "ECOD",
            _ecod,
            "classic",
            requires=("pyod",),
            note="PyOD defaults",
        ),
    )
}


def available(spec: DetectorSpec) -> bool:
    """Whether every library ``spec`` needs can be imported here."""
    return all(importlib.util.find_spec(module) is not None for module in spec.requires)


def select_detectors(names: Sequence[str] | None = None) -> list[DetectorSpec]:
    """Registered detectors by name (all available ones when ``names`` is None).

    Naming a detector whose libraries are missing is an error that says which
    extra to install; leaving ``names`` out silently skips it.
    """
    if names is None:
        return [spec for spec in REGISTRY.values() if available(spec)]
    unknown = [name for name in names if name not in REGISTRY]
    if unknown:
        raise ConfigError(
            f"unknown detector(s) {', '.join(unknown)}; available: {', '.join(REGISTRY)}"
        )
    chosen = [REGISTRY[name] for name in names]
    missing = [spec for spec in chosen if not available(spec)]
    if missing:
        needs = sorted({module for spec in missing for module in spec.requires})
        raise AescopeError(
            f"detector(s) {', '.join(s.name for s in missing)} need {', '.join(needs)}: "
            "pip install 'aescope[bench]'"
        )
    return chosen
