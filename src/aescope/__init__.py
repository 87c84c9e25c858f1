"""aescope: autoencoder anomaly detection for tabular data, measured.

The public API is importable from here (``from aescope import
AutoencoderDetector``), lazily: ``import aescope`` loads none of JAX, pandas
or scikit-learn until a name that needs them is first used (PEP 562).
"""

from __future__ import annotations

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("aescope")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+unknown"

_PUBLIC = {
    "AutoencoderDetector": "aescope.detector",
    "rank_features": "aescope.detector",
    "Dataset": "aescope.data",
    "load_dataset": "aescope.data",
    "load_creditcard": "aescope.data",
    "load_table": "aescope.data",
    "load_adbench": "aescope.data",
    "PreprocessSpec": "aescope.preprocess",
    "Architecture": "aescope.model",
    "Layer": "aescope.model",
    "default_architecture": "aescope.model",
    "load_architecture": "aescope.model",
    "TrainConfig": "aescope.engine",
    "train": "aescope.engine",
    "parse_policy": "aescope.thresholds",
    "evaluate": "aescope.metrics",
    "score_frame": "aescope.batch",
    "AescopeError": "aescope.errors",
    "DataValidationError": "aescope.errors",
    "ConfigError": "aescope.errors",
    "ModelFileError": "aescope.errors",
}

__all__ = [  # the names of _PUBLIC, spelt out for tools that read __all__ statically
    "AescopeError",
    "Architecture",
    "AutoencoderDetector",
    "ConfigError",
    "DataValidationError",
    "Dataset",
    "Layer",
    "ModelFileError",
    "PreprocessSpec",
    "TrainConfig",
    "__version__",
    "default_architecture",
    "evaluate",
    "load_adbench",
    "load_architecture",
    "load_creditcard",
    "load_dataset",
    "load_table",
    "parse_policy",
    "rank_features",
    "score_frame",
    "train",
]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports on demand
    from aescope.batch import score_frame
    from aescope.data import Dataset, load_adbench, load_creditcard, load_dataset, load_table
    from aescope.detector import AutoencoderDetector, rank_features
    from aescope.engine import TrainConfig, train
    from aescope.errors import AescopeError, ConfigError, DataValidationError, ModelFileError
    from aescope.metrics import evaluate
    from aescope.model import Architecture, Layer, default_architecture, load_architecture
    from aescope.preprocess import PreprocessSpec
    from aescope.thresholds import parse_policy


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'aescope' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_PUBLIC})
