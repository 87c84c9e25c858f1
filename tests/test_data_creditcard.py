"""Credit-card data: the bundled sample, where the full file is looked for, and the real file."""

from __future__ import annotations

import gzip
import hashlib

import numpy as np
import pytest
from _data_helpers import creditcard_csv, serve

from aescope.data import (
    CREDITCARD_COLUMNS,
    CREDITCARD_SHA256,
    find_creditcard,
    load_creditcard,
    sha256_of,
)
from aescope.data import creditcard as cc
from aescope.errors import DataUnavailableError, DataValidationError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache dir, and no AESCOPE_DATA_DIR from the outside."""
    folder = tmp_path / "cache"
    monkeypatch.setattr(cc, "default_cache_dir", lambda: folder)
    monkeypatch.delenv("AESCOPE_DATA_DIR", raising=False)
    return folder


# --- bundled sample -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return load_creditcard(sample=True)


def test_sample_shape_and_frauds(sample):
    assert sample.name == "creditcard-sample"
    assert (sample.label, sample.time) == ("Class", "Time")
    assert list(sample.frame.columns) == list(CREDITCARD_COLUMNS)
    assert len(sample.frame) == 30_492
    assert int(sample.y.sum()) == 492
    assert all(sample.frame[c].dtype == np.float64 for c in sample.features)


def test_sample_carries_the_full_files_fraud_share(sample):
    # Every fraud is kept, so the sample's own share (1.6 %) is not the population's.
    assert sample.y.mean() == pytest.approx(492 / 30_492)
    assert sample.population_prevalence == pytest.approx(492 / 284_807)
    assert sample.summary()["population_prevalence"] == sample.population_prevalence


def test_sample_rows_keep_file_order(sample):
    assert np.all(np.diff(sample.frame["Time"].to_numpy()) >= 0)


def test_sample_is_small_and_documented():
    folder = cc.resources.files("aescope.data")
    assert (folder / cc.SAMPLE_FILENAME).stat().st_size <= 5 * 1024 * 1024
    text = (folder / "SAMPLE.md").read_text(encoding="utf-8")
    for needle in (CREDITCARD_SHA256, "ODbL", "DbCL", "Worldline", "Dal Pozzolo", "float32"):
        assert needle in text


def test_sample_metadata_matches_its_content(sample):
    meta = cc.sample_metadata()
    assert meta["aescope.source_sha256"] == CREDITCARD_SHA256
    assert meta["aescope.seed"] == str(cc.SAMPLE_SEED)
    assert meta["aescope.fingerprint"] == sample.fingerprint()


def test_sample_rows_are_deterministic_and_complete():
    y = np.zeros(1000, dtype=np.int8)
    y[[3, 500, 999]] = 1
    rows = cc.sample_rows(y, n_normal=100, seed=7)
    assert np.array_equal(rows, cc.sample_rows(y, n_normal=100, seed=7))
    assert not np.array_equal(rows, cc.sample_rows(y, n_normal=100, seed=8))
    assert len(rows) == 103 and set(rows) >= {3, 500, 999}
    assert np.all(np.diff(rows) > 0)
    with pytest.raises(ValueError, match=r"asked for 998 normal rows, the data has 997"):
        cc.sample_rows(y, n_normal=998)


# --- finding, downloading, failing ---------------------------------------------------------


def test_data_dir_beats_env_and_cache(tmp_path, cache, monkeypatch):
    given, env = tmp_path / "given", tmp_path / "env"
    for folder in (given, env, cache):
        folder.mkdir()
        (folder / "creditcard.csv").write_bytes(creditcard_csv())
    monkeypatch.setenv("AESCOPE_DATA_DIR", str(env))
    assert find_creditcard(given) == given / "creditcard.csv"
    assert find_creditcard() == env / "creditcard.csv"
    monkeypatch.delenv("AESCOPE_DATA_DIR")
    assert find_creditcard() == cache / "creditcard.csv"


def test_gzip_copy_is_found_and_read(tmp_path, cache):
    (tmp_path / "creditcard.csv.gz").write_bytes(gzip.compress(creditcard_csv(rows=30)))
    ds = load_creditcard(data_dir=tmp_path, download=False)
    assert ds.name == "creditcard" and ds.source == str(tmp_path / "creditcard.csv.gz")
    assert len(ds.frame) == 30 and int(ds.y.sum()) == 6
    assert ds.frame["Class"].dtype == np.int8


def test_missing_file_without_download_names_the_three_ways(tmp_path, cache):
    with pytest.raises(DataUnavailableError) as caught:
        load_creditcard(data_dir=tmp_path, download=False)
    message = str(caught.value)
    assert f"no creditcard.csv[.gz] in {tmp_path}, {cache}" in message
    assert "(1) set AESCOPE_DATA_DIR" in message
    assert f"(2) put creditcard.csv or creditcard.csv.gz into the cache dir {cache}" in message
    assert f"(3) let aescope download it (needs internet) from {cc.CREDITCARD_URL}" in message


def test_load_downloads_into_the_cache_once(tmp_path, cache, monkeypatch):
    monkeypatch.setenv("no_proxy", "127.0.0.1")
    body = creditcard_csv(rows=25)
    monkeypatch.setattr(cc, "CREDITCARD_SHA256", hashlib.sha256(body).hexdigest())
    with serve({"/creditcard.csv": (body, None)}) as base:
        monkeypatch.setattr(cc, "CREDITCARD_URL", f"{base}/creditcard.csv")
        first = load_creditcard(data_dir=tmp_path / "empty")
    assert (cache / "creditcard.csv").read_bytes() == body
    # The server is gone: the second load must come from the cache.
    second = load_creditcard(data_dir=tmp_path / "empty")
    assert second.fingerprint() == first.fingerprint()
    assert len(second.frame) == 25


def test_wrong_columns_in_a_creditcard_file(tmp_path, cache):
    text = creditcard_csv().decode().replace('"Amount"', '"Euros"')
    (tmp_path / "creditcard.csv").write_text(text)
    with pytest.raises(DataValidationError, match=r"missing columns: 'Amount'"):
        load_creditcard(data_dir=tmp_path, download=False)


def test_sha256_of_gzip_is_that_of_its_content(tmp_path):
    body = creditcard_csv()
    (tmp_path / "a.csv.gz").write_bytes(gzip.compress(body))
    assert sha256_of(tmp_path / "a.csv.gz") == hashlib.sha256(body).hexdigest()


# --- the real file (one load per module) ------------------------------------------------------


@pytest.fixture(scope="module")
def real_path(shared_data_dir):
    return find_creditcard(shared_data_dir)


@pytest.fixture(scope="module")
def real(shared_data_dir):
    # The only full load of the 150 MB file in the test session, through the public entry.
    return load_creditcard(data_dir=shared_data_dir, download=False)


@pytest.mark.realdata
def test_real_file_facts(real, real_path):
    assert real.name == "creditcard" and real.source == str(real_path)
    assert real.frame.shape == (284_807, 31)
    assert list(real.frame.columns) == list(CREDITCARD_COLUMNS)
    assert int(real.y.sum()) == 492
    assert (len(real.frame), int(real.y.sum())) == (cc.CREDITCARD_ROWS, cc.CREDITCARD_FRAUDS)
    assert real.prevalence is None  # its own share is the population's
    assert real.population_prevalence == pytest.approx(492 / 284_807)
    assert real.frame["Amount"].mean() == pytest.approx(88.349619, abs=1e-6)


@pytest.mark.realdata
def test_real_file_checksum(real_path):
    assert sha256_of(real_path) == CREDITCARD_SHA256


@pytest.mark.realdata
def test_bundled_sample_is_reproduced_from_the_real_file(real, sample):
    rebuilt = cc.build_sample(real)
    assert list(rebuilt.columns) == list(sample.frame.columns)
    # Stored values are exactly the float32 (V*) / float64 (Time, Amount) of the real rows.
    assert np.array_equal(rebuilt.to_numpy(dtype=np.float64), sample.frame.to_numpy())
