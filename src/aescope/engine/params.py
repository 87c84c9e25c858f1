"""Parameter initialisation and the seed-to-keys convention shared by every replica.

Keras' defaults (Glorot-uniform kernels, zero biases) so that training behaves
like the study's. One integer seed fans out into three independent keys (init,
shuffling, dropout) so that a replica is reproducible on its own and inside a
vectorised group of replicas alike.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from aescope.errors import ArchitectureError, ConfigError
from aescope.model.spec import Architecture

Params = list[dict[str, jax.Array]]
"""Per dense layer ``{"kernel": (fan_in, fan_out), "bias": (fan_out,)}``."""


def check_seed(seed) -> int:
    """A seed as a Python int in [0, 2**32), or ConfigError naming it."""
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or not 0 <= seed < 2**32:
        raise ConfigError(f"seeds must be integers in [0, 2**32), got {seed!r}")
    return int(seed)


def seed_keys(seed: int | jax.Array) -> jax.Array:
    """Keys (init, shuffle, dropout) derived from one seed, stacked on axis 0.

    Works on a Python int and, under ``jit``/``vmap``, on a uint32 array alike,
    with equal results for equal seeds. (Shuffling itself is drawn on the host,
    see ``loop.shuffle_order``; its key slot is kept so the convention is stable.)
    """
    if isinstance(seed, int | np.integer):
        seed = np.uint32(check_seed(seed))
    return jax.random.split(jax.random.key(seed), 3)


def init_params(arch: Architecture, seed: int | jax.Array = 0) -> Params:
    """Glorot-uniform kernels and zero biases; ``seed`` is an int or a JAX key.

    With an int, the result equals the starting point of ``train(..., seeds=seed)``.
    """
    if isinstance(seed, int | np.integer):
        return _init_from_seed(arch, np.uint32(check_seed(seed)))
    return _init_from_key(arch, seed)


@functools.partial(jax.jit, static_argnums=0)
def _init_from_seed(arch: Architecture, seed: jax.Array) -> Params:
    return _init_from_key(arch, seed_keys(seed)[0])


@functools.partial(jax.jit, static_argnums=0)
def _init_from_key(arch: Architecture, key: jax.Array) -> Params:
    keys = jax.random.split(key, len(arch.layers))
    params: Params = []
    for k, (fan_in, fan_out) in zip(keys, arch.shapes, strict=True):
        limit = np.float32(np.sqrt(6.0 / (fan_in + fan_out)))
        kernel = jax.random.uniform(k, (fan_in, fan_out), jnp.float32, -limit, limit)
        params.append({"kernel": kernel, "bias": jnp.zeros((fan_out,), jnp.float32)})
    return params


def check_params(arch: Architecture, params: Sequence[dict]) -> None:
    """ArchitectureError when ``params`` do not fit ``arch`` (a common mix-up: K-stacked)."""
    if len(params) != len(arch.layers):
        raise ArchitectureError(
            f"params have {len(params)} layers but architecture {arch.name!r} has "
            f"{len(arch.layers)}"
        )
    for i, (layer, (fan_in, fan_out)) in enumerate(zip(params, arch.shapes, strict=True)):
        kernel, bias = tuple(np.shape(layer["kernel"])), tuple(np.shape(layer["bias"]))
        if len(kernel) == 3 and kernel[1:] == (fan_in, fan_out):
            raise ArchitectureError(
                f"layer {i}: kernel has a leading replica axis {kernel}; "
                "pass TrainResult.replica(k), not TrainResult.params"
            )
        if kernel != (fan_in, fan_out) or bias != (fan_out,):
            raise ArchitectureError(
                f"layer {i}: kernel {kernel} / bias {bias} do not match "
                f"({fan_in}, {fan_out}) / ({fan_out},)"
            )


def to_numpy(params: Params) -> list[dict[str, np.ndarray]]:
    return [{k: np.asarray(v) for k, v in layer.items()} for layer in params]
