"""The score recipe: everything between raw input columns and a row's score, as plain data.

An exporter should not reach into a detector's private attributes in twenty
places; it reads one :class:`ScoreRecipe` instead: a preprocessing step, the
autoencoder replicas with their per-feature error scales, the calibration of
the reconstruction term and, optionally, the nearest-neighbour term. It is
:class:`aescope.ensemble.EnsembleScorer` written out as data.

Semantics, per row (``x`` is the preprocessed float32 row; ``err`` is the square
for MSE models, the absolute value for MAE):

* ``e = mean_r(err(mlp_r(x) - x) / feature_scale_r)`` (float64; no division
  without a ``feature_scale``), ``feature_errors = e``;
* ``recon = (mean(e) - recon_center) / recon_spread``;
* with a neighbour term: ``near = (mean of the k smallest ||x / s - ref_j / s|| -
  center) / spread`` over the reference rows, where ``s`` is the term's float32
  ``scale`` (each feature's typical reconstruction error; 1 when absent) and the
  divisions are float32, ``score = recon + weight * near``;
  without one, ``score = recon``; ``flag = score >= threshold``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from aescope.errors import ConfigError
from aescope.model.spec import Architecture
from aescope.preprocess import FittedPreprocessor

LOSSES = ("mse", "mae")


@dataclass(frozen=True)
class Replica:
    """One autoencoder and the per-feature scales its errors are divided by."""

    architecture: Architecture
    params: Sequence[Mapping[str, np.ndarray]]
    feature_scale: np.ndarray | None = field(default=None, repr=False)


@dataclass(frozen=True)
class NeighborTerm:
    """The mean distance to the ``k`` nearest reference rows, calibrated and weighted."""

    reference: np.ndarray = field(repr=False)  # float32 [n_reference, n_features]
    k: int
    weight: float
    center: float = 0.0
    spread: float = 1.0
    scale: np.ndarray | None = field(default=None, repr=False)  # float32 [n_features]


@dataclass(frozen=True)
class ScoreRecipe:
    """Raw columns in, ``score`` / ``flag`` / ``feature_errors`` out; see the module doc."""

    preprocessor: FittedPreprocessor
    replicas: tuple[Replica, ...]
    loss: str
    threshold: float
    metadata: Mapping[str, str] = field(default_factory=dict)
    recon_center: float = 0.0
    recon_spread: float = 1.0
    neighbors: NeighborTerm | None = None

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ConfigError(f"score recipe: loss must be one of {LOSSES}, got {self.loss!r}")
        if not self.replicas:
            raise ConfigError("score recipe: needs at least one replica")
        n_out = len(self.preprocessor.output_columns)
        for i, replica in enumerate(self.replicas):
            if replica.architecture.n_features != n_out:
                raise ConfigError(
                    f"score recipe: replica {i} models {replica.architecture.n_features} "
                    f"features; the preprocessing gives {n_out}"
                )
            scale = replica.feature_scale
            if scale is not None and np.shape(scale) != (n_out,):
                raise ConfigError(
                    f"score recipe: replica {i} feature_scale has shape {np.shape(scale)}, "
                    f"expected ({n_out},)"
                )
        near = self.neighbors
        if near is not None:
            shape = np.shape(near.reference)
            if len(shape) != 2 or shape[1] != n_out or not 1 <= near.k <= shape[0]:
                raise ConfigError(
                    f"score recipe: the neighbour reference has shape {shape} for k = {near.k}; "
                    f"expected (n >= k, {n_out})"
                )
            if near.scale is not None and np.shape(near.scale) != (n_out,):
                raise ConfigError(
                    f"score recipe: the neighbour scale has shape {np.shape(near.scale)}, "
                    f"expected ({n_out},)"
                )

    @property
    def input_columns(self) -> tuple[str, ...]:
        """The graph's input columns, in order (the detector's ``feature_names_in_``)."""
        return self.preprocessor.input_columns

    @property
    def feature_columns(self) -> tuple[str, ...]:
        """The columns of ``feature_errors`` (the modelled columns, after any drop)."""
        return self.preprocessor.output_columns


def recipe_from_detector(detector: Any) -> ScoreRecipe:
    """The recipe of a fitted :class:`~aescope.detector.AutoencoderDetector`."""
    from sklearn.utils.validation import check_is_fitted

    from aescope import __version__

    check_is_fitted(detector, "threshold_")
    pre = detector.preprocessor_
    if list(pre.input_columns) != [str(c) for c in detector.feature_names_in_]:
        raise ConfigError(
            "detector's preprocessing columns differ from feature_names_in_; cannot export"
        )
    scorer = detector.scorer_
    replicas = tuple(
        Replica(
            detector.architecture_,
            [{k: np.asarray(v, np.float32) for k, v in layer.items()} for layer in params],
            np.asarray(scale, np.float64),
        )
        for params, scale in zip(scorer.replicas, scorer.feature_scales, strict=True)
    )
    near = None
    if scorer.k:
        calibration = scorer.neighbor_calibration
        near = NeighborTerm(
            reference=np.asarray(scorer.reference, np.float32),
            k=scorer.k,
            weight=scorer.neighbor_weight,
            center=calibration.center,
            spread=calibration.spread,
            scale=(None if scorer.neighbor_scale is None else np.asarray(scorer.neighbor_scale)),
        )
    recon = scorer.reconstruction_calibration
    metadata = {
        "aescope_version": __version__,
        "feature_names": json.dumps(list(pre.input_columns)),
        "feature_error_names": json.dumps(list(pre.output_columns)),
        "threshold": repr(float(detector.threshold_)),
        "threshold_policy": detector.threshold_policy_.spec(),
        "threshold_policy_json": json.dumps(detector.threshold_policy_.to_dict()),
        "data_fingerprint": str(detector.data_fingerprint_),
        "loss": detector.config_.loss,
        "architecture": json.dumps(detector.architecture_.to_dict()),
        "preprocessing": json.dumps(pre.spec.to_dict()),
        "scorer": json.dumps(scorer.meta()),
    }
    return ScoreRecipe(
        preprocessor=pre,
        replicas=replicas,
        loss=detector.config_.loss,
        threshold=float(detector.threshold_),
        metadata=metadata,
        recon_center=recon.center,
        recon_spread=recon.spread,
        neighbors=near,
    )
