"""The detector's score: an ensemble of autoencoders plus a nearest-neighbour term.

Why each piece (measured on 22 ADBench sets and credit cards, see the
ablation in benchmarks/detection.md):

* **Several replicas.** Networks trained from different seeds make different
  mistakes; averaging them removes much of the seed-to-seed variance that a
  single autoencoder shows. The engine trains them together (vmapped seeds),
  so four cost about twice one on two cores.
* **Per-feature error scales.** Each replica's squared (or absolute) error on
  a feature is divided by its mean on the validation normals, so a feature the
  network always reconstructs poorly does not drown one it reconstructs well:
  an error counts by how unusual it is *for that feature*. The explanation
  (:attr:`ScoreParts.feature_errors`) is in the same units.
* **A k-nearest-neighbour term.** Reconstruction error misses anomalies that
  sit inside the normal rows' range but where there are few normal rows
  (clustered frauds, a small foreign class); the mean distance to the k
  nearest normal rows sees exactly those. The reference is a bounded, seeded
  subsample of the training rows, so the model file and the scoring cost stay
  bounded whatever the table's length.
* **Distances in the same units as the errors.** Before the search every
  feature is divided by its typical reconstruction error on the validation
  normals (:attr:`EnsembleScorer.neighbor_scale`). A feature the autoencoders
  predict well from the others is one where normal rows are tightly
  constrained, so a step along it counts more; a feature they cannot predict
  (noise-like, such as a time stamp) counts less. It is the per-feature scaling
  of the reconstruction term applied to the neighbour term, one metric for
  both (on credit cards the neighbour term alone went from 0.666 to 0.746
  AUPRC; see benchmarks/detection.md).
* **Calibration on validation normals.** Both terms are z-scored with the mean
  and standard deviation of the validation normals' values before they are
  added, so neither dominates by its units alone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from aescope.engine import reconstruction_errors
from aescope.engine.params import Params
from aescope.errors import ConfigError
from aescope.model.spec import Architecture
from aescope.neighbors import mean_distance

TINY = 1e-12


def _nan_to_inf(values: np.ndarray) -> np.ndarray:
    """Distances between huge rows can come out NaN (inf - inf); such a row is extreme."""
    return np.where(np.isnan(values), np.inf, values)


@dataclass(frozen=True)
class Calibration:
    """``(v - center) / spread``: a z-score whose statistics come from validation normals."""

    center: float = 0.0
    spread: float = 1.0

    @classmethod
    def fit(cls, values: np.ndarray) -> Calibration:
        """Mean and standard deviation of ``values`` (spread 1 when they are all equal)."""
        v = np.asarray(values, dtype=np.float64)
        spread = float(v.std()) if len(v) > 1 else 0.0
        return cls(center=float(v.mean()), spread=spread if spread > TINY else 1.0)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=np.float64) - self.center) / self.spread

    def to_list(self) -> list[float]:
        return [self.center, self.spread]

    @classmethod
    def from_list(cls, values: Any) -> Calibration:
        center, spread = (float(v) for v in values)
        return cls(center=center, spread=spread)


@dataclass
class ScoreParts:
    """What one pass over rows yields: the score, its two terms and the explanation."""

    score: np.ndarray
    feature_errors: np.ndarray  # per feature, in units of its mean validation error
    reconstruction: np.ndarray  # calibrated reconstruction term
    neighbors: np.ndarray | None  # calibrated neighbour term (None without one)


@dataclass
class EnsembleScorer:
    """Everything a fitted detector needs to turn scaled rows into scores.

    ``feature_scales`` has one row per replica (its mean error per feature on
    the validation normals); ``k = 0`` leaves the neighbour term out.
    ``neighbor_scale`` (one divisor per feature, float32) is applied to the
    reference and the queries before the neighbour search; ``None`` (model files
    from before it existed) searches the scaled input rows as they are.
    """

    arch: Architecture
    replicas: list[Params]
    loss: str = "mse"
    k: int = 0
    neighbor_weight: float = 1.0
    reference: np.ndarray | None = None
    feature_scales: np.ndarray | None = None
    reconstruction_calibration: Calibration | None = None
    neighbor_calibration: Calibration | None = None
    neighbor_scale: np.ndarray | None = None

    @property
    def n_models(self) -> int:
        return len(self.replicas)

    def calibrate(self, x_val: np.ndarray) -> None:
        """Fit the feature scales and both calibrations on validation normals (scaled rows)."""
        scales = np.stack([e.mean(axis=0, dtype=np.float64) for e in self._replica_errors(x_val)])
        self.feature_scales = floored_scales(scales)
        self.reconstruction_calibration = Calibration.fit(self._feature_errors(x_val).mean(1))
        if self.k:
            self.neighbor_scale = error_spread(self.feature_scales, self.loss)
            self.neighbor_calibration = Calibration.fit(self._distances(x_val))

    def parts(self, x: np.ndarray, self_rows: np.ndarray | None = None) -> ScoreParts:
        """Score, per-feature errors and both terms for scaled rows ``x``.

        ``self_rows`` marks rows that belong to the neighbour reference (training
        rows), whose own copy is skipped in the neighbour search.
        """
        if self.feature_scales is None or self.reconstruction_calibration is None:
            raise ConfigError("the scorer is not calibrated: call calibrate(x_val) first")
        features = self._feature_errors(x)
        recon = self.reconstruction_calibration(features.mean(axis=1))
        if not self.k:
            return ScoreParts(recon, features, recon, None)
        assert self.neighbor_calibration is not None
        with np.errstate(over="ignore", invalid="ignore"):
            near = _nan_to_inf(self.neighbor_calibration(self._distances(x, self_rows)))
            score = _nan_to_inf(recon + self.neighbor_weight * near)
        return ScoreParts(score, features, recon, near)

    def _feature_errors(self, x: np.ndarray) -> np.ndarray:
        """Mean over replicas of each replica's errors divided by its feature scales."""
        assert self.feature_scales is not None
        replicas = zip(self.feature_scales, self._replica_errors(x), strict=True)
        scale, errors = next(replicas)
        total = errors / scale  # float64; no zeros to add to: one pass fewer per replica
        for scale, errors in replicas:
            total += errors / scale
        if self.n_models > 1:
            total /= self.n_models
        return total

    def _replica_errors(self, x: np.ndarray) -> Iterator[np.ndarray]:
        """Per-replica elementwise errors, one replica at a time (memory: one n × d array).

        A row so extreme that its error overflows float32 is as anomalous as can be: +inf,
        never NaN (which compares below every threshold and passes as normal)."""
        for params in self.replicas:
            yield reconstruction_errors(self.arch, params, x, self.loss)

    def _distances(self, x: np.ndarray, self_rows: np.ndarray | None = None) -> np.ndarray:
        if self.reference is None:
            raise ConfigError("the neighbour term needs a reference set")
        reference = self.reference
        if self.neighbor_scale is not None:
            reference = in_error_units(reference, self.neighbor_scale)
            x = in_error_units(x, self.neighbor_scale)
        return mean_distance(reference, x, self.k, self_rows=self_rows)

    # ------------------------------------------------------------------ files
    def arrays(self) -> dict[str, np.ndarray]:
        """Tensors for the model file: stacked replica weights, scales, reference rows."""
        assert self.feature_scales is not None
        out = {
            f"layer{i}.{name}": np.stack([np.asarray(p[i][name]) for p in self.replicas])
            for i, layer in enumerate(self.replicas[0])
            for name in layer
        }
        out["feature_scales"] = np.asarray(self.feature_scales, dtype=np.float64)
        if self.reference is not None:
            out["reference"] = np.asarray(self.reference, dtype=np.float32)
        if self.neighbor_scale is not None:
            out["neighbor_scale"] = np.asarray(self.neighbor_scale, dtype=np.float32)
        return out

    def meta(self) -> dict[str, Any]:
        """JSON metadata: sizes, the neighbour settings and both calibrations."""
        assert self.reconstruction_calibration is not None
        return {
            "n_models": self.n_models,
            "loss": self.loss,
            "k": self.k,
            "neighbor_weight": self.neighbor_weight,
            "reconstruction_calibration": self.reconstruction_calibration.to_list(),
            "neighbor_calibration": (
                self.neighbor_calibration.to_list() if self.neighbor_calibration else None
            ),
        }

    @classmethod
    def from_file(
        cls,
        arch: Architecture,
        replicas: list[Params],
        meta: dict[str, Any],
        arrays: dict[str, np.ndarray],
    ) -> EnsembleScorer:
        """Rebuild a scorer from :meth:`meta` and :meth:`arrays`, checking their shapes."""
        scales = np.asarray(arrays["feature_scales"], dtype=np.float64)
        if scales.shape != (len(replicas), arch.n_features):
            raise ConfigError(
                f"feature_scales has shape {scales.shape}, expected "
                f"{(len(replicas), arch.n_features)}"
            )
        k = int(meta["k"])
        reference = arrays.get("reference")
        if k and (
            reference is None or reference.ndim != 2 or reference.shape[1] != scales.shape[1]
        ):
            raise ConfigError("the neighbour term's reference rows are missing or malformed")
        neighbor_scale = arrays.get("neighbor_scale")
        if neighbor_scale is not None:  # checked as used: float32 (1e-50 would become 0)
            with np.errstate(over="ignore"):  # too large for float32: inf, refused below
                neighbor_scale = np.asarray(neighbor_scale).astype(np.float32)
            if neighbor_scale.shape != (scales.shape[1],) or not np.all(
                np.isfinite(neighbor_scale) & (neighbor_scale > 0)
            ):
                raise ConfigError(
                    f"neighbor_scale must hold {scales.shape[1]} positive finite float32 "
                    f"numbers, got shape {neighbor_scale.shape}"
                )
        neighbor = meta["neighbor_calibration"]
        return cls(
            arch=arch,
            replicas=replicas,
            loss=str(meta["loss"]),
            k=k,
            neighbor_weight=float(meta["neighbor_weight"]),
            reference=None if reference is None else np.asarray(reference, np.float32),
            feature_scales=scales,
            reconstruction_calibration=Calibration.from_list(meta["reconstruction_calibration"]),
            neighbor_calibration=None if neighbor is None else Calibration.from_list(neighbor),
            neighbor_scale=neighbor_scale,
        )


def floored_scales(scales: np.ndarray) -> np.ndarray:
    """Per-replica mean errors per feature (replica × feature), each at least 1e-6 of its
    replica's mean: a feature every validation row reconstructs exactly would divide by
    zero."""
    floor = np.maximum(scales.mean(axis=1, keepdims=True), TINY) * 1e-6
    return np.maximum(scales, floor)


def error_spread(feature_scales: np.ndarray, loss: str) -> np.ndarray:
    """Each feature's typical reconstruction error, in the feature's own units (float32).

    The replicas' mean per-feature errors averaged, then the square root for MSE
    (a mean squared error is a squared spread; a mean absolute error is one).
    The feature scales are already floored above zero, so every divisor is > 0; the
    ceiling keeps it finite in float32 (the model file refuses anything else).
    """
    spread = np.asarray(feature_scales, dtype=np.float64).mean(axis=0)
    spread = np.sqrt(spread) if loss == "mse" else spread
    return np.minimum(spread, np.finfo(np.float32).max).astype(np.float32)


def in_error_units(x: np.ndarray, neighbor_scale: np.ndarray) -> np.ndarray:
    """``x / neighbor_scale`` in float32, the arithmetic an exported graph repeats exactly."""
    return np.asarray(x, dtype=np.float32) / np.asarray(neighbor_scale, dtype=np.float32)
