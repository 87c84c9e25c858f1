"""The model behind the service: the exported ONNX graph, run by ONNX Runtime in-process.

Why ONNX Runtime and not the JAX path: measured on the 2-core development machine
(benchmarks/RESULTS.md, "Serving") one row takes 13–32 µs through ONNX Runtime
against 71–73 µs through the jitted JAX reconstruction, 1,024 rows 0.47–0.49 ms
against 0.59–1.7 ms, and ONNX Runtime compiles nothing per batch size where JAX
needs 0.5–0.7 s per new shape. It also means the service runs exactly the graph
that ``aescope export`` writes. Its scores agree with ``score_samples`` to a few
1e-6 relative (float32 matrix products summed in another order); the tests hold
it to 1e-5.

Batches are padded to power-of-two buckets and every bucket is run once at
start-up: ONNX Runtime plans memory per input shape, so a bounded set of shapes,
all seen before the first request, keeps every request on a path already taken.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from aescope.errors import OptionalDependencyError
from aescope.explain import error_shares, top_columns
from aescope.export.onnx import build_model
from aescope.export.recipe import ScoreRecipe, recipe_from_detector

try:
    import onnxruntime as ort
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise OptionalDependencyError(
        "serving needs onnxruntime: pip install 'aescope[serve]'"
    ) from exc


@dataclass(frozen=True)
class Scores:
    """One batch's answers, row-aligned with its input."""

    score: np.ndarray  # float64 [n]
    flag: np.ndarray  # bool [n]
    feature_errors: np.ndarray  # float32 [n, n_features]


def bucket_sizes(max_rows: int) -> tuple[int, ...]:
    """Powers of two from 1 up to the first one that holds ``max_rows``."""
    sizes = [1]
    while sizes[-1] < max_rows:
        sizes.append(sizes[-1] * 2)
    return tuple(sizes)


class Scorer:
    """A fitted detector's score, flag and per-feature errors for raw float64 rows."""

    def __init__(self, recipe: ScoreRecipe, *, max_rows: int, info: dict[str, Any]) -> None:
        self.recipe = recipe
        self.info = info
        self.buckets = bucket_sizes(max_rows)
        self.input_columns = recipe.input_columns
        self.feature_columns = np.asarray(recipe.feature_columns, dtype=object)
        self.log1p_columns = tuple(
            self.input_columns.index(c) for c in recipe.preprocessor.spec.log1p
        )
        options = ort.SessionOptions()
        # One thread: a request is at most a few thousand rows of a small network, where
        # a pool costs more in hand-offs than it gains; parallelism comes from workers.
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        graph = build_model(recipe, "float64").SerializeToString()
        self.session = ort.InferenceSession(graph, options, providers=["CPUExecutionProvider"])
        self.warm_up()

    @classmethod
    def from_detector(cls, detector: Any, *, max_rows: int) -> Scorer:
        recipe = recipe_from_detector(detector)
        info = {
            "features": list(recipe.input_columns),
            "feature_error_names": list(recipe.feature_columns),
            "threshold": recipe.threshold,
            "threshold_policy": detector.threshold_policy_.spec(),
            "aescope_version": recipe.metadata["aescope_version"],
            "data_fingerprint": detector.data_fingerprint_,
            "loss": recipe.loss,
            "architecture": detector.architecture_.to_dict(),
            "preprocessing": recipe.preprocessor.spec.to_dict(),
        }
        return cls(recipe, max_rows=max_rows, info=info)

    @classmethod
    def from_file(cls, path: str | Path, *, max_rows: int) -> Scorer:
        from aescope.detector import AutoencoderDetector

        detector = AutoencoderDetector.load(path)
        scorer = cls.from_detector(detector, max_rows=max_rows)
        scorer.info["model_file"] = Path(path).name
        return scorer

    def warm_up(self) -> None:
        """Run every bucket once, so that no request meets a shape for the first time."""
        for size in self.buckets:
            self._run(np.zeros((size, len(self.input_columns)), dtype=np.float64))

    def score(self, x: np.ndarray) -> Scores:
        """Score rows of ``x`` (float64, ``input_columns`` order), padded to a bucket."""
        n = x.shape[0]
        largest = self.buckets[-1]
        parts = [self._padded(x[i : i + largest]) for i in range(0, n, largest)]
        return Scores(*(np.concatenate([p[j] for p in parts]) for j in range(3)))

    def _padded(self, x: np.ndarray) -> tuple[np.ndarray, ...]:
        n = x.shape[0]
        size = next(b for b in self.buckets if b >= n)
        if size != n:
            x = np.concatenate([x, np.zeros((size - n, x.shape[1]), dtype=np.float64)])
        return tuple(out[:n] for out in self._run(x))

    def _run(self, x: np.ndarray) -> list[np.ndarray]:
        return self.session.run(None, {"input": np.ascontiguousarray(x, dtype=np.float64)})

    def top_features(self, errors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Names and error shares of each row's ``k`` largest per-feature errors
        (:mod:`aescope.explain`: the ranking of ``rank_features``)."""
        order = top_columns(errors, k)
        return self.feature_columns[order], error_shares(errors, order)
