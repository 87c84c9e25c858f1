"""Data layer: load, validate and describe tables; nothing here knows about models.

Every loader returns a :class:`Dataset` whose frame passed :func:`validate_frame`.
"""

from aescope.data.adbench import load_adbench
from aescope.data.creditcard import (
    CREDITCARD_COLUMNS,
    CREDITCARD_SHA256,
    CREDITCARD_URL,
    default_cache_dir,
    download_creditcard,
    find_creditcard,
    load_creditcard,
    load_creditcard_file,
)
from aescope.data.dataset import Dataset, frame_fingerprint
from aescope.data.download import download_verified, sha256_of
from aescope.data.named import BUILTIN_DATASETS, load_dataset
from aescope.data.tables import load_table, read_frame
from aescope.data.validate import validate_frame

__all__ = [
    "BUILTIN_DATASETS",
    "CREDITCARD_COLUMNS",
    "CREDITCARD_SHA256",
    "CREDITCARD_URL",
    "Dataset",
    "default_cache_dir",
    "download_creditcard",
    "download_verified",
    "find_creditcard",
    "frame_fingerprint",
    "load_adbench",
    "load_creditcard",
    "load_creditcard_file",
    "load_dataset",
    "load_table",
    "read_frame",
    "sha256_of",
    "validate_frame",
]
