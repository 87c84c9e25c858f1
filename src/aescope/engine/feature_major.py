"""The training objective with activations stored feature-major, for vmapped replicas.

A dense layer's backward pass needs three matrix products: the forward
``x @ W``, the input gradient ``dy @ W.T`` and the weight gradient ``x.T @ dy``.
With rows as the leading axis, the weight gradient contracts the leading axis
of its left operand; XLA's CPU backend sends that form to Eigen rather than to
its faster YNNPACK kernels, and vmapped over replicas it becomes a slow batched
Eigen product. Storing activations transposed, ``(features, rows)``, turns the
weight gradient into ``x_t @ dy_t.T``, a form YNNPACK takes, and leaves the
forward product as the one with a transposed operand: ``W.T @ x_t``. That
operand is the kernel, which does not change within a step, so the training
loop carries a physically transposed copy of every kernel from one step to the
next (XLA cannot fold a transpose across loop iterations), and all three
products go to YNNPACK.

Measured on 2 CPU cores (2026-11-29): eight ``seed-best`` replicas, two groups
of four, train an epoch in about 1.04 s this way against 1.14 s row-major; a
single replica's step is about 4 % slower in this form (80 vs 77 µs in a
micro-benchmark) and groups of two gain nothing, so the engine uses it for
groups of four or more (``epoch.FEATURE_MAJOR_MIN_REPLICAS``). The arithmetic
is that of :func:`aescope.engine.objective.objective` (same products, same
penalties, the same dropout masks, drawn in row-major shape and transposed); a
test checks values and gradients against it.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from aescope.engine.forward import ACTIVATION_FNS
from aescope.engine.objective import activity_penalty, kernel_penalty, weighted_loss_sum
from aescope.engine.params import Params
from aescope.model.spec import Architecture


@jax.custom_vjp
def _dense_t(kernel: jax.Array, kernel_t: jax.Array, x_t: jax.Array) -> jax.Array:
    """``(x_t.T @ kernel).T`` computed as ``kernel_t @ x_t``; ``kernel_t`` is ``kernel.T``."""
    return kernel_t @ x_t


def _dense_t_fwd(kernel, kernel_t, x_t):
    return kernel_t @ x_t, (kernel, x_t)


def _dense_t_bwd(saved, dy_t):
    kernel, x_t = saved
    # The carried transpose gets no gradient: it is rebuilt from the kernel every step.
    return x_t @ dy_t.T, jnp.zeros(kernel.shape[::-1], kernel.dtype), kernel @ dy_t


_dense_t.defvjp(_dense_t_fwd, _dense_t_bwd)


def transposed_kernels(params: Params) -> list[jax.Array]:
    return [layer["kernel"].T for layer in params]


def forward_t(
    arch: Architecture,
    params: Params,
    kernels_t: list[jax.Array],
    x_t: jax.Array,
    dropout_key: jax.Array | None = None,
) -> list[jax.Array]:
    """Every layer's output, each ``(units, rows)``; as :func:`aescope.engine.forward`."""
    outputs = []
    h = x_t
    for i, (layer, p, k_t) in enumerate(zip(arch.layers, params, kernels_t, strict=True)):
        h = ACTIVATION_FNS[layer.activation](_dense_t(p["kernel"], k_t, h) + p["bias"][:, None])
        outputs.append(h)
        if dropout_key is not None and layer.dropout > 0:
            keep = 1.0 - layer.dropout
            mask = jax.random.bernoulli(jax.random.fold_in(dropout_key, i), keep, h.shape[::-1])
            h = jnp.where(mask.T, h / keep, 0.0)
    return outputs


def objective_t(
    params: Params,
    kernels_t: list[jax.Array],
    arch: Architecture,
    x_t: jax.Array,
    weights: jax.Array,
    loss: str,
    dropout_key: jax.Array | None = None,
    target_t: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
    """(regularised objective, plain loss) of one weighted batch given as ``(features, rows)``;
    ``target_t`` as :func:`aescope.engine.objective.objective`'s ``target``."""
    outputs = forward_t(arch, params, kernels_t, x_t, dropout_key)
    count = jnp.sum(weights)
    target = x_t if target_t is None else target_t
    plain = weighted_loss_sum(outputs[-1], target, weights, loss, rows_last=True) / count
    penalty = activity_penalty(arch, outputs, weights, count, rows_last=True)
    return plain + penalty + kernel_penalty(arch, params), plain
