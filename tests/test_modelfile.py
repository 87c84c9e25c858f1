"""Model files: exact round trip, and every kind of damaged or foreign file refused."""

from __future__ import annotations

import json
import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

from aescope import modelfile
from aescope.errors import ModelFileError
from aescope.modelfile import (
    FORMAT_NAME,
    FORMAT_VERSION,
    file_sha256,
    inspect_model_file,
    load_model_file,
    save_model_file,
)

META = {
    "architecture": {"layers": [{"units": 16, "activation": "relu"}], "name": "seed-best"},
    "feature_names": ["V1", "V2", "Amount"],
    "threshold": 3.25,
    "threshold_policy": {"kind": "fpr", "fpr": 0.001},
    "history": {"train_loss": [1.0, 0.5, 0.25], "val_loss": []},
    "data_fingerprint": "ab" * 32,
    "versions": {"aescope": "0.1.0", "jax": "0.10.2"},
    "flags": [True, False, None],
    "unicode": "Überweisung €",
}


def _arrays() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "layer0.kernel": rng.normal(size=(29, 16)).astype(np.float32),
        "layer0.bias": rng.normal(size=16).astype(np.float32),
        "layer1.kernel": rng.normal(size=(16, 29)).astype(np.float32),
        "scaler.mean": rng.normal(size=29),  # float64
        "counts": np.arange(5, dtype=np.int64),
        "mask": np.array([True, False, True]),
        "scalar": np.array(2.5, dtype=np.float32),
        "empty": np.zeros((0, 3), dtype=np.float32),
    }


@pytest.fixture
def model_path(tmp_path: Path) -> Path:
    path = tmp_path / "model.aescope"
    save_model_file(path, META, _arrays())
    return path


def _header_bounds(data: bytes) -> tuple[int, int]:
    (n,) = struct.unpack("<Q", data[:8])
    return 8, 8 + n


def _refused(path: Path, pattern: str) -> None:
    with pytest.raises(ModelFileError, match=pattern) as info:
        load_model_file(path)
    assert str(path) in str(info.value)


def test_round_trip_is_exact(model_path: Path):
    meta, arrays = load_model_file(model_path)
    assert meta == META
    original = _arrays()
    assert set(arrays) == set(original)
    for name, value in original.items():
        assert arrays[name].dtype == value.dtype, name
        assert arrays[name].shape == value.shape, name
        assert arrays[name].tobytes() == value.tobytes(), name
        assert arrays[name].flags.writeable


def test_round_trip_big_endian_and_non_contiguous(tmp_path: Path):
    base = np.arange(12, dtype=np.float64).reshape(3, 4)
    arrays = {"be": np.arange(4, dtype=">i4"), "strided": base[:, ::2]}
    save_model_file(tmp_path / "m", {}, arrays)
    meta, loaded = load_model_file(tmp_path / "m")
    assert meta == {}
    np.testing.assert_array_equal(loaded["be"], np.arange(4))
    np.testing.assert_array_equal(loaded["strided"], base[:, ::2])


def test_inspect_reads_header(model_path: Path):
    info = inspect_model_file(model_path)
    assert info["format"] == FORMAT_NAME and info["format_version"] == FORMAT_VERSION
    assert info["meta"] == META
    assert info["tensors"]["layer0.kernel"] == {"dtype": "float32", "shape": [29, 16]}
    assert len(info["sha256"]) == 64


def test_file_is_plain_safetensors(model_path: Path):
    import safetensors.numpy

    loaded = safetensors.numpy.load(model_path.read_bytes())
    np.testing.assert_array_equal(loaded["layer0.bias"], _arrays()["layer0.bias"])


def test_file_sha256(model_path: Path):
    import hashlib

    assert file_sha256(model_path) == hashlib.sha256(model_path.read_bytes()).hexdigest()


@pytest.mark.parametrize("keep", [0.0, 0.0001, 0.01, 0.3, 0.6, 0.99])
def test_truncated_files_are_refused(model_path: Path, keep: float):
    data = model_path.read_bytes()
    model_path.write_bytes(data[: max(1, int(len(data) * keep)) if keep else 4])
    with pytest.raises(ModelFileError) as info:
        load_model_file(model_path)
    message = str(info.value)
    assert str(model_path) in message
    assert any(w in message for w in ("truncated", "too short", "header", "corrupted"))


def test_one_byte_short_is_refused(model_path: Path):
    data = model_path.read_bytes()
    model_path.write_bytes(data[:-1])
    _refused(model_path, "truncated or has trailing bytes")


def test_trailing_bytes_are_refused(model_path: Path):
    model_path.write_bytes(model_path.read_bytes() + b"\0")
    _refused(model_path, "truncated or has trailing bytes")


@pytest.mark.parametrize("where", [0.0, 0.5, 1.0])
def test_bit_flip_in_tensor_data_is_detected(model_path: Path, where: float):
    data = bytearray(model_path.read_bytes())
    _, start = _header_bounds(data)
    pos = start + int((len(data) - start - 1) * where)
    data[pos] ^= 0x01
    model_path.write_bytes(bytes(data))
    _refused(model_path, "checksum mismatch")


def test_bit_flips_anywhere_in_header_are_detected(model_path: Path):
    original = model_path.read_bytes()
    _, end = _header_bounds(original)
    undetected = []
    for pos in range(end):  # every byte of length prefix and JSON header, padding included
        data = bytearray(original)
        data[pos] ^= 1 << (pos % 8)
        model_path.write_bytes(bytes(data))
        try:
            load_model_file(model_path)
        except ModelFileError as exc:
            assert str(model_path) in str(exc)
        else:
            undetected.append(pos)
    assert undetected == []


def test_tampered_metadata_same_length_is_detected(model_path: Path):
    data = model_path.read_bytes()
    # the threshold inside the escaped meta JSON string: 3.25 -> 9.25, same length
    assert data.count(b'\\"threshold\\":3.25') == 1
    tampered = data.replace(b'\\"threshold\\":3.25', b'\\"threshold\\":9.25')
    assert len(tampered) == len(data)
    model_path.write_bytes(tampered)
    _refused(model_path, "checksum mismatch")


def test_tampered_declaration_is_detected(model_path: Path):
    data = model_path.read_bytes()
    old = b'\\"layer0.bias\\":{\\"dtype\\":\\"float32\\",\\"shape\\":[16]}'
    assert data.count(old) == 1
    model_path.write_bytes(data.replace(old, old.replace(b"[16]", b"[61]")))
    _refused(model_path, "layer0.bias")


def _rewrite_envelope(path: Path, **changes: str) -> None:
    """Re-frame the file with edited ``__metadata__`` values (valid safetensors)."""
    data = path.read_bytes()
    _, end = _header_bounds(data)
    header = json.loads(data[8:end])
    header["__metadata__"].update(changes)
    raw = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw)) + raw + data[end:])


def test_newer_and_older_versions_are_refused_naming_both(model_path: Path):
    _rewrite_envelope(model_path, format_version=str(FORMAT_VERSION + 1))
    _refused(model_path, rf"format version {FORMAT_VERSION + 1}.*reads version 1 or 2")
    _refused(model_path, "newer file: upgrade aescope")
    _rewrite_envelope(model_path, format_version="0")
    _refused(model_path, "format version 0.*older")


def test_a_version_1_file_is_still_read(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(modelfile, "FORMAT_VERSION", 1)
    save_model_file(tmp_path / "v1.aescope", META, _arrays())
    monkeypatch.undo()
    assert inspect_model_file(tmp_path / "v1.aescope")["format_version"] == 1
    meta, arrays = load_model_file(tmp_path / "v1.aescope")
    assert meta == META and set(arrays) == set(_arrays())
    with pytest.raises(ModelFileError, match=r"format version 1.*reads version 2"):
        load_model_file(tmp_path / "v1.aescope", expected_format=2)


def test_expected_format_argument(model_path: Path):
    with pytest.raises(ModelFileError, match=f"format version {FORMAT_VERSION}.*reads version 7"):
        load_model_file(model_path, expected_format=7)
    meta, _ = load_model_file(model_path, expected_format=FORMAT_VERSION)
    assert meta == META


def test_wrong_magic_is_refused(model_path: Path):
    _rewrite_envelope(model_path, format="other-model")
    _refused(model_path, "not an aescope model file.*'other-model'")


def test_plain_safetensors_without_envelope_is_refused(tmp_path: Path):
    import safetensors.numpy

    path = tmp_path / "foreign.safetensors"
    path.write_bytes(safetensors.numpy.save({"w": np.ones(3, dtype=np.float32)}))
    _refused(path, "not an aescope model file")


class _Bomb:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("protocol", [0, 2, pickle.HIGHEST_PROTOCOL])
def test_pickle_is_refused_without_running_it(tmp_path: Path, protocol: int):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Bomb(str(marker)), protocol=protocol)
    # sanity: unpickling really would create the marker
    pickle.loads(payload)
    assert marker.exists()
    marker.unlink()

    path = tmp_path / "model.aescope"
    path.write_bytes(payload)
    with pytest.raises(ModelFileError, match="not a safetensors model file") as info:
        load_model_file(path)
    assert not marker.exists()
    if protocol >= 2:
        assert "looks like a Python pickle" in str(info.value)


def test_npz_is_refused(tmp_path: Path):
    path = tmp_path / "model.npz"
    np.savez(path, w=np.ones(3))
    _refused(path, "not a safetensors model file.*looks like a zip archive")


def test_empty_file_is_refused(tmp_path: Path):
    path = tmp_path / "empty.aescope"
    path.write_bytes(b"")
    _refused(path, "file is empty")


def test_json_file_is_refused(tmp_path: Path):
    path = tmp_path / "model.json"
    path.write_text(json.dumps({"format": FORMAT_NAME}))
    _refused(path, "not a safetensors model file.*looks like JSON")


def test_missing_path_and_directory_are_refused(tmp_path: Path):
    _refused(tmp_path / "nope.aescope", "model file not found")
    _refused(tmp_path, "is not a regular file")


def test_save_refuses_bad_inputs(tmp_path: Path):
    path = tmp_path / "m"
    with pytest.raises(ModelFileError, match=r"meta\['history'\]\[1\] is nan"):
        save_model_file(path, {"history": [1.0, float("nan")]}, {})
    with pytest.raises(ModelFileError, match=r"meta\['x'\] has type float32"):
        save_model_file(path, {"x": np.float32(1)}, {})
    with pytest.raises(ModelFileError, match="tensor 'names' has dtype object"):
        save_model_file(path, {}, {"names": np.array(["a", None], dtype=object)})
    with pytest.raises(ModelFileError, match="tensor 'c' has dtype complex128"):
        save_model_file(path, {}, {"c": np.ones(2, dtype=complex)})
    assert not path.exists()


def test_atomic_save_keeps_old_file_on_crash(model_path: Path, monkeypatch):
    before = model_path.read_bytes()

    def crashing_writer(path: Path, data: bytes) -> None:
        with open(path, "wb") as handle:
            handle.write(data[: len(data) // 2])  # half written, then the "crash"
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(modelfile, "_write_bytes", crashing_writer)
    with pytest.raises(OSError, match="simulated"):
        save_model_file(model_path, {"new": True}, {"w": np.zeros(1000)})
    assert model_path.read_bytes() == before
    assert os.listdir(model_path.parent) == [model_path.name]
    meta, _ = load_model_file(model_path)
    assert meta == META


def test_save_overwrites_atomically(model_path: Path):
    save_model_file(model_path, {"v": 2}, {"w": np.ones(2)})
    meta, arrays = load_model_file(model_path)
    assert meta == {"v": 2}
    assert list(arrays) == ["w"]
    assert os.listdir(model_path.parent) == [model_path.name]
