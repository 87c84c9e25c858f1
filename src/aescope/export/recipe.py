"""The score recipe: everything between raw input columns and a row's score, as plain data.

An exporter should not reach into a detector's private attributes in twenty
places; it reads one :class:`ScoreRecipe` instead. A recipe is a preprocessing
step, one or more autoencoder replicas, how each replica's per-feature errors
become a score, and how replica scores combine. Today's detector is the simplest
case (one replica, no normalisation); an ensemble of vmapped seeds with
per-feature error normalisation and per-replica score standardisation is the
same recipe with more replicas and the optional fields set, so an exporter
written against the recipe needs no change for it.

Semantics, per row (``x`` is the preprocessed float32 row):

* replica ``r``: ``e_r = err(mlp_r(x) - x) / feature_scale_r`` (``err`` is the
  square for MSE models, the absolute value for MAE; no division without a
  ``feature_scale``), ``s_r = (mean(e_r) - score_center_r) / score_scale_r``;
* ``score = mean_r(s_r)`` (float64), ``feature_errors = mean_r(e_r)`` (float32),
  ``flag = score >= threshold``.
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
    """One autoencoder and how its errors turn into a score."""

    architecture: Architecture
    params: Sequence[Mapping[str, np.ndarray]]
    feature_scale: np.ndarray | None = field(default=None, repr=False)
    score_center: float = 0.0
    score_scale: float = 1.0

    @property
    def standardised(self) -> bool:
        return self.score_center != 0.0 or self.score_scale != 1.0


@dataclass(frozen=True)
class ScoreRecipe:
    """Raw columns in, ``score`` / ``flag`` / ``feature_errors`` out; see the module doc."""

    preprocessor: FittedPreprocessor
    replicas: tuple[Replica, ...]
    loss: str
    threshold: float
    metadata: Mapping[str, str] = field(default_factory=dict)

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

    check_is_fitted(detector, "threshold_")
    pre = detector.preprocessor_
    if list(pre.input_columns) != [str(c) for c in detector.feature_names_in_]:
        raise ConfigError(
            "detector's preprocessing columns differ from feature_names_in_; cannot export"
        )
    params = [{k: np.asarray(v, np.float32) for k, v in p.items()} for p in detector.params_]
    from aescope import __version__

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
    }
    return ScoreRecipe(
        preprocessor=pre,
        replicas=(Replica(detector.architecture_, params),),
        loss=detector.config_.loss,
        threshold=float(detector.threshold_),
        metadata=metadata,
    )
