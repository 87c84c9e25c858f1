"""The host side of training: data checks, shuffling, histories, divergence, results.

The device does whole epochs (see :mod:`aescope.engine.epoch`); between two
epochs the host only reads a handful of numbers per replica, so the cost of
Python here is paid once per epoch, not once per batch.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from aescope.engine.config import TrainConfig
from aescope.engine.devices import ReplicaGroup, split_replicas
from aescope.engine.epoch import Metrics, State, epoch_runner, hyper_values, initial_state
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
    replica_groups: int | None = None,
) -> TrainResult:
    """Train ``len(seeds)`` independently seeded replicas of ``arch`` together.

    Replica ``k`` depends only on ``seeds[k]`` and the data: its weights equal
    those of a one-replica run with that seed up to float rounding. The replicas
    run as ``replica_groups`` vmapped groups side by side (default: one per CPU
    core or device, see :mod:`aescope.engine.devices`). Raises
    :class:`TrainingDivergedError` when a replica's loss becomes NaN or infinite,
    or finitely absurd: above :data:`DIVERGENCE_FACTOR` times the loss of
    reconstructing every row as zeros (see :func:`zero_output_loss`).
    """
    seed_list = [seeds] if isinstance(seeds, int | np.integer) else list(seeds)
    if not seed_list:
        raise ConfigError("seeds must name at least one seed")
    seed_list = [check_seed(s) for s in seed_list]
    xt = _as_table(x_train, arch, "x_train")
    has_val = x_val is not None
    xv, wv = _val_chunks(_as_table(x_val, arch, "x_val") if has_val else xt[:1], has_val)
    n_rows = xt.shape[0]
    bound = DIVERGENCE_FACTOR * max(zero_output_loss(xt, config.loss), 1e-12)

    runs = _group_runs(arch, config, split_replicas(seed_list, replica_groups), xt, xv, wv)
    compile_seconds = _compile(runs, arch, config, has_val) if config.epochs else 0.0

    histories = [History(seed=s) for s in seed_list]
    active = np.ones(len(seed_list), bool)
    with ThreadPoolExecutor(len(runs)) if len(runs) > 1 else nullcontext() as pool:
        for epoch in range(config.epochs):
            t0 = time.perf_counter()
            live = [r for r in runs if r.any_active]
            meanwhile = None
            if epoch + 1 < config.epochs:  # shuffle the next epoch while this one runs
                meanwhile = functools.partial(_draw_orders, live, epoch + 1, n_rows, config)
            _run_epoch(live, epoch, pool, meanwhile)
            m = Metrics(*(np.concatenate(c) for c in zip(*(r.metrics for r in runs), strict=True)))
            seconds = time.perf_counter() - t0
            _check_finite(m, active, epoch, config, seed_list, has_val, bound)
            _record(histories, m, active, seconds, has_val)
            if on_epoch is not None:
                on_epoch(_report(epoch, config.epochs, m, seconds, active, has_val))
            active = np.asarray(m.active, bool)
            if not active.any():
                break

    best_epoch = np.concatenate([r.real(r.state.best_epoch) for r in runs])
    for k, h in enumerate(histories):
        h.best_epoch = int(best_epoch[k])
        h.stopped_epoch = len(h.train_loss) - 1
        h.early_stopped = not bool(active[k])
    finals = [r.real(to_numpy(r.final(config.restore_best))) for r in runs]
    return TrainResult(
        arch=arch,
        config=config,
        seeds=tuple(seed_list),
        params=jax.tree_util.tree_map(lambda *parts: np.concatenate(parts), *finals),
        histories=histories,
        compile_seconds=compile_seconds,
    )


@dataclass
class _GroupRun:
    """One replica group's device-side state between epochs, and its latest metrics."""

    group: ReplicaGroup
    data: tuple  # (hyper, x_train, x_val, w_val) on the group's device
    state: State
    order: jax.Array
    next_order: jax.Array | None = None
    compiled: Any = None
    metrics: tuple[np.ndarray, ...] = ()

    def real(self, tree):
        """``tree`` without the padding replicas (leading axis), as NumPy arrays."""
        return jax.tree_util.tree_map(lambda a: np.asarray(a)[: self.group.n_real], tree)

    @property
    def any_active(self) -> bool:
        return bool(self.real(self.state.active).any())

    def final(self, restore_best: bool):
        return self.state.best_params if restore_best else self.state.params

    def dispatch(self, epoch: int):
        """Start the epoch (XLA runs asynchronously); returns the metrics still on device."""
        self.state, metrics = self.compiled(self.state, self.order, jnp.int32(epoch), *self.data)
        return metrics

    def collect(self, metrics) -> None:
        """Wait for the epoch and keep the real replicas' metrics."""
        self.metrics = tuple(self.real(jax.device_get(tuple(metrics))))

    def run_epoch(self, epoch: int) -> None:
        self.collect(self.dispatch(epoch))


def _group_runs(arch, config: TrainConfig, groups: list[ReplicaGroup], xt, xv, wv):
    """Each group's initial state and first order, and the data once per device."""
    hyper = hyper_values(config, xt)
    data = {g.device: jax.device_put((hyper, xt, xv, wv), g.device) for g in groups}
    return [
        _GroupRun(
            group=g,
            data=data[g.device],
            state=jax.device_put(initial_state(arch, np.asarray(g.seeds, np.uint32)), g.device),
            order=jax.device_put(_orders(g.seeds, 0, xt.shape[0], config.shuffle), g.device),
        )
        for g in groups
    ]


def _compile(runs: list[_GroupRun], arch, config: TrainConfig, has_val: bool) -> float:
    """Compile the epoch ahead of time, once per device (groups have equal sizes)."""
    t0 = time.perf_counter()
    runner = epoch_runner(arch, config, has_val, replicas=len(runs[0].group.seeds))
    compiled = {}
    for r in runs:
        if r.group.device not in compiled:
            lowered = runner.lower(r.state, r.order, jnp.int32(0), *r.data)
            compiled[r.group.device] = lowered.compile()
        r.compiled = compiled[r.group.device]
    return time.perf_counter() - t0


def _run_epoch(
    live: list[_GroupRun],
    epoch: int,
    pool: ThreadPoolExecutor | None,
    meanwhile: Callable[[], None] | None,
) -> None:
    """Run every live group's epoch, calling ``meanwhile`` while they run.

    A single group needs no thread: JAX dispatch is asynchronous already. Several
    groups on one CPU device would run one after another that way, so each waits
    for its own epoch in a thread (JAX releases the GIL), and XLA runs them on
    different cores.
    """
    if pool is None:
        pending = [r.dispatch(epoch) for r in live]
    else:
        futures = [pool.submit(r.run_epoch, epoch) for r in live]
    if meanwhile is not None:
        meanwhile()
    if pool is None:
        for r, metrics in zip(live, pending, strict=True):
            r.collect(metrics)
    else:
        for future in futures:
            future.result()  # re-raises a group's exception here
    for r in live:
        if r.next_order is not None:
            r.order, r.next_order = r.next_order, None


def _draw_orders(live: list[_GroupRun], epoch: int, n_rows: int, config: TrainConfig) -> None:
    for r in live:
        order = _orders(r.group.seeds, epoch, n_rows, config.shuffle)
        r.next_order = jax.device_put(order, r.group.device)


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


DIVERGENCE_FACTOR = 100.0
"""A loss this many times the zero-output loss counts as diverged (see zero_output_loss)."""


def zero_output_loss(x: np.ndarray, loss: str) -> float:
    """The loss of a network that outputs zeros (the mean, for standardised data).

    Any real training starts near it and goes below; a loss orders of magnitude
    above it means the optimiser has blown up, even while the numbers stay finite.
    """
    x = np.asarray(x, dtype=np.float64)
    return float(np.mean(np.abs(x)) if loss == "mae" else np.mean(x * x))


def _check_finite(
    m: Metrics, active, epoch: int, config: TrainConfig, seeds, has_val, bound: float
) -> None:
    checks = [m.train_loss, m.train_objective] + ([m.val_loss] if has_val else [])
    for k in np.flatnonzero(active):
        # Validation rows may hold a few extreme values, so only the training loss is bounded.
        if all(np.isfinite(c[k]) for c in checks) and m.train_loss[k] <= bound:
            continue
        err = TrainingDivergedError(
            f"training diverged at epoch {epoch + 1} of {config.epochs} (replica {k}, "
            f"seed {seeds[k]}): train loss {m.train_loss[k]:.4g}, objective "
            f"{m.train_objective[k]:.4g} (reconstructing every row as zeros costs "
            f"{bound / DIVERGENCE_FACTOR:.4g}). Try a lower learning rate than "
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
