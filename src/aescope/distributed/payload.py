"""A model as bytes for workers, and each worker process's one loaded copy of it.

Workers may share no disk with the driver (a cluster's executors), so the model
is sent as the bytes of its file, once per worker, by the engine's own means (a
Spark broadcast variable, a Dask task every partition depends on). A worker
process loads it on first use, running every check a model file gets, and keeps
the detector for the process's later partitions: loading per partition would
cost more than scoring a small one. The cache is keyed by the model's content
digest (the SHA-256 its file carries over metadata and weights, checked on
load), so two models in one job never mix and one model sent twice is one model.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

from aescope.detector import AutoencoderDetector
from aescope.errors import ModelFileError
from aescope.modelfile import inspect_model_bytes

ModelLike = str | Path | bytes | AutoencoderDetector


@dataclass(frozen=True)
class ModelPayload:
    """The bytes to send, the content digest (the cache key) and the driver's own copy."""

    data: bytes
    sha256: str
    detector: AutoencoderDetector
    source: str


def model_payload(model: ModelLike) -> ModelPayload:
    """Bytes of a model file path, raw bytes or a fitted detector, checked here first."""
    if isinstance(model, AutoencoderDetector):
        data, source = model.to_bytes(), "<detector>"
    elif isinstance(model, bytes | bytearray | memoryview):
        data, source = bytes(model), "<model bytes>"
    elif isinstance(model, str | Path):
        path = Path(model).expanduser()
        if not path.is_file():
            raise ModelFileError(f"model file not found: {path}")
        data, source = path.read_bytes(), str(path)
    else:
        raise ModelFileError(
            f"model must be a model file path, its bytes or an AutoencoderDetector, "
            f"got {type(model).__name__}"
        )
    detector = AutoencoderDetector.from_bytes(data, source=source)
    digest = inspect_model_bytes(data, source=source)["sha256"]
    return ModelPayload(data, digest, detector, source)


_LOADED: dict[str, AutoencoderDetector] = {}
_LOCK = threading.Lock()
_LOADS = [0]  # how many times this process parsed model bytes


def worker_detector(data: bytes, sha256: str) -> AutoencoderDetector:
    """This process's detector for ``data``: loaded and checked on first call only."""
    detector = _LOADED.get(sha256)
    if detector is None:
        with _LOCK:  # a worker with several threads loads it once, not once per thread
            detector = _LOADED.get(sha256)
            if detector is None:
                detector = AutoencoderDetector.from_bytes(data, source="<model sent to worker>")
                _LOADED[sha256] = detector
                _LOADS[0] += 1
    return detector


def load_count() -> int:
    """How many times this process loaded a model (a test checks: once per worker)."""
    return _LOADS[0]
