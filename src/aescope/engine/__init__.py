"""Training and running dense autoencoders with JAX: fast, seeded, vectorised over replicas."""

from aescope.engine.config import TrainConfig, make_optimizer
from aescope.engine.devices import set_host_device_count
from aescope.engine.forward import (
    encode,
    forward,
    forward_all,
    reconstruct,
    reconstruction_errors,
)
from aescope.engine.loop import shuffle_order, train
from aescope.engine.objective import activity_penalty, kernel_penalty, objective, row_loss
from aescope.engine.params import Params, init_params, seed_keys
from aescope.engine.results import EpochReport, History, TrainResult

__all__ = [
    "EpochReport",
    "History",
    "Params",
    "TrainConfig",
    "TrainResult",
    "activity_penalty",
    "encode",
    "forward",
    "forward_all",
    "init_params",
    "kernel_penalty",
    "make_optimizer",
    "objective",
    "reconstruct",
    "reconstruction_errors",
    "row_loss",
    "seed_keys",
    "set_host_device_count",
    "shuffle_order",
    "train",
]
