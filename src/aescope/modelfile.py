"""Model files: one safetensors file holding arrays plus JSON metadata, never pickle.

A model file may come from anywhere (a colleague, a download), so loading it must not
execute code: safetensors stores raw numeric buffers and a JSON header, nothing else.
On top of safetensors we add what it leaves out -- a format name and version, a
declaration of every tensor's shape and dtype, and a SHA-256 over metadata and tensor
bytes -- so that a truncated, bit-flipped, tampered or foreign file is refused with a
message instead of yielding a silently wrong model.

Layout of the safetensors ``__metadata__`` header (all values are strings, as
safetensors requires):

* ``format``: ``"aescope-model"``
* ``format_version``: ``"2"`` (this aescope also reads ``"1"``; see :data:`FORMAT_VERSION`)
* ``meta``: canonical JSON of the caller's metadata
* ``tensors``: canonical JSON ``{name: {"dtype": "float32", "shape": [..]}}``
* ``sha256``: hex digest of ``format\\0version\\0meta\\0tensors\\0`` followed by every
  tensor's little-endian C-order bytes in sorted name order.

Every check on the raw bytes (header length, JSON, format, version, declared layout
against safetensors' own index) runs before the bytes reach the safetensors parser.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import numpy as np
import safetensors.numpy

from aescope._atomic import atomic_path
from aescope.errors import ModelFileError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "READABLE_VERSIONS",
    "file_sha256",
    "inspect_model_bytes",
    "inspect_model_file",
    "load_model_bytes",
    "load_model_file",
    "model_file_bytes",
    "save_model_file",
]

FORMAT_NAME = "aescope-model"
FORMAT_VERSION = 2
"""The version written. It goes up whenever an older reader would load a new file without
error but score it differently: 2 added the detector's ``neighbor_scale`` (neighbour
distances in units of reconstruction error), which a version-1 reader would ignore while
applying a calibration fitted on the scaled distances."""
READABLE_VERSIONS = (1, 2)
"""Versions read by default; a version-1 file has no ``neighbor_scale`` and scores as before."""

# safetensors' own limit on the JSON header; a larger claimed length is not a model.
_MAX_HEADER_BYTES = 100_000_000

# Numeric dtypes only: safetensors code -> numpy dtype name.
_DTYPES = {
    "BOOL": "bool",
    "U8": "uint8",
    "I8": "int8",
    "U16": "uint16",
    "I16": "int16",
    "U32": "uint32",
    "I32": "int32",
    "U64": "uint64",
    "I64": "int64",
    "F16": "float16",
    "F32": "float32",
    "F64": "float64",
}
_ALLOWED = set(_DTYPES.values())


# --------------------------------------------------------------------------- helpers


def _canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def _check_jsonable(obj: Any, where: str) -> None:
    """Refuse values JSON cannot hold faithfully, naming where they are.

    ``json.dumps`` would accept NaN (writing non-standard JSON) and reject numpy
    scalars with an unhelpful message; we want strict JSON and a precise location.
    """
    if obj is None or isinstance(obj, (bool, int, str)):
        return
    if isinstance(obj, float):
        if not math.isfinite(obj):
            raise ModelFileError(
                f"metadata value {where} is {obj}; JSON has no NaN/Infinity (use None)"
            )
        return
    if isinstance(obj, dict):
        for key, value in obj.items():
            if not isinstance(key, str):
                raise ModelFileError(f"metadata key {key!r} in {where} must be a str")
            _check_jsonable(value, f"{where}[{key!r}]")
        return
    if isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            _check_jsonable(value, f"{where}[{i}]")
        return
    raise ModelFileError(
        f"metadata value {where} has type {type(obj).__name__}, which is not JSON "
        "(convert numpy scalars/arrays with .item()/.tolist(), or store arrays as tensors)"
    )


def _digest(meta_json: str, tensors_json: str, version: str, arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for part in (FORMAT_NAME, version, meta_json, tensors_json):
        h.update(part.encode("utf-8"))
        h.update(b"\0")  # canonical JSON never contains a raw NUL: unambiguous separator
    for name in sorted(arrays):
        arr = arrays[name]
        h.update(arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False).tobytes())
    return h.hexdigest()


def _to_storable(name: Any, value: Any) -> np.ndarray:
    if not isinstance(name, str) or not name:
        raise ModelFileError(f"tensor names must be non-empty strings, got {name!r}")
    arr = np.asarray(value)
    if arr.dtype.name not in _ALLOWED:
        raise ModelFileError(
            f"tensor {name!r} has dtype {arr.dtype}; only numeric dtypes "
            f"({', '.join(sorted(_ALLOWED))}) can be stored"
        )
    # safetensors is little-endian and C-contiguous (ascontiguousarray would turn 0-d into 1-d).
    return arr.astype(arr.dtype.newbyteorder("<"), order="C", copy=False)


def _write_bytes(path: Path, data: bytes) -> None:
    """Separate so tests can simulate a crash mid-write."""
    with open(path, "wb") as handle:
        handle.write(data)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 hex digest of a whole file (for provenance records)."""
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# --------------------------------------------------------------------------- save


def model_file_bytes(meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> bytes:
    """The bytes of a model file holding ``meta`` and ``arrays`` (what :func:`save_model_file`
    writes): for shipping a model to other processes without a shared disk."""
    if not isinstance(meta, dict):
        raise ModelFileError(f"meta must be a dict, got {type(meta).__name__}")
    _check_jsonable(meta, "meta")
    if not isinstance(arrays, dict):
        raise ModelFileError(f"arrays must be a dict of name -> array, got {type(arrays)}")
    stored = {name: _to_storable(name, value) for name, value in arrays.items()}
    meta_json = _canonical_json(meta)
    tensors_json = _canonical_json(
        {n: {"dtype": a.dtype.name, "shape": list(a.shape)} for n, a in stored.items()}
    )
    version = str(FORMAT_VERSION)
    header = {
        "format": FORMAT_NAME,
        "format_version": version,
        "meta": meta_json,
        "tensors": tensors_json,
        "sha256": _digest(meta_json, tensors_json, version, stored),
    }
    return safetensors.numpy.save(stored, metadata=header)


def save_model_file(
    path: str | os.PathLike[str], meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> None:
    """Write ``meta`` (JSON-able dict) and numeric ``arrays`` atomically to ``path``.

    Tuples in ``meta`` come back as lists; arrays come back bit-identical with the same
    dtype and shape (stored little-endian).
    """
    data = model_file_bytes(meta, arrays)
    with atomic_path(path) as tmp:
        _write_bytes(tmp, data)


# --------------------------------------------------------------------------- load


def _read_header(path: Path | str, data: bytes) -> tuple[dict[str, Any], int]:
    """Validate the safetensors framing by hand; return (header dict, data start)."""
    size = len(data)
    if size == 0:
        raise ModelFileError(f"{path}: file is empty, not an aescope model file")
    if size < 8:
        raise ModelFileError(f"{path}: file is only {size} bytes, too short for a model file")
    (n,) = struct.unpack("<Q", data[:8])
    if n == 0 or n > _MAX_HEADER_BYTES or 8 + n > size:
        raise ModelFileError(
            f"{path}: not a safetensors model file or truncated (header claims {n} bytes, "
            f"file has {size}){_sniff(data)}; pickles, .npz and other formats are not accepted"
        )
    raw = data[8 : 8 + n]
    if raw[:1] != b"{":
        raise ModelFileError(f"{path}: header does not start with '{{'; not a safetensors file")
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(
            f"{path}: header is not valid JSON ({exc}); file is corrupted"
        ) from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: header is not a JSON object; file is corrupted")
    return header, 8 + n


def _sniff(data: bytes) -> str:
    """Name a few common foreign formats so the user knows what they handed us."""
    if data[:1] == b"\x80":  # PROTO opcode: pickle protocol 2 and later
        return ", it looks like a Python pickle"
    if data[:4] == b"PK\x03\x04":
        return ", it looks like a zip archive (.npz, .keras)"
    if data[:6] == b"\x93NUMPY":
        return ", it looks like a NumPy .npy file"
    if data[:8] == b"\x89HDF\r\n\x1a\n":
        return ", it looks like an HDF5 file (.h5)"
    if data.lstrip()[:1] in (b"{", b"["):
        return ", it looks like JSON text"
    return ""


def _envelope(path: Path | str, header: dict[str, Any], expected: int | None) -> dict[str, str]:
    """Check format name and version in ``__metadata__``; return it.

    ``expected`` None accepts every version in :data:`READABLE_VERSIONS`."""
    md = header.get("__metadata__")
    if not isinstance(md, dict) or md.get("format") != FORMAT_NAME:
        found = md.get("format") if isinstance(md, dict) else None
        raise ModelFileError(
            f"{path}: not an aescope model file (format name {found!r}, expected {FORMAT_NAME!r})"
        )
    missing = [k for k in ("format_version", "meta", "tensors", "sha256") if k not in md]
    if missing or not all(isinstance(v, str) for v in md.values()):
        raise ModelFileError(f"{path}: model header is incomplete or malformed ({missing})")
    try:
        version = int(md["format_version"])
    except ValueError:
        raise ModelFileError(
            f"{path}: format_version {md['format_version']!r} is not an integer"
        ) from None
    readable = READABLE_VERSIONS if expected is None else (expected,)
    if version not in readable:
        newer = version > max(readable)
        hint = "upgrade aescope" if newer else "re-train or convert it"
        reads = " or ".join(map(str, readable))
        raise ModelFileError(
            f"{path}: model file format version {version}, but this aescope reads version "
            f"{reads} ({'newer' if newer else 'older'} file: {hint})"
        )
    return md


def _check_layout(
    path: Path | str, header: dict[str, Any], md: dict[str, str], data_len: int
) -> dict:
    """Compare the declared tensors with safetensors' index before parsing any data."""
    declared = _json_object(path, md["tensors"], "tensor declaration")
    index = {k: v for k, v in header.items() if k != "__metadata__"}
    if set(index) != set(declared):
        raise ModelFileError(
            f"{path}: tensors in the file {sorted(index)} differ from those declared "
            f"{sorted(declared)}"
        )
    spans = []
    for name, entry in index.items():
        want = declared[name]
        if not isinstance(entry, dict) or not isinstance(want, dict):
            raise ModelFileError(f"{path}: tensor {name!r} has a malformed entry")
        dtype = _DTYPES.get(entry.get("dtype"))
        if dtype is None or want.get("dtype") not in _ALLOWED:
            raise ModelFileError(
                f"{path}: tensor {name!r} has unsupported dtype {entry.get('dtype')!r} "
                f"(declared {want.get('dtype')!r}); only numeric dtypes are allowed"
            )
        if dtype != want["dtype"] or entry.get("shape") != want.get("shape"):
            raise ModelFileError(
                f"{path}: tensor {name!r} is {dtype}{entry.get('shape')} in the file but "
                f"declared {want['dtype']}{want.get('shape')}"
            )
        shape, offsets = entry["shape"], entry.get("data_offsets")
        valid = (
            isinstance(shape, list)
            and all(isinstance(d, int) and d >= 0 for d in shape)
            and isinstance(offsets, list)
            and len(offsets) == 2
            and all(isinstance(o, int) for o in offsets)
        )
        if not valid:
            raise ModelFileError(f"{path}: tensor {name!r} has a malformed shape or offsets")
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if offsets[1] - offsets[0] != nbytes:
            raise ModelFileError(
                f"{path}: tensor {name!r} spans {offsets[1] - offsets[0]} bytes, "
                f"its shape and dtype need {nbytes}"
            )
        spans.append(tuple(offsets))
    end = 0
    for begin, stop in sorted(spans):
        if begin != end:
            raise ModelFileError(f"{path}: tensor data has gaps or overlaps; file is corrupted")
        end = stop
    if end != data_len:
        raise ModelFileError(
            f"{path}: tensor data is {data_len} bytes but the header describes {end}; "
            "the file is truncated or has trailing bytes"
        )
    return declared


def inspect_model_file(
    path: str | os.PathLike[str], *, expected_format: int | None = None
) -> dict[str, Any]:
    """Header-only view: ``{"format", "format_version", "meta", "tensors", "sha256"}``.

    Checks framing, format, version and layout but not the checksum (that needs every
    tensor byte); use :func:`load_model_file` before trusting the contents.
    """
    path = Path(path)
    return inspect_model_bytes(_read_file(path), source=path, expected_format=expected_format)


def inspect_model_bytes(
    data: bytes, *, source: str | os.PathLike[str] = "<model bytes>", expected_format=None
) -> dict[str, Any]:
    """:func:`inspect_model_file` for bytes in memory. Its ``sha256`` names the content
    (metadata and tensors), not the bytes: safetensors may order the header's keys
    differently each time the same model is written."""
    md, declared = _checked_bytes(source, bytes(data), expected_format)
    path = source
    return {
        "format": md["format"],
        "format_version": int(md["format_version"]),
        "meta": _parse_meta(path, md),
        "tensors": declared,
        "sha256": md["sha256"],
    }


def _checked_bytes(
    path: Path | str, data: bytes, expected_format: int | None
) -> tuple[dict[str, str], dict[str, Any]]:
    """Every check that needs no tensor parsing, on bytes from anywhere."""
    header, start = _read_header(path, data)
    expected = None if expected_format is None else int(expected_format)
    md = _envelope(path, header, expected)
    declared = _check_layout(path, header, md, len(data) - start)
    return md, declared


def _read_file(path: Path) -> bytes:
    if not path.exists():
        raise ModelFileError(f"model file not found: {path}")
    if not path.is_file():
        raise ModelFileError(f"{path} is not a regular file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read model file ({exc})") from None


def _parse_meta(path: Path | str, md: dict[str, str]) -> dict[str, Any]:
    return _json_object(path, md["meta"], "metadata")


def _json_object(path: Path | str, text: str, what: str) -> dict[str, Any]:
    """Parse one JSON object out of the header, or say which part of the file is broken."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise ModelFileError(f"{path}: {what} is not valid JSON; file is corrupted") from None
    if not isinstance(value, dict):
        raise ModelFileError(f"{path}: {what} is not a JSON object")
    return value


def load_model_file(
    path: str | os.PathLike[str], *, expected_format: int | None = None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Read and verify a model file; return ``(meta, arrays)``.

    ``expected_format`` (one version) defaults to any of :data:`READABLE_VERSIONS`. Any
    problem -- missing file, foreign format, other version, truncation, corruption,
    tampering -- raises :class:`ModelFileError` naming the file and the problem.
    """
    path = Path(path)
    return load_model_bytes(_read_file(path), source=path, expected_format=expected_format)


def load_model_bytes(
    data: bytes, *, source: str | os.PathLike[str] = "<model bytes>", expected_format=None
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """:func:`load_model_file` for bytes already in memory (a model sent to a worker):
    the same checks, in the same order; errors name ``source``."""
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ModelFileError(f"{source}: model bytes must be bytes, got {type(data).__name__}")
    data = bytes(data)
    md, declared = _checked_bytes(source, data, expected_format)
    try:
        loaded = safetensors.numpy.load(data)
    except Exception as exc:  # safetensors raises its own error types
        raise ModelFileError(f"{source}: safetensors could not parse the file ({exc})") from None
    arrays: dict[str, np.ndarray] = {}
    for name, want in declared.items():
        arr = loaded.get(name)
        if arr is None or arr.dtype.name != want["dtype"] or list(arr.shape) != want["shape"]:
            raise ModelFileError(f"{source}: tensor {name!r} does not match its declaration")
        arrays[name] = np.array(arr, copy=True)  # own the memory, not a view of `data`
    digest = _digest(md["meta"], md["tensors"], md["format_version"], arrays)
    if digest != md["sha256"]:
        raise ModelFileError(
            f"{source}: checksum mismatch; the file is corrupted or was modified after saving"
        )
    return _parse_meta(source, md), arrays
