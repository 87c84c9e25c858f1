"""The host side of training: data checks, shuffling, histories, divergence, results.

The device does whole epochs (see :mod:`aescope.engine.epoch`); between two
epochs the host only reads a handful of numbers per replica, so the cost of
Python here is paid once per epoch, not once per batch.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from aescope.engine.config import TrainConfig
from aescope.engine.devices import padded_seeds, placers, replica_devices
from aescope.engine.epoch import Metrics, epoch_runner, hyper_values, initial_state
from aescope.engine.params import check_seed, to_numpy
from aescope.engine.results import EpochReport, History, TrainResult
from aescope.errors import ConfigError, DataValidationError, TrainingDivergedError
from aescope.model.spec import Architecture

VAL_CHUNK = 16384
"""Rows per validation chunk: bounds activation memory for any validation size."""


def train(
    arch: Architecture,
    x_train,
    x_val=None,
    config: TrainConfig = TrainConfig(),  # noqa: B008 - frozen, so a shared default is safe
    seeds: int | Sequence[int] = 0,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> TrainResult:
    """Train ``len(seeds)`` independently seeded replicas of ``arch`` together.

    Replica ``k`` depends only on ``seeds[k]`` and the data: its weights equal
    those of a one-replica run with that seed up to float rounding. Raises
    :class:`TrainingDivergedError` when a replica's loss becomes NaN or infinite.
    """
    seed_list = [seeds] if isinstance(seeds, int | np.integer) else list(seeds)
    if not seed_list:
        raise ConfigError("seeds must name at least one seed")
    seed_list = [check_seed(s) for s in seed_list]
    xt = _as_table(x_train, arch, "x_train")
    has_val = x_val is not None
    xv, wv = _val_chunks(_as_table(x_val, arch, "x_val") if has_val else xt[:1], has_val)
    n_rows = xt.shape[0]

    n_replicas = len(seed_list)
    devices = replica_devices(n_replicas)
    seed_list = padded_seeds(seed_list, len(devices))
    seed_array = np.asarray(seed_list, np.uint32)
    place, place_all = placers(devices)
    xt, xv, wv = place_all(xt), place_all(xv), place_all(wv)
    hyper = place_all(hyper_values(config))
    state = place(initial_state(arch, seed_array))
    order = place(_orders(seed_list, 0, n_rows, config.shuffle))
    compile_seconds = 0.0
    if config.epochs:
        t0 = time.perf_counter()
        run = epoch_runner(arch, config, has_val)
        run = run.lower(state, order, jnp.int32(0), hyper, xt, xv, wv).compile()
        compile_seconds = time.perf_counter() - t0

    histories = [History(seed=int(s)) for s in seed_list[:n_replicas]]
    active = np.ones(n_replicas, bool)
    for epoch in range(config.epochs):
        t0 = time.perf_counter()
        state, metrics = run(state, order, jnp.int32(epoch), hyper, xt, xv, wv)
        if epoch + 1 < config.epochs:  # shuffle the next epoch while this one runs
            order = place(_orders(seed_list, epoch + 1, n_rows, config.shuffle))
        m = Metrics(*(a[:n_replicas] for a in jax.device_get(metrics)))
        seconds = time.perf_counter() - t0
        _check_finite(m, active, epoch, config, seed_list, has_val)
        _record(histories, m, active, seconds, has_val)
        if on_epoch is not None:
            on_epoch(_report(epoch, config.epochs, m, seconds, active, has_val))
        active = np.asarray(m.active, bool)
        if not active.any():
            break

    best_epoch = np.asarray(state.best_epoch)
    for k, h in enumerate(histories):
        h.best_epoch = int(best_epoch[k])
        h.stopped_epoch = len(h.train_loss) - 1
        h.early_stopped = not bool(active[k])
    final = state.best_params if config.restore_best else state.params
    return TrainResult(
        arch=arch,
        config=config,
        seeds=tuple(int(s) for s in seed_list[:n_replicas]),
        params=[{k: v[:n_replicas] for k, v in layer.items()} for layer in to_numpy(final)],
        histories=histories,
        compile_seconds=compile_seconds,
    )


def shuffle_order(seed: int, epoch: int, n_rows: int) -> np.ndarray:
    """The row order of ``epoch`` for replica ``seed`` (NumPy PCG64, reproducible).

    Drawn on the host: a device-side permutation is a sort, which on a CPU costs
    a third of an epoch, while NumPy's shuffle runs during the previous epoch.
    """
    rng = np.random.default_rng(np.random.SeedSequence((int(seed), int(epoch), 0x5EED)))
    return rng.permutation(n_rows).astype(np.int32)


def _orders(seeds: Sequence[int], epoch: int, n_rows: int, shuffle: bool) -> np.ndarray:
    if not shuffle:
        return np.broadcast_to(np.arange(n_rows, dtype=np.int32), (len(seeds), n_rows))
    return np.stack([shuffle_order(s, epoch, n_rows) for s in seeds])


def _as_table(x, arch: Architecture, what: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != arch.n_features:
        raise DataValidationError(
            f"{what} must have shape (rows, {arch.n_features}) for architecture "
            f"{arch.name!r}, got {x.shape}"
        )
    if x.shape[0] == 0:
        raise DataValidationError(f"{what} has no rows")
    bad = ~np.isfinite(x)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataValidationError(
            f"{what} has a non-finite value {x[row, col]} at row {row}, column {col}"
        )
    return x


def _val_chunks(x: np.ndarray, real: bool) -> tuple[np.ndarray, np.ndarray]:
    n, f = x.shape
    chunk = min(VAL_CHUNK, n)
    n_chunks = math.ceil(n / chunk)
    padded = np.zeros((n_chunks * chunk, f), np.float32)
    padded[:n] = x
    weights = np.zeros(n_chunks * chunk, np.float32)
    weights[:n] = 1.0 if real else 0.0
    return padded.reshape(n_chunks, chunk, f), weights.reshape(n_chunks, chunk)


def _check_finite(m: Metrics, active, epoch: int, config: TrainConfig, seeds, has_val) -> None:
    checks = [m.train_loss, m.train_objective] + ([m.val_loss] if has_val else [])
    for k in np.flatnonzero(active):
        if all(np.isfinite(c[k]) for c in checks):
            continue
        err = TrainingDivergedError(
            f"training diverged at epoch {epoch + 1} of {config.epochs} (replica {k}, "
            f"seed {seeds[k]}): train loss {m.train_loss[k]}, objective "
            f"{m.train_objective[k]}. Try a lower learning rate than "
            f"{config.learning_rate:g}, e.g. {config.learning_rate / 10:g}, "
            "or check the input scaling."
        )
        err.epoch, err.replica, err.seed = epoch + 1, int(k), int(seeds[k])
        raise err


def _record(histories: list[History], m: Metrics, active, seconds: float, has_val: bool) -> None:
    for k in np.flatnonzero(active):
        h = histories[k]
        h.train_loss.append(float(m.train_loss[k]))
        h.train_objective.append(float(m.train_objective[k]))
        if has_val:
            h.val_loss.append(float(m.val_loss[k]))
            h.val_objective.append(float(m.val_objective[k]))
        h.seconds.append(seconds)


def _report(epoch, epochs, m: Metrics, seconds, active, has_val) -> EpochReport:
    return EpochReport(
        epoch=epoch,
        epochs=epochs,
        train_loss=tuple(float(v) for v in m.train_loss),
        train_objective=tuple(float(v) for v in m.train_objective),
        val_loss=tuple(float(v) for v in m.val_loss) if has_val else None,
        seconds=seconds,
        active=tuple(bool(a) for a in active),
    )
