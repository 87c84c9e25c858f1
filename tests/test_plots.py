"""Figures: what their bars mean, not how they look."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from aescope.plots import error_histogram


def test_error_histogram_bars_are_each_class_share_per_log_bin():
    rng = np.random.default_rng(0)
    # 5,000 normal rows near 0.1, 50 anomalies near 10: two decades apart.
    scores = np.r_[rng.lognormal(np.log(0.1), 0.3, 5000), rng.lognormal(np.log(10), 0.3, 50)]
    y = np.r_[np.zeros(5000, np.int8), np.ones(50, np.int8)]
    fig = error_histogram(y, scores, threshold=1.0)
    try:
        ax = fig.axes[0]
        normal, anomaly = ax.containers  # one BarContainer per class, in that order
        for bars in (normal, anomaly):  # every row counted, the extremes included
            assert sum(b.get_height() for b in bars) == pytest.approx(1.0)
        # Equal spreads on a log axis give peaks of equal height, whatever the
        # bin widths there; a density would make the anomaly peak 100x lower.
        peak_normal = max(b.get_height() for b in normal)
        peak_anomaly = max(b.get_height() for b in anomaly)
        assert 0.5 < peak_anomaly / peak_normal < 2
        assert ax.get_ylabel() == "share of the class's rows"
    finally:
        plt.close(fig)
