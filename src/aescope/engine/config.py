"""Training settings and the optimiser they define.

The config is a frozen (hashable) dataclass because it is a static input of the
compiled epoch: two trainings with equal configs share one compilation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import optax

from aescope.engine.objective import LOSSES
from aescope.errors import ConfigError


@dataclass(frozen=True)
class TrainConfig:
    """Keras-like defaults: Adam(lr 1e-3, eps 1e-7), MSE, batch 64, reshuffle each epoch.

    ``patience`` turns on early stopping (``None``: off); ``min_delta`` is the
    smallest decrease that counts as an improvement. With ``restore_best`` the
    returned weights are those of the best epoch (lowest validation loss, or
    training loss when there is no validation set), early stopping or not.
    ``input_noise`` > 0 trains a denoising autoencoder: each training batch is
    seen with Gaussian noise added, of standard deviation ``input_noise`` times
    each feature's standard deviation over the training rows, and must be
    reconstructed clean; validation rows stay clean.
    """

    epochs: int = 100
    batch_size: int = 64
    learning_rate: float = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-7
    loss: str = "mse"
    shuffle: bool = True
    patience: int | None = None
    min_delta: float = 0.0
    restore_best: bool = True
    input_noise: float = 0.0

    def __post_init__(self) -> None:
        _check_int("epochs", self.epochs, 0)
        _check_int("batch_size", self.batch_size, 1)
        if self.patience is not None:
            _check_int("patience", self.patience, 0)
        for name in ("learning_rate", "epsilon"):
            value = getattr(self, name)
            if not _finite(value) or value <= 0:
                raise ConfigError(f"TrainConfig.{name} must be a finite number > 0, got {value!r}")
        for name in ("beta1", "beta2"):
            value = getattr(self, name)
            if not _finite(value) or not 0 <= value < 1:
                raise ConfigError(f"TrainConfig.{name} must be in [0, 1), got {value!r}")
        if not _finite(self.input_noise) or self.input_noise < 0:
            raise ConfigError(f"TrainConfig.input_noise must be >= 0, got {self.input_noise!r}")
        if not _finite(self.min_delta) or self.min_delta < 0:
            raise ConfigError(f"TrainConfig.min_delta must be >= 0, got {self.min_delta!r}")
        if self.loss not in LOSSES:
            raise ConfigError(
                f"TrainConfig.loss must be one of {', '.join(LOSSES)}, got {self.loss!r}"
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"TrainConfig: unknown field(s) {sorted(unknown)}")
        return cls(**d)


def make_optimizer(config: TrainConfig | Mapping[str, Any]) -> optax.GradientTransformation:
    """optax Adam with the hyper-parameters of a config (or of a mapping of traced values).

    Keras applies epsilon to sqrt(v) before bias correction, optax after; with
    eps = 1e-7 the two differ only while sqrt(v_hat) is itself ~1e-7.
    """
    h = config.to_dict() if isinstance(config, TrainConfig) else config
    return optax.adam(h["learning_rate"], h["beta1"], h["beta2"], h["epsilon"])


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"TrainConfig.{name} must be an integer >= {minimum}, got {value!r}")
