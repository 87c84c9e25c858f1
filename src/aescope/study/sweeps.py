"""What the study trains: the settings of each question, as data.

Every sweep varies one thing against a fixed base network:

* depth -- encoder depth 1..4 at a fixed latent width. The encoder's hidden
  widths are the first ``depth - 1`` of (128, 64, 32), mirrored in the decoder,
  so depth 3 is exactly the study's "Table 1" network (128-64-L-64-128);
* latent -- the "Table 1" network with latent width 2..32 (its latent 4/8/16/32
  points reproduce the study's table);
* latent_l1 -- the study's bad-latent network (32-24-[32]-24-32) with the
  activity L1 on the latent layer varied; 0.1 is the study's own setting.

``StudyConfig`` holds the budget knobs (epochs, seeds, batch) so that a test,
``--quick`` and the full study run the same code with different sizes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from aescope.engine import TrainConfig
from aescope.model import Architecture, Layer, get_preset
from aescope.study.runs import RunPoint

DEPTH_WIDTHS = (128, 64, 32)

STUDY_TABLE1_VAL_LOSS = {4: 0.2373, 8: 0.0981, 16: 0.0205, 32: 0.0088}
"""The reference study's validation loss of the Table 1 network by latent width."""

STUDY_BAD_LATENT = {"l1": 0.1, "train_loss": 0.2214, "val_loss": 0.4651}
"""The reference study's losses with activity L1 = 0.1 on the latent layer."""

LOSS_BAR = 0.01
"""Question 1's target: reconstruction loss at most this on training and validation data."""


@dataclass(frozen=True)
class StudyConfig:
    """Sizes and budgets of one study run (defaults: the full study, ~10 min on 2 cores)."""

    seeds: tuple[int, ...] = (0, 1, 2)
    split_seed: int = 0
    epochs: int = 12
    batch_size: int = 64
    learning_rate: float = 1e-3
    patience: int | None = 5
    q1_epochs: int = 60
    q1_patience: int | None = 15
    q1_candidates: tuple[tuple[int, float], ...] = ((64, 1e-3), (512, 1e-3))
    depths: tuple[int, ...] = (1, 2, 3, 4)
    depth_latent: int = 16
    latents: tuple[int, ...] = (2, 4, 8, 16, 24, 32)
    l1s: tuple[float, ...] = (0.0, 1e-4, 1e-3, 1e-2, 1e-1, 1.0)
    n_bootstrap: int = 200
    projection_rows: int = 1500

    def __post_init__(self) -> None:
        if len(self.seeds) < 1 or len(set(self.seeds)) != len(self.seeds):
            raise ValueError(f"seeds must be distinct and at least one, got {self.seeds}")
        if min(self.depths, default=1) < 1 or max(self.depths, default=1) > len(DEPTH_WIDTHS) + 1:
            raise ValueError(f"depths must lie in 1..{len(DEPTH_WIDTHS) + 1}, got {self.depths}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def sweep_config(self) -> TrainConfig:
        return TrainConfig(
            epochs=self.epochs,
            batch_size=self.batch_size,
            learning_rate=self.learning_rate,
            patience=self.patience,
        )

    def q1_configs(self) -> list[TrainConfig]:
        return [
            TrainConfig(
                epochs=self.q1_epochs, batch_size=bs, learning_rate=lr, patience=self.q1_patience
            )
            for bs, lr in self.q1_candidates
        ]

    def scaled(self, **changes: Any) -> StudyConfig:
        return replace(self, **changes)


QUICK = StudyConfig(
    epochs=6,
    q1_epochs=20,
    q1_patience=6,
    q1_candidates=((64, 1e-3),),
    patience=3,
    latents=(4, 8, 16, 32),
    l1s=(0.0, 1e-3, 1e-1, 1.0),
    n_bootstrap=100,
)
"""``--quick``: fewer epochs, one question-1 candidate, four points per sweep.

Meant for the bundled sample, where most of the time goes to compiling the
networks, not to training them; the latent sweep keeps the widths of the
study's table and the L1 sweep keeps 0 and the study's 0.1.
"""


def depth_architecture(depth: int, latent: int = 16, n_features: int = 29) -> Architecture:
    """Encoder of ``depth`` dense layers (the last is the latent), decoder mirrored."""
    widths = DEPTH_WIDTHS[: depth - 1]
    encoder = [Layer(units=w) for w in widths] + [Layer(units=latent, latent=True)]
    decoder = [Layer(units=w) for w in reversed(widths)]
    return Architecture.from_hidden(n_features, (*encoder, *decoder), name=f"depth-{depth}")


def latent_architecture(latent: int, n_features: int = 29) -> Architecture:
    return get_preset("seed-table1", latent=latent, n_features=n_features)


def l1_architecture(l1: float, n_features: int = 29) -> Architecture:
    """The study's bad-latent network with activity L1 ``l1`` on its latent layer."""
    arch = get_preset("seed-bad-latent", n_features=n_features)
    i = arch.latent_index
    layers = list(arch.layers)
    layers[i] = replace(layers[i], activity_l1=float(l1))
    return replace(arch, layers=tuple(layers), name=f"latent-l1-{l1:g}")


@dataclass(frozen=True)
class Sweep:
    """One question's settings: the name, the axis label, and one RunPoint per value."""

    name: str
    parameter: str
    points: tuple[RunPoint, ...]
    log_x: bool = False

    @property
    def values(self) -> list[float]:
        return [p.value for p in self.points]


def q1_points(config: StudyConfig, n_features: int) -> list[RunPoint]:
    arch = get_preset("seed-best", n_features=n_features)
    return [
        RunPoint("q1", f"batch {c.batch_size}, lr {c.learning_rate:g}", i, arch, c)
        for i, c in enumerate(config.q1_configs())
    ]


def sweeps(config: StudyConfig, n_features: int) -> list[Sweep]:
    tc = config.sweep_config()
    depth = Sweep(
        "depth",
        "encoder depth (dense layers)",
        tuple(
            RunPoint(
                "depth",
                f"depth {d}",
                d,
                depth_architecture(d, config.depth_latent, n_features),
                tc,
            )
            for d in config.depths
        ),
    )
    latent = Sweep(
        "latent",
        "latent width (units)",
        tuple(
            RunPoint("latent", f"latent {n}", n, latent_architecture(n, n_features), tc)
            for n in config.latents
        ),
        log_x=True,
    )
    l1 = Sweep(
        "latent_l1",
        "activity L1 on the latent layer",
        tuple(
            RunPoint("latent_l1", f"L1 {v:g}", v, l1_architecture(v, n_features), tc)
            for v in config.l1s
        ),
        log_x=True,
    )
    return [depth, latent, l1]
