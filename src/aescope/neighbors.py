"""Distance to the k-th nearest reference row: brute force, batched, float32, no index.

Why brute force: the reference set the detector keeps is small (a few
thousand rows), queries come in large batches, and a matrix product plus a
partial sort is what an ONNX graph (MatMul + TopK) can express too, so the
exported model and this code compute the same thing. Memory is bounded by
``batch_rows × len(reference)`` floats whatever the number of queries.
"""

from __future__ import annotations

import numpy as np

from aescope.errors import ConfigError, DataValidationError

BATCH_ROWS = 4096


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
    ref_sq = np.einsum("ij,ij->i", reference, reference)
    out = np.empty(len(x), dtype=np.float64)
    for start in range(0, len(x), batch_rows):
        block = x[start : start + batch_rows]
        d2 = ref_sq[None, :] - 2.0 * (block @ reference.T)
        d2 += np.einsum("ij,ij->i", block, block)[:, None]
        nearest = np.partition(d2, range(k + extra), axis=1)[:, : k + extra]
        dist = np.sqrt(np.maximum(nearest.astype(np.float64), 0.0))
        if self_rows is not None:  # a reference row's own copy is its first match: drop it
            own = np.asarray(self_rows[start : start + batch_rows], dtype=bool)
            dist = np.where(own[:, None], dist[:, 1:], dist[:, :k])
        out[start : start + len(block)] = dist[:, :k].mean(axis=1) if mean else dist[:, k - 1]
    return out
