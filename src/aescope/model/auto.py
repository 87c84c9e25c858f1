"""The autoencoder a user gets without tuning: sized from the table, not from one data set.

Widths come from the number of features ``d``, the training schedule from the
number of rows. The shape is the study's ``seed-best`` topology (relu/tanh
layers, a light L1 activity penalty on the layers around the code), because
on the 22 ADBench sets it ranked ahead of every size-scaled alternative we
tried (see benchmarks/detection.md): a tight bottleneck (``latent ≈ d/3``)
ranked last, since early stopping on validation normals already keeps the
network from copying its input and a narrow code throws away structure the
normal rows have. Its widths are floors; tables wider than 32 columns get
proportionally wider layers so the code is not squeezed below about 3d/4.

Small tables need many epochs of small batches and a patient early stop
(their validation sets are tiny and noisy); large ones converge in a few
epochs of larger batches.
"""

from __future__ import annotations

import math
from typing import Any

from aescope.errors import ConfigError
from aescope.model.spec import Architecture, Layer

AUTO_NAME = "auto"
STEP_BUDGET = 20_000
"""Optimiser steps a training may take at most (epochs are derived from it)."""


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ConfigError(f"{name} must be an integer > 0, got {value!r}")


def auto_widths(n_features: int) -> tuple[int, int, int]:
    """(outer, inner, latent) widths for a table with ``n_features`` columns.

    At least the study's 64 / 32 / 24 units; from 33 columns on they grow as
    2d / d / ceil(3d/4), capped at 256 / 128 / 64.
    """
    _check_positive_int("n_features", n_features)
    d = n_features
    outer = min(256, max(64, 2 * d))
    inner = min(128, max(32, d))
    latent = min(64, max(24, math.ceil(3 * d / 4)))
    return outer, inner, latent


def default_architecture(n_features: int) -> Architecture:
    """The default dense autoencoder for ``n_features`` standardised columns.

    ``d → outer (relu) → inner (tanh, L1 1e-4) → latent (relu) → inner (relu, L1 1e-4)
    → outer (tanh) → d (linear)``, widths from :func:`auto_widths`.
    """
    outer, inner, latent = auto_widths(n_features)
    layers = (
        Layer(outer, "relu"),
        Layer(inner, "tanh", activity_l1=1e-4),
        Layer(latent, "relu", latent=True),
        Layer(inner, "relu", activity_l1=1e-4),
        Layer(outer, "tanh"),
    )
    return Architecture.from_hidden(n_features, layers, name=AUTO_NAME)


def default_training(n_rows: int) -> dict[str, Any]:
    """Epochs, batch size, learning rate and early-stopping patience for ``n_rows`` rows.

    Keyword arguments for :class:`~aescope.detector.AutoencoderDetector`. The
    budget is counted in optimiser steps (:data:`STEP_BUDGET`) rather than
    epochs, so a 200-row table may train for 500 epochs and a 500,000-row one
    for 20; early stopping on the validation normals usually ends it sooner.
    """
    _check_positive_int("n_rows", n_rows)
    batch_size = 64 if n_rows < 20_000 else 256
    steps_per_epoch = math.ceil(n_rows / batch_size)
    epochs = max(20, min(500, STEP_BUDGET // steps_per_epoch))
    patience = 20 if n_rows < 20_000 else 5
    return {
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": 1e-3,
        "patience": patience,
    }
