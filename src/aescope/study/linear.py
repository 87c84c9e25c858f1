"""The two reference reconstructions every autoencoder is compared with.

* No model: reconstruct every row as the training mean (zeros after the
  study's standardisation). Its error, the mean squared standardised feature,
  is what a collapsed autoencoder produces, and it already detects fraud.
* The linear autoencoder: PCA with as many components as the network's
  narrowest layer, the best any *linear* encoder-decoder of that size can do.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from aescope.model import Architecture


def no_model_score(x: np.ndarray) -> np.ndarray:
    """Mean squared standardised feature: the MSE of a network that outputs the training mean."""
    return np.mean(np.square(x, dtype=np.float64), axis=1)


def narrowest(arch: Architecture | dict[str, Any]) -> int:
    """Units of the network's narrowest hidden layer: the width of its bottleneck."""
    if isinstance(arch, dict):
        arch = Architecture.from_dict(arch)
    return min(layer.units for layer in arch.layers[:-1])


def pca_size(arch: Architecture | dict[str, Any], n_features: int) -> int:
    """Components of the linear autoencoder matching ``arch``: its bottleneck, below the features.

    With as many components as features PCA reconstructs every row exactly and
    detects nothing, so the count is capped at ``n_features - 1``.
    """
    return max(1, min(narrowest(arch), n_features - 1))


class LinearAE:
    """PCA fitted once on the training rows; ``reconstruct(x, k)`` for any component count."""

    def __init__(self, x_train: np.ndarray) -> None:
        x = np.asarray(x_train, dtype=np.float64)
        self.mean = x.mean(axis=0)
        _, _, vt = np.linalg.svd(x - self.mean, full_matrices=False)
        self.components = vt  # rows: principal directions, by decreasing variance

    def encode(self, x: np.ndarray, k: int) -> np.ndarray:
        """The ``k``-dimensional code (projection on the first ``k`` directions)."""
        return (np.asarray(x, dtype=np.float64) - self.mean) @ self.components[:k].T

    def reconstruct(self, x: np.ndarray, k: int) -> np.ndarray:
        return self.encode(x, k) @ self.components[:k] + self.mean

    def errors(self, x: np.ndarray, k: int) -> np.ndarray:
        """Per-row MSE of the ``k``-component reconstruction."""
        return np.mean((self.reconstruct(x, k) - x) ** 2, axis=1)
