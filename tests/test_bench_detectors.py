"""Every registered detector runs under the protocol, with higher scores for anomalies."""

from __future__ import annotations

import importlib.util

import numpy as np
import pandas as pd
import pytest

from aescope.bench import detectors as det
from aescope.bench.detectors import REGISTRY, available, select_detectors
from aescope.bench.protocol import prepare
from aescope.bench.runner import run_one
from aescope.data import Dataset, load_adbench, validate_frame
from aescope.errors import AescopeError

HAVE_PYOD = importlib.util.find_spec("pyod") is not None
NAMES = list(REGISTRY)


def _param(name: str):
    needs_pyod = "pyod" in REGISTRY[name].requires
    return pytest.param(
        name,
        marks=pytest.mark.skipif(needs_pyod and not HAVE_PYOD, reason="PyOD not installed"),
    )


@pytest.fixture(scope="module")
def synthetic_prep():
    """Normals on a 2-D plane inside 9-D space, anomalies off it: every detector should see them.

    213 normals, 10 anomalies and 9 features, like 42_WBC: the same array shapes
    let the autoencoders reuse one compilation across both tests.
    """
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(2, 9))
    normals = rng.normal(size=(213, 2)) @ basis + rng.normal(0, 0.05, (213, 9))
    anomalies = rng.normal(size=(10, 2)) @ basis + rng.normal(0, 3.0, (10, 9))
    frame = pd.DataFrame(np.vstack([normals, anomalies]), columns=[f"x{i}" for i in range(9)])
    frame["y"] = np.r_[np.zeros(213), np.ones(10)]
    data = Dataset("synthetic", validate_frame(frame, label="y"), "y", None, "test")
    return prepare(data, seed=0)


@pytest.mark.parametrize("name", [_param(n) for n in NAMES])
def test_detector_ranks_obvious_anomalies_high(name, synthetic_prep):
    record = run_one(REGISTRY[name], synthetic_prep)
    assert record["error"] == ""
    assert record["n_test"] == len(synthetic_prep.y_test)
    # A sign error (sklearn's "lower = outlier") would put AUROC near 0, not near 1.
    assert record["auroc"] > 0.9, record
    assert 0 <= record["recall_at_1pct_fpr"] <= 1
    assert record["fit_seconds"] >= 0 and record["score_seconds"] >= 0


@pytest.mark.realdata
@pytest.mark.parametrize("name", [_param(n) for n in NAMES])
def test_detector_runs_on_a_small_adbench_set(name, adbench_dir):
    prep = prepare(load_adbench(adbench_dir / "42_WBC.npz"), seed=0)
    record = run_one(REGISTRY[name], prep)
    assert record["error"] == "", record["error"]
    assert record["n_test_anomalies"] == 10  # all of WBC's anomalies are tested
    for metric in ("auroc", "auprc", "recall_at_1pct_fpr"):
        assert 0.0 <= record[metric] <= 1.0


def test_failing_detector_is_recorded_not_raised(synthetic_prep):
    class Broken:
        def fit(self, x_train, x_val):
            raise RuntimeError("boom")

        def score(self, x):  # pragma: no cover - never reached
            return x[:, 0]

    spec = det.DetectorSpec("broken", "broken", lambda seed: Broken(), "test")
    record = run_one(spec, synthetic_prep)
    assert record["error"] == "RuntimeError: boom"
    assert np.isnan(record["auprc"])


def test_missing_pyod_is_skipped_by_default_and_refused_by_name(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name in ("pyod", "torch") else real_find_spec(name, *a),
    )
    names = [spec.name for spec in select_detectors()]
    assert "pyod-ae" not in names and "ecod" not in names
    assert {
        "aescope-auto",
        "aescope-single",
        "iforest",
        "knn",
        "lof",
        "norm",
        "ocsvm",
        "pca",
    } <= set(names)
    assert not available(REGISTRY["ecod"])
    with pytest.raises(AescopeError, match="aescope\\[bench\\]"):
        select_detectors(["iforest", "ecod"])


def test_unknown_detector_name_lists_the_choices():
    with pytest.raises(AescopeError, match="iforest"):
        select_detectors(["nope"])


def test_pca_keeps_fewer_components_than_features(synthetic_prep):
    pca = det.PCAReconstruction()
    pca.fit(synthetic_prep.x_train, synthetic_prep.x_val)
    assert 1 <= pca.n_components_ < synthetic_prep.x_train.shape[1]
    assert np.all(pca.score(synthetic_prep.x_test) >= 0)
