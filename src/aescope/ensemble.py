"""The detector's score: an ensemble of autoencoders plus a nearest-neighbour term.

Why each piece (measured on 22 ADBench sets and credit cards, see
benchmarks/detection.md):

* **Several replicas.** Networks trained from different seeds make different
  mistakes; averaging them removes much of the seed-to-seed variance that a
  single autoencoder shows on small tables. The engine trains them together
  (vmapped seeds), so four cost about twice one on two cores.
* **Calibration on validation normals.** Every replica's row errors, and the
  neighbour distances, are put on one scale before they are combined:
  ``(log(v + floor) - median) / (q90 - median)`` over the validation normals.
  The log makes heavy-tailed errors additive; the median and the 90th
  percentile ignore the many exact zeros of tables with duplicate rows (a mean
  and a standard deviation of log-values do not).
* **A k-nearest-neighbour term.** Reconstruction error misses anomalies that
  sit inside the normal rows' range but in a region with few normal rows
  (clustered frauds, a small foreign class); distance to the k-th nearest
  normal row sees exactly those. The reference is a bounded, seeded subsample
  of the training rows so the model file and the scoring cost stay small.

The score is the sum of the two calibrated terms: "how far above a typical
validation normal", in units of the normals' upper spread, for each view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from aescope.engine import encode, reconstruct
from aescope.engine.params import Params
from aescope.errors import ConfigError
from aescope.model.spec import Architecture
from aescope.neighbors import kth_distance

NEIGHBOR_SPACES = ("input", "latent")
UPPER_QUANTILE = 0.9
FLOOR_SHARE = 1e-3


@dataclass(frozen=True)
class Calibration:
    """``(f(v) - center) / spread`` with ``f = log(v + floor)`` (or identity), fitted on normals."""

    center: float
    spread: float
    floor: float = 0.0
    log: bool = True

    @classmethod
    def fit(cls, values: np.ndarray, log: bool = True) -> Calibration:
        """Median and upper spread (q90 - median) of ``values`` (validation normals' scores)."""
        v = np.asarray(values, dtype=np.float64)
        floor = _floor(v) if log else 0.0
        t = np.log(v + floor) if log else v
        center, upper = (float(q) for q in np.quantile(t, [0.5, UPPER_QUANTILE]))
        spread = upper - center
        if not np.isfinite(spread) or spread <= 1e-12:  # a constant or tiny validation set
            spread = float(np.std(t)) if np.std(t) > 1e-12 else 1.0
        return cls(center=center, spread=spread, floor=floor, log=log)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64)
        t = np.log(np.maximum(v, 0.0) + self.floor) if self.log else v
        return (t - self.center) / self.spread

    def to_list(self) -> list[float]:
        return [self.center, self.spread, self.floor, float(self.log)]

    @classmethod
    def from_list(cls, values: Sequence[float]) -> Calibration:
        center, spread, floor, log = (float(v) for v in values)
        return cls(center=center, spread=spread, floor=floor, log=bool(log))


def _floor(v: np.ndarray) -> float:
    """A small positive offset for the log: 1/1000 of the median (or of a higher quantile).

    Exact zeros (a row identical to a reference row, a perfectly reconstructed
    row) would otherwise become -inf.
    """
    for q in (0.5, UPPER_QUANTILE, 1.0):
        value = float(np.quantile(v, q)) if len(v) else 0.0
        if value > 0:
            return FLOOR_SHARE * value
    return 1e-12


@dataclass
class ScoreParts:
    """What one pass over rows yields: the score, and what explains it."""

    score: np.ndarray
    feature_errors: np.ndarray  # mean over replicas of the per-feature errors
    reconstruction: np.ndarray  # calibrated reconstruction term
    neighbors: np.ndarray | None  # calibrated neighbour term (None without one)


@dataclass
class EnsembleScorer:
    """Everything a fitted detector needs to turn scaled rows into scores."""

    arch: Architecture
    replicas: list[Params]
    loss: str = "mse"
    k: int = 0
    space: str = "input"
    reference: np.ndarray | None = None
    replica_calibrations: list[Calibration] | None = None
    reconstruction_calibration: Calibration | None = None
    neighbor_calibration: Calibration | None = None

    def __post_init__(self) -> None:
        if self.space not in NEIGHBOR_SPACES:
            raise ConfigError(
                f"neighbor space must be one of {', '.join(NEIGHBOR_SPACES)}, got {self.space!r}"
            )

    @property
    def n_models(self) -> int:
        return len(self.replicas)

    def calibrate(self, x_val: np.ndarray) -> None:
        """Fit every calibration on validation normals (scaled rows)."""
        errors = [e.mean(axis=1, dtype=np.float64) for e in self._replica_errors(x_val)]
        self.replica_calibrations = [Calibration.fit(e) for e in errors]
        mean_z = np.mean([c(e) for c, e in zip(self.replica_calibrations, errors, strict=True)], 0)
        self.reconstruction_calibration = Calibration.fit(mean_z, log=False)
        if self.k:
            self.neighbor_calibration = Calibration.fit(self._distances(x_val))

    def parts(self, x: np.ndarray, self_rows: np.ndarray | None = None) -> ScoreParts:
        """Score, per-feature errors and both terms for scaled rows ``x``.

        ``self_rows`` marks rows that belong to the neighbour reference (training
        rows), whose own copy is skipped in the neighbour search.
        """
        if self.replica_calibrations is None or self.reconstruction_calibration is None:
            raise ConfigError("the scorer is not calibrated: call calibrate(x_val) first")
        n, d = x.shape
        features = np.zeros((n, d), dtype=np.float64)
        z = np.zeros(n, dtype=np.float64)
        for cal, errors in zip(self.replica_calibrations, self._replica_errors(x), strict=True):
            features += errors
            z += cal(errors.mean(axis=1, dtype=np.float64))
        features /= self.n_models
        recon = self.reconstruction_calibration(z / self.n_models)
        if not self.k:
            return ScoreParts(recon, features, recon, None)
        assert self.neighbor_calibration is not None
        near = self.neighbor_calibration(self._distances(x, self_rows))
        return ScoreParts(recon + near, features, recon, near)

    def _replica_errors(self, x: np.ndarray):
        """Per-replica elementwise errors, one replica at a time (memory: one n × d array)."""
        for params in self.replicas:
            diff = reconstruct(self.arch, params, x) - x
            yield np.abs(diff) if self.loss == "mae" else diff * diff

    def _distances(self, x: np.ndarray, self_rows: np.ndarray | None = None) -> np.ndarray:
        if self.reference is None:
            raise ConfigError("the neighbour term needs a reference set")
        if self.space == "input":
            return kth_distance(self.reference, x, self.k, self_rows=self_rows)
        # One neighbour search per replica in its own code space; log-distances averaged.
        logs = [
            np.log(
                kth_distance(
                    encode(self.arch, p, self.reference),
                    encode(self.arch, p, x),
                    self.k,
                    self_rows=self_rows,
                )
                + 1e-12
            )
            for p in self.replicas
        ]
        return np.exp(np.mean(logs, axis=0))

    # ------------------------------------------------------------------ files
    def arrays(self) -> dict[str, np.ndarray]:
        """Tensors for the model file: stacked replica weights, the reference rows."""
        out = {
            f"layer{i}.{name}": np.stack([np.asarray(p[i][name]) for p in self.replicas])
            for i, layer in enumerate(self.replicas[0])
            for name in layer
        }
        if self.reference is not None:
            out["reference"] = np.asarray(self.reference, dtype=np.float32)
        return out

    def meta(self) -> dict[str, Any]:
        """JSON metadata: sizes, the neighbour settings and every calibration."""
        assert self.replica_calibrations is not None and self.reconstruction_calibration
        return {
            "n_models": self.n_models,
            "loss": self.loss,
            "k": self.k,
            "space": self.space,
            "replica_calibrations": [c.to_list() for c in self.replica_calibrations],
            "reconstruction_calibration": self.reconstruction_calibration.to_list(),
            "neighbor_calibration": (
                self.neighbor_calibration.to_list() if self.neighbor_calibration else None
            ),
        }

    @classmethod
    def from_file(
        cls, arch: Architecture, replicas: list[Params], meta: dict[str, Any], reference: Any
    ) -> EnsembleScorer:
        scorer = cls(
            arch=arch,
            replicas=replicas,
            loss=str(meta["loss"]),
            k=int(meta["k"]),
            space=str(meta["space"]),
            reference=None if reference is None else np.asarray(reference, np.float32),
            replica_calibrations=[Calibration.from_list(c) for c in meta["replica_calibrations"]],
            reconstruction_calibration=Calibration.from_list(meta["reconstruction_calibration"]),
            neighbor_calibration=(
                Calibration.from_list(meta["neighbor_calibration"])
                if meta["neighbor_calibration"] is not None
                else None
            ),
        )
        if len(scorer.replica_calibrations or ()) != len(replicas):
            raise ConfigError("one calibration per replica is needed")
        return scorer
