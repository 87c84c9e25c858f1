"""Verified download against a loopback server: success, mismatch, truncation, offline."""

from __future__ import annotations

import hashlib

import pytest
from _data_helpers import closed_port_url, creditcard_csv, serve

from aescope.data import download_creditcard, download_verified
from aescope.errors import DataUnavailableError

BODY = creditcard_csv(rows=50)
SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    # A proxy configured in the environment must not intercept 127.0.0.1.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def server():
    routes = {
        "/creditcard.csv": (BODY, None),
        "/truncated.csv": (BODY[: len(BODY) // 2], len(BODY)),
    }
    with serve(routes) as base:
        yield base


def _files(folder):
    return sorted(p.name for p in folder.rglob("*")) if folder.exists() else []


def test_download_lands_verified_in_the_cache(server, tmp_path):
    cache = tmp_path / "cache"
    path = download_creditcard(f"{server}/creditcard.csv", SHA, cache, progress=True)
    assert path == cache / "creditcard.csv"
    assert path.read_bytes() == BODY
    assert _files(cache) == ["creditcard.csv"]


def test_checksum_mismatch_leaves_nothing(server, tmp_path):
    wrong = "0" * 64
    with pytest.raises(DataUnavailableError, match=rf"checksum mismatch.*expected sha256 {wrong}"):
        download_creditcard(f"{server}/creditcard.csv", wrong, tmp_path, progress=False)
    assert _files(tmp_path) == []


def test_truncated_transfer_leaves_nothing(server, tmp_path):
    with pytest.raises(DataUnavailableError, match=rf"truncated: got {len(BODY) // 2:,} of"):
        download_creditcard(f"{server}/truncated.csv", SHA, tmp_path, progress=False)
    assert _files(tmp_path) == []


def test_http_error_leaves_nothing(server, tmp_path):
    with pytest.raises(DataUnavailableError, match=r"HTTP 404"):
        download_creditcard(f"{server}/missing.csv", SHA, tmp_path, progress=False)
    assert _files(tmp_path) == []


def test_failed_download_keeps_an_existing_file(server, tmp_path):
    (tmp_path / "creditcard.csv").write_bytes(b"older copy")
    with pytest.raises(DataUnavailableError):
        download_creditcard(f"{server}/truncated.csv", SHA, tmp_path, progress=False)
    assert (tmp_path / "creditcard.csv").read_bytes() == b"older copy"
    assert _files(tmp_path) == ["creditcard.csv"]


def test_offline_error_names_the_three_ways(tmp_path):
    url = closed_port_url()
    with pytest.raises(DataUnavailableError) as caught:
        download_creditcard(url, SHA, tmp_path, progress=False, timeout=5)
    message = str(caught.value)
    assert "cannot reach" in message
    assert "set AESCOPE_DATA_DIR to a folder holding creditcard.csv" in message
    assert f"into the cache dir {tmp_path}" in message
    assert f"download it (needs internet) from {url}" in message
    assert "\n" not in message
    assert _files(tmp_path) == []


def test_only_http_urls_are_fetched(tmp_path):
    source = tmp_path / "x.csv"
    source.write_bytes(BODY)
    with pytest.raises(DataUnavailableError, match=r"only http\(s\) URLs"):
        download_verified(source.as_uri(), tmp_path / "out.csv", SHA)
    assert not (tmp_path / "out.csv").exists()
