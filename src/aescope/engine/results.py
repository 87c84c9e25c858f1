"""What training hands back: per-replica histories, per-epoch progress reports, weights."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from aescope.engine.config import TrainConfig
from aescope.model.spec import Architecture


@dataclass
class History:
    """One replica's per-epoch record; list index = epoch (0-based).

    ``train_loss`` is the plain reconstruction loss (row-weighted mean over the
    epoch's batches), ``train_objective`` adds the regularisers, as Keras' ``loss``
    would. ``val_loss`` is the plain reconstruction loss of the validation rows at
    the end of the epoch (empty without validation data); early stopping and
    ``best_epoch`` follow it (or ``train_loss`` without validation data).
    ``best_epoch`` is the index whose weights were kept (-1: no epoch ran);
    ``stopped_epoch`` the index of the last epoch trained; ``early_stopped`` says
    whether patience ran out before ``config.epochs``.
    """

    seed: int = 0
    train_loss: list[float] = field(default_factory=list)
    train_objective: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_objective: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    best_epoch: int = -1
    stopped_epoch: int = -1
    early_stopped: bool = False

    @property
    def monitored(self) -> list[float]:
        """The curve that early stopping and ``best_epoch`` follow."""
        return self.val_loss if self.val_loss else self.train_loss

    @property
    def best_loss(self) -> float:
        return self.monitored[self.best_epoch] if self.best_epoch >= 0 else float("nan")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        return cls(**d)


@dataclass(frozen=True)
class EpochReport:
    """Progress after one epoch, for a progress bar; one entry per replica.

    ``active[k]`` is False for replicas whose early stopping already fired: their
    weights are frozen and their numbers are not recorded in their history.
    """

    epoch: int
    epochs: int
    train_loss: tuple[float, ...]
    train_objective: tuple[float, ...]
    val_loss: tuple[float, ...] | None
    seconds: float
    active: tuple[bool, ...]


@dataclass
class TrainResult:
    """Weights of K replicas (leading axis K on every array) and their histories."""

    arch: Architecture
    config: TrainConfig
    seeds: tuple[int, ...]
    params: list[dict[str, np.ndarray]]
    histories: list[History]
    compile_seconds: float = 0.0

    @property
    def n_replicas(self) -> int:
        return len(self.seeds)

    def replica(self, k: int) -> list[dict[str, np.ndarray]]:
        """Replica ``k``'s weights, without the replica axis (what inference takes)."""
        if not -self.n_replicas <= k < self.n_replicas:
            raise IndexError(f"replica {k} out of range for {self.n_replicas} replica(s)")
        return [{name: np.asarray(a[k]) for name, a in layer.items()} for layer in self.params]

    def best_replica(self) -> int:
        """Index of the replica with the lowest monitored loss at its best epoch."""
        losses = [h.best_loss for h in self.histories]
        return int(np.nanargmin(losses))
