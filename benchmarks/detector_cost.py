"""What the default detector costs on credit cards: fit seconds, file size, scoring speed.

Fits ``AutoencoderDetector()`` with its defaults and with ``n_models=1,
neighbors=0, input_noise=0`` (the one-model detector, the default before issue
#11) on the bench protocol's credit-card split (seed 0), saves both, and
scores the test rows tiled to ``--rows`` rows from memory (scaled matrices, so
the preprocessing is not timed), twice, the second run timed. It also times the
two terms of the default score apart.

    python benchmarks/detector_cost.py --rows 1000000
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from aescope.bench.protocol import prepare
from aescope.bench.sources import creditcard_source
from aescope.detector import AutoencoderDetector

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def measure(name: str, detector: AutoencoderDetector, prep, x_big: np.ndarray) -> dict:
    t0 = time.perf_counter()
    detector.fit(prep.x_train, validation_data=prep.x_val)
    fit = time.perf_counter() - t0
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m.aescope"
        detector.save(path)
        size = path.stat().st_size
    detector.score_samples(x_big[:70_000])  # compile the inference shapes
    t0 = time.perf_counter()
    detector.score_samples(x_big)
    score = time.perf_counter() - t0
    row = {"detector": name, "fit_s": fit, "file_kb": size / 1024, "rows_per_s": len(x_big) / score}
    scorer = detector.scorer_
    t0 = time.perf_counter()
    scorer._feature_errors(x_big)
    row["reconstruction_rows_per_s"] = len(x_big) / (time.perf_counter() - t0)
    if scorer.k:
        t0 = time.perf_counter()
        scorer._distances(x_big)
        row["neighbors_rows_per_s"] = len(x_big) / (time.perf_counter() - t0)
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    prep = prepare(creditcard_source(DATA).load(), seed=0)
    reps = -(-args.rows // len(prep.x_test))
    x_big = np.tile(prep.x_test, (reps, 1))[: args.rows]
    print(f"load average {os.getloadavg()}; {args.rows:,} rows × {x_big.shape[1]} features")
    one_model = {"n_models": 1, "neighbors": 0, "input_noise": 0.0}  # the default before #11
    for name, options in (("default", {}), ("one model", one_model)):
        detector = AutoencoderDetector(preprocessing=None, random_state=0, **options)
        row = measure(name, detector, prep, x_big)
        print(
            " | ".join(f"{k} {v:,.1f}" if isinstance(v, float) else str(v) for k, v in row.items())
        )
    print(f"load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
