"""Distance to the k-th nearest reference row: brute force, batched, float32, no index.

Why brute force: the reference set the detector keeps is small (a few
thousand rows), queries come in large batches, and a matrix product plus a
top-k is what an ONNX graph (MatMul, ReduceMin, TopK, GatherND) can
express too, so an exported model can compute the same thing. One compiled
JAX function per block does the product and a two-level exact top-k (see
:func:`_smallest_d2`); memory is bounded by ``batch_rows × len(reference)``
floats whatever the number of queries.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from aescope.errors import ConfigError, DataValidationError

BATCH_ROWS = 1024
"""Query rows per compiled call: the block's distances stay in cache (4096 ran 5x slower)."""
GROUP = 64
"""Reference columns per group in the first, coarse pass of the search."""


def kth_distance(
    reference: np.ndarray,
    x: np.ndarray,
    k: int,
    *,
    self_rows: np.ndarray | None = None,
    batch_rows: int = BATCH_ROWS,
) -> np.ndarray:
    """Euclidean distance from each row of ``x`` to its ``k``-th nearest row of ``reference``.

    ``self_rows`` (booleans, one per row of ``x``) marks rows that are themselves in
    ``reference``: for them the nearest match (their own copy, at distance 0) is
    skipped, so training rows get the leave-one-out distance that a fresh row
    from the same distribution would get.
    """
    return _neighbor_distances(reference, x, k, self_rows, batch_rows, mean=False)


def mean_distance(
    reference: np.ndarray,
    x: np.ndarray,
    k: int,
    *,
    self_rows: np.ndarray | None = None,
    batch_rows: int = BATCH_ROWS,
) -> np.ndarray:
    """Mean Euclidean distance from each row of ``x`` to its ``k`` nearest reference rows.

    Steadier than the k-th distance alone when the reference is a subsample
    (one lucky or unlucky neighbour moves it less); ``self_rows`` as in
    :func:`kth_distance`.
    """
    return _neighbor_distances(reference, x, k, self_rows, batch_rows, mean=True)


def _neighbor_distances(
    reference: np.ndarray,
    x: np.ndarray,
    k: int,
    self_rows: np.ndarray | None,
    batch_rows: int,
    *,
    mean: bool,
) -> np.ndarray:
    reference = np.asarray(reference, dtype=np.float32)
    x = np.asarray(x, dtype=np.float32)
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise ConfigError(f"k must be an integer >= 1, got {k!r}")
    if reference.ndim != 2 or x.ndim != 2 or reference.shape[1] != x.shape[1]:
        raise DataValidationError(
            f"reference {reference.shape} and queries {x.shape} must be 2-D with equal columns"
        )
    extra = 0 if self_rows is None else 1
    if k + extra > len(reference):
        raise DataValidationError(
            f"k = {k} needs at least {k + extra} reference rows, got {len(reference)}"
        )
    ref, ref_sq = _padded_reference(reference)
    m = k + extra
    out = np.empty(len(x), dtype=np.float64)
    for start in range(0, len(x), batch_rows):
        block = x[start : start + batch_rows]
        n = len(block)
        if n < batch_rows:  # one compiled shape for every block
            block = np.concatenate([block, np.zeros((batch_rows - n, x.shape[1]), np.float32)])
        nearest = np.asarray(_smallest_d2(block, ref, ref_sq, m))[:n]
        dist = np.sqrt(np.maximum(nearest.astype(np.float64), 0.0))
        if self_rows is not None:  # a reference row's own copy is its first match: drop it
            own = np.asarray(self_rows[start : start + n], dtype=bool)
            dist = np.where(own[:, None], dist[:, 1:], dist[:, :k])
        out[start : start + n] = dist[:, :k].mean(axis=1) if mean else dist[:, k - 1]
    return out


def _padded_reference(reference: np.ndarray) -> tuple[jax.Array, jax.Array]:
    """Reference rows padded to whole groups; padding rows sit at infinite distance."""
    pad = -len(reference) % GROUP
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    if pad:
        reference = np.concatenate([reference, np.zeros((pad, reference.shape[1]), np.float32)])
        ref_sq = np.concatenate([ref_sq, np.full(pad, np.inf, np.float32)])
    return jnp.asarray(reference), jnp.asarray(ref_sq)


@partial(jax.jit, static_argnames=("m",))
def _smallest_d2(block: jax.Array, ref: jax.Array, ref_sq: jax.Array, m: int) -> jax.Array:
    """The ``m`` smallest squared distances from each row of ``block``, ascending; exact.

    Why not one partial sort of every row: selecting among thousands of
    columns costs far more than the matrix product that made them. The columns
    are cut into groups of :data:`GROUP` and each group's minimum taken (fused
    with the product by XLA). The ``m`` smallest values lie in groups whose
    minima are no larger than the ``m``-th smallest value, and there are at most
    ``m`` such groups, so they lie among the ``m`` groups with the smallest
    minima; only those ``m × GROUP`` candidates are searched.

    The expansion ``|x|^2 + |r|^2 - 2 x.r`` finds the neighbours fast but loses
    the digits of a small distance to cancellation (a row next to a reference
    row of norm 40 comes out 0.016 away instead of 0); the chosen neighbours'
    distances are therefore recomputed as ``sum((x - r)^2)``, which an exported
    graph computes the same way.
    """
    d2 = jnp.sum(block * block, axis=1)[:, None] + ref_sq[None, :] - 2.0 * (block @ ref.T)
    n, width = d2.shape
    if width // GROUP <= m:
        _, nearest = jax.lax.top_k(-d2, m)
    else:
        groups = d2.reshape(n, width // GROUP, GROUP)
        _, best = jax.lax.top_k(-groups.min(axis=2), m)
        candidates = jnp.take_along_axis(groups, best[:, :, None], axis=1).reshape(n, m * GROUP)
        _, position = jax.lax.top_k(-candidates, m)
        group = jnp.take_along_axis(best, position // GROUP, axis=1)
        nearest = group * GROUP + position % GROUP
    exact = jnp.sum((block[:, None, :] - ref[nearest]) ** 2, axis=-1)
    return jnp.sort(exact, axis=1)
