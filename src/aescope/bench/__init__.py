"""Side-by-side detection benchmark: aescope's autoencoders against classic and deep detectors.

One protocol (:mod:`~aescope.bench.protocol`) feeds every detector
(:mod:`~aescope.bench.detectors`) the same rows; :mod:`~aescope.bench.runner`
loops over data sets, seeds and detectors; :mod:`~aescope.bench.ranks`,
:mod:`~aescope.bench.tables`, :mod:`~aescope.bench.figures` and
:mod:`~aescope.bench.report` turn the records into ranks, tables and a plot.
"""

from aescope.bench.detectors import REGISTRY, Detector, DetectorSpec, available, select_detectors
from aescope.bench.protocol import Prepared, prepare, subsample
from aescope.bench.ranks import RankSummary, average_ranks, nemenyi_cd, rank_table, summarize_ranks
from aescope.bench.runner import run_benchmark, run_one
from aescope.bench.sources import Source, adbench_sources, creditcard_source, select_sources

__all__ = [
    "REGISTRY",
    "Detector",
    "DetectorSpec",
    "Prepared",
    "RankSummary",
    "Source",
    "adbench_sources",
    "available",
    "average_ranks",
    "creditcard_source",
    "nemenyi_cd",
    "prepare",
    "rank_table",
    "run_benchmark",
    "run_one",
    "select_detectors",
    "select_sources",
    "subsample",
    "summarize_ranks",
]
