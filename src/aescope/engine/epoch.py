"""The device side of training: one compiled call runs a whole epoch for K replicas.

For networks this small, Keras-style training spends its time in per-batch
Python and dispatch overhead, not arithmetic. So an epoch is one ``lax.scan``
over batches inside one jitted function: the training table stays on the
device, batch rows are gathered by index inside the scan, and the validation
pass, early-stopping bookkeeping and best-weight copy happen in the same call.
Replicas are ``jax.vmap``-ed over parameters, optimiser state and keys; a
replica whose early stopping fired still runs inside the batch, but its
updates are masked out, so its weights stay frozen.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from aescope.engine.config import TrainConfig, make_optimizer
from aescope.engine.feature_major import objective_t, transposed_kernels
from aescope.engine.forward import forward
from aescope.engine.objective import (
    activity_penalty,
    has_dropout,
    kernel_penalty,
    objective,
    row_loss,
)
from aescope.engine.params import Params, init_params, seed_keys
from aescope.model.spec import Architecture

FEATURE_MAJOR_MIN_REPLICAS = 4
"""Smallest group that trains feature-major. Measured on 2 cores: groups of four
train 9 % faster that way (two groups of four: 1.05 against 1.14-1.20 s per
epoch); groups of two gain nothing (0.60 against 0.58 s), single replicas lose."""

NOISE_STREAM = 0x6E6F6973
"""Folded into a replica's key for its input noise: far above any epoch number, so the
noise never reuses the per-epoch dropout keys (``fold_in(key, epoch)``)."""

GATHER_BLOCK = 64
"""Batches whose rows are gathered in one operation: one gather per batch costs
more than a small batch's arithmetic, one gather per epoch costs a table copy."""


class State(NamedTuple):
    """Everything that carries over between epochs, per replica (leading axis K)."""

    params: Params
    opt_state: Any
    best_params: Params
    best_metric: jax.Array
    best_epoch: jax.Array
    wait: jax.Array
    active: jax.Array
    dropout_key: jax.Array


class Metrics(NamedTuple):
    train_loss: jax.Array
    train_objective: jax.Array
    val_loss: jax.Array
    val_objective: jax.Array
    active: jax.Array


@functools.partial(jax.jit, static_argnums=0)
def initial_state(arch: Architecture, seeds: jax.Array) -> State:
    """Fresh replicas, built in one compiled call (eager per-seed key ops are slow).

    Adam's state layout does not depend on its hyper-parameters, so the default
    config's optimiser initialises it and equal architectures share this compile.
    """
    keys = jax.vmap(seed_keys)(seeds)
    params = jax.vmap(lambda k: init_params(arch, k))(keys[:, 0])
    k = seeds.shape[0]
    return State(
        params=params,
        opt_state=jax.vmap(make_optimizer(TrainConfig()).init)(params),
        best_params=params,
        best_metric=jnp.full((k,), jnp.inf, jnp.float32),
        best_epoch=jnp.full((k,), -1, jnp.int32),
        wait=jnp.zeros((k,), jnp.int32),
        active=jnp.ones((k,), bool),
        dropout_key=keys[:, 2],
    )


def hyper_values(config: TrainConfig, x_train: np.ndarray) -> dict[str, np.ndarray]:
    """Settings passed as traced values, so that a learning-rate sweep reuses one compile.

    ``noise_scale`` is the input noise per feature: ``input_noise`` times the feature's
    standard deviation over the training rows, so the noise means the same on any
    scale (on standardised rows it is ``input_noise`` itself)."""
    spread = _column_std(x_train) if config.input_noise else 0.0
    return {
        "learning_rate": np.float32(config.learning_rate),
        "beta1": np.float32(config.beta1),
        "beta2": np.float32(config.beta2),
        "epsilon": np.float32(config.epsilon),
        "min_delta": np.float32(config.min_delta),
        "patience": np.int32(-1 if config.patience is None else config.patience),
        "noise_scale": np.broadcast_to(
            np.float32(config.input_noise) * np.asarray(spread, np.float32), x_train.shape[1:]
        ).astype(np.float32),
    }


def _column_std(x: np.ndarray, rows: int = 1 << 18) -> np.ndarray:
    """Each column's standard deviation, accumulated in float64 over blocks of ``rows``
    rows: memory stays bounded however long the training table is."""
    total = np.zeros(x.shape[1:], np.float64)
    squares = np.zeros(x.shape[1:], np.float64)
    for start in range(0, len(x), rows):
        block = np.asarray(x[start : start + rows], dtype=np.float64)
        total += block.sum(axis=0)
        squares += np.einsum("ij,ij->j", block, block)
    mean = total / max(len(x), 1)
    return np.sqrt(np.maximum(squares / max(len(x), 1) - mean * mean, 0.0))


def epoch_runner(arch: Architecture, config: TrainConfig, has_val: bool, replicas: int = 1):
    """The jitted, vmapped epoch ``(state, order, epoch, hyper, x_train, x_val, w_val)``.

    Groups of at least ``FEATURE_MAJOR_MIN_REPLICAS`` replicas train with
    feature-major activations (see :mod:`aescope.engine.feature_major`), smaller
    ones row-major: each is the faster form for its size. Layer names change no
    arithmetic, so they are dropped from the cache key.
    """
    layers = tuple(replace(layer, name=None) for layer in arch.layers)
    key = Architecture(n_features=arch.n_features, layers=layers)
    feature_major = replicas >= FEATURE_MAJOR_MIN_REPLICAS
    noisy = config.input_noise > 0
    return _runner(key, config.batch_size, config.loss, has_val, feature_major, noisy)


@functools.lru_cache(maxsize=32)
def _runner(
    arch: Architecture, batch_size: int, loss: str, has_val: bool, feature_major: bool, noisy: bool
):
    single = functools.partial(_epoch, arch, batch_size, loss, has_val, feature_major, noisy)
    batched = jax.vmap(single, in_axes=(0, 0, None, None, None, None, None))
    return jax.jit(batched, donate_argnums=(0,))


def _epoch(
    arch,
    batch_size,
    loss,
    has_val,
    feature_major,
    noisy,
    state: State,
    order,
    epoch,
    hyper,
    x_train,
    x_val,
    w_val,
):
    params, opt_state, train_loss, train_obj = _train_pass(
        arch, batch_size, loss, feature_major, noisy, state, order, epoch, hyper, x_train
    )

    def keep_if_active(new, old):
        return jax.tree_util.tree_map(lambda a, b: jnp.where(state.active, a, b), new, old)

    params = keep_if_active(params, state.params)
    opt_state = keep_if_active(opt_state, state.opt_state)
    if has_val:
        val_loss, val_obj = _evaluate(arch, loss, params, x_val, w_val)
    else:
        val_loss = val_obj = jnp.float32(jnp.nan)
    monitored = val_loss if has_val else train_loss
    new_state = _track_best(state, params, opt_state, monitored, epoch, hyper)
    return new_state, Metrics(train_loss, train_obj, val_loss, val_obj, new_state.active)


def _train_pass(
    arch, batch_size, loss, feature_major, noisy, state: State, order, epoch, hyper, x_train
):
    """One pass over the rows in ``order``; returns new params, opt state and mean losses.

    With ``noisy`` each batch goes in with Gaussian noise (``hyper["noise_scale"]``,
    per feature) and the loss compares the output with the clean rows (a denoising
    autoencoder);
    the noise comes from its own stream of the replica's key, so dropout and noise
    never share random numbers."""
    n, n_features = x_train.shape
    n_batches = math.ceil(n / batch_size)
    # Pad the row order to whole batches: padded slots point at row 0 with weight
    # 0, so the last short batch is averaged over its real rows, as in Keras.
    pad = n_batches * batch_size - n
    order = jnp.concatenate([order, jnp.zeros((pad,), order.dtype)])
    order = order.reshape(n_batches, batch_size)
    weights = (jnp.arange(n_batches * batch_size) < n).astype(jnp.float32)
    weights = weights.reshape(n_batches, batch_size)
    step_ids = jnp.arange(n_batches)
    optimizer = make_optimizer(hyper)
    dropout = has_dropout(arch)
    epoch_key = jax.random.fold_in(state.dropout_key, epoch)
    noise_key = jax.random.fold_in(jax.random.fold_in(state.dropout_key, NOISE_STREAM), epoch)

    def step(carry, xs):
        params, opt_state, kernels_t = carry
        xb, w, i = xs
        dkey = jax.random.fold_in(epoch_key, i) if dropout else None
        fn, args = (objective_t, (kernels_t,)) if feature_major else (objective, ())
        x_in, target = xb, None
        if noisy:  # drawn row-major in both layouts: the same noise for the same seed
            shape = xb.shape[::-1] if feature_major else xb.shape
            noise = jax.random.normal(jax.random.fold_in(noise_key, i), shape, xb.dtype)
            noise = noise * hyper["noise_scale"]  # row-major: features last
            x_in, target = xb + (noise.T if feature_major else noise), xb
        (obj, plain), grads = jax.value_and_grad(fn, has_aux=True)(
            params, *args, arch, x_in, w, loss, dkey, target
        )
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        if feature_major:  # carried to the next step, where XLA cannot fold it away
            kernels_t = transposed_kernels(params)
        return (params, opt_state, kernels_t), jnp.stack([plain, obj]) * jnp.sum(w)

    def block(carry, xs):
        idx, w, ids = xs
        rows = x_train.at[idx.reshape(-1)].get(mode="promise_in_bounds")
        rows = rows.reshape(*idx.shape, n_features)
        if feature_major:  # one transpose per block of batches: (batch, features, rows)
            rows = jnp.swapaxes(rows, 1, 2)
        return jax.lax.scan(step, carry, (rows, w, ids))

    kernels_t = transposed_kernels(state.params) if feature_major else None
    carry = (state.params, state.opt_state, kernels_t)
    n_blocks, n_tail = divmod(n_batches, GATHER_BLOCK)
    main = n_blocks * GATHER_BLOCK
    sums = []
    if n_blocks:
        xs = tuple(
            a[:main].reshape(n_blocks, GATHER_BLOCK, *a.shape[1:])
            for a in (order, weights, step_ids)
        )
        carry, s_main = jax.lax.scan(block, carry, xs)
        sums.append(s_main.reshape(-1, 2))
    if n_tail:
        carry, s_tail = block(carry, (order[main:], weights[main:], step_ids[main:]))
        sums.append(s_tail)
    train_loss, train_obj = jnp.sum(jnp.concatenate(sums), axis=0) / n
    params, opt_state, _ = carry
    return params, opt_state, train_loss, train_obj


def _track_best(state: State, params, opt_state, monitored, epoch, hyper) -> State:
    """Keras EarlyStopping: improvement means ``monitored < best - min_delta``; a replica
    stops once ``patience`` epochs in a row brought none (``patience < 0``: never)."""
    improved = state.active & (monitored < state.best_metric - hyper["min_delta"])
    wait = jnp.where(improved, 0, state.wait + state.active.astype(jnp.int32))
    patience = hyper["patience"]
    active = state.active & (improved | (patience < 0) | (wait < jnp.maximum(patience, 1)))
    return State(
        params=params,
        opt_state=opt_state,
        best_params=jax.tree_util.tree_map(
            lambda a, b: jnp.where(improved, a, b), params, state.best_params
        ),
        best_metric=jnp.where(improved, monitored, state.best_metric),
        best_epoch=jnp.where(improved, epoch, state.best_epoch),
        wait=wait,
        active=active,
        dropout_key=state.dropout_key,
    )


def _evaluate(arch: Architecture, loss: str, params: Params, x_val, w_val):
    """(plain loss, objective) over padded validation chunks, weights masking the padding."""

    def body(acc, chunk):
        xc, wc = chunk
        outputs = forward(arch, params, xc)
        plain = jnp.sum(wc * row_loss(outputs[-1], xc, loss))
        return acc + jnp.stack([plain, activity_penalty(arch, outputs, wc, 1.0)]), None

    acc, _ = jax.lax.scan(body, jnp.zeros(2, jnp.float32), (x_val, w_val))
    n = jnp.sum(w_val)
    return acc[0] / n, acc.sum() / n + kernel_penalty(arch, params)
