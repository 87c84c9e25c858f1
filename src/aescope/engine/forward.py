"""The forward pass, and fast chunked inference (reconstruct / encode / every layer).

Inference runs one compiled function per (architecture, chunk shape). Chunks
have a fixed size (the last one padded) so scoring a table of any length never
recompiles; small tables use the next power of two (at least
:data:`MIN_CHUNK_ROWS`) instead, which keeps the number of compiled shapes small
without padding 100 rows to 65,536.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from aescope.engine.params import Params, check_params
from aescope.errors import ConfigError, DataValidationError
from aescope.model.spec import Architecture

# Keras' meanings: gelu is the exact (erf) form, leaky_relu has slope 0.2 as in
# keras.activations.leaky_relu.
ACTIVATION_FNS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "sigmoid": jax.nn.sigmoid,
    "elu": jax.nn.elu,
    "gelu": partial(jax.nn.gelu, approximate=False),
    "leaky_relu": partial(jax.nn.leaky_relu, negative_slope=0.2),
    "linear": lambda h: h,
}


def forward(
    arch: Architecture,
    params: Params,
    x: jax.Array,
    dropout_key: jax.Array | None = None,
    stop: int | None = None,
) -> list[jax.Array]:
    """Every layer's output (before dropout); the last is the reconstruction.

    ``stop`` ends the pass after ``layers[:stop]`` (the encoder, for ``encode``).

    With ``dropout_key`` dropout is applied between layers as Keras does at
    training time (inverted scaling); without it the pass is the inference pass.
    Activity regularisers see the pre-dropout outputs, as a Keras ``Dense`` with
    ``activity_regularizer`` followed by a ``Dropout`` layer would.
    """
    outputs = []
    h = x
    layers = arch.layers[:stop]
    for i, (layer, p) in enumerate(zip(layers, params[: len(layers)], strict=True)):
        h = ACTIVATION_FNS[layer.activation](h @ p["kernel"] + p["bias"])
        outputs.append(h)
        if dropout_key is not None and layer.dropout > 0:
            keep = 1.0 - layer.dropout
            mask = jax.random.bernoulli(jax.random.fold_in(dropout_key, i), keep, h.shape)
            h = jnp.where(mask, h / keep, 0.0)
    return outputs


@partial(jax.jit, static_argnames=("arch", "what"))
def _infer(arch: Architecture, what: str, params: Params, x: jax.Array):
    if what == "reconstruct":
        return forward(arch, params, x)[-1]
    if what in ("mse", "mae"):
        diff = forward(arch, params, x)[-1] - x
        errors = jnp.abs(diff) if what == "mae" else diff * diff
        # An error that overflows float32 is +inf, never NaN (NaN passes every threshold).
        return jnp.where(jnp.isnan(errors), jnp.inf, errors)
    if what == "encode":
        return forward(arch, params, x, stop=arch.latent_index + 1)[-1]
    return forward(arch, params, x)


MIN_CHUNK_ROWS = 256
"""Smallest padded chunk: XLA's CPU kernels round differently for very short
matrices (measured: under 128 rows), and a row's score must not depend on how many
rows were scored with it (``aescope score --chunk-rows`` is bitwise neutral)."""


def _chunk_size(n: int, batch_size: int) -> int:
    if n >= batch_size:
        return batch_size
    return min(batch_size, max(MIN_CHUNK_ROWS, 1 << max(n - 1, 0).bit_length()))


TAIL_STEPS = 16
"""The last, partial block is padded to a multiple of ``chunk / TAIL_STEPS`` rows, not
to a whole chunk: 100,000 rows in blocks of 65,536 run 102,400 rows through the
network instead of 131,072, for at most 16 more compiled shapes per chunk size."""


def _tail_size(rows_left: int, chunk: int) -> int:
    step = max(MIN_CHUNK_ROWS, chunk // TAIL_STEPS)
    return min(chunk, -(-rows_left // step) * step)


def _run_chunked(arch: Architecture, what: str, params, x, batch_size: int):
    if batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {batch_size}")
    check_params(arch, params)
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != arch.n_features:
        raise DataValidationError(
            f"x must have shape (rows, {arch.n_features}) for architecture "
            f"{arch.name!r}, got {x.shape}"
        )
    n = x.shape[0]
    chunk = _chunk_size(n, batch_size)
    params = jax.tree_util.tree_map(jnp.asarray, list(params))
    pending = []
    # Dispatch every chunk before reading any result back: the device (or XLA's
    # CPU thread pool) keeps working while Python prepares the next chunk.
    for start in range(0, max(n, 1), chunk):
        block = x[start : start + chunk]
        if block.shape[0] < chunk:
            size = _tail_size(block.shape[0], chunk)
            block = np.concatenate(
                [block, np.zeros((size - block.shape[0], x.shape[1]), np.float32)]
            )
        pending.append((start, _infer(arch, what, params, block)))
    return n, pending


def reconstruct(arch: Architecture, params: Params, x, batch_size: int = 65536) -> np.ndarray:
    """The network's reconstruction of every row of ``x`` (float32, same shape)."""
    n, pending = _run_chunked(arch, "reconstruct", params, x, batch_size)
    return _gather(n, pending)


def reconstruction_errors(
    arch: Architecture, params: Params, x, loss: str = "mse", batch_size: int = 65536
) -> np.ndarray:
    """Each cell's error, squared (``mse``) or absolute (``mae``), float32, NaN as +inf.

    Computed in the same compiled pass as the reconstruction, so the reconstruction
    never travels back to NumPy: for scoring, the error is all that is needed.
    """
    if loss not in ("mse", "mae"):
        raise ConfigError(f"loss must be 'mse' or 'mae', got {loss!r}")
    n, pending = _run_chunked(arch, loss, params, x, batch_size)
    return _gather(n, pending)


def encode(arch: Architecture, params: Params, x, batch_size: int = 65536) -> np.ndarray:
    """The latent-layer activations of every row of ``x``."""
    n, pending = _run_chunked(arch, "encode", params, x, batch_size)
    return _gather(n, pending)


def forward_all(arch: Architecture, params: Params, x, batch_size: int = 65536) -> list[np.ndarray]:
    """Every layer's activations (inference mode), one array per layer."""
    n, pending = _run_chunked(arch, "all", params, x, batch_size)
    return [_gather(n, [(s, out[i]) for s, out in pending]) for i in range(len(arch.layers))]


def _gather(n: int, pending: list[tuple[int, jax.Array]]) -> np.ndarray:
    first = pending[0][1]
    out = np.empty((n, *first.shape[1:]), dtype=np.float32)
    for start, block in pending:
        stop = min(start + block.shape[0], n)
        out[start:stop] = np.asarray(block)[: stop - start]
    return out
