"""Property-based checks: whatever bytes, table shapes or values arrive, the only outcomes
are a correct result or an :class:`~aescope.errors.AescopeError` (never another exception,
never a NaN score)."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aescope import AutoencoderDetector
from aescope.data import load_dataset
from aescope.data.stream import open_table
from aescope.errors import AescopeError

SETTINGS = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "NA", "nan", "inf", "-inf", "1e39", "1,5", "x", '"3"', "TRUE", " 7 "]),
    st.text(max_size=6),
)
names = st.one_of(st.sampled_from(["a", "b", "c", "", "Unnamed: 0", "a"]), st.text(max_size=5))


def _csv_text(header: list[str], rows: list[list[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()


@st.composite
def csv_tables(draw) -> str:
    width = draw(st.integers(min_value=1, max_value=4))
    header = draw(st.lists(names, min_size=width, max_size=width))
    rows = draw(st.lists(st.lists(cells, min_size=width, max_size=width), min_size=0, max_size=12))
    if draw(st.booleans()) and rows:  # a ragged row now and then
        rows[-1] = rows[-1][:-1] or ["1", "2"]
    return _csv_text(header, rows)


def _write(data: bytes | str, suffix: str = ".csv") -> Path:
    with tempfile.NamedTemporaryFile(delete=False, suffix=suffix) as handle:
        handle.write(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return Path(handle.name)


def _read_everything(path: Path) -> None:
    """Every loader a command uses: the whole-table one and the streaming one."""
    try:
        data = load_dataset(str(path))
    except AescopeError:
        pass
    else:
        values = data.frame.to_numpy(dtype=np.float64)
        assert np.isfinite(values).all()  # the gate lets no NaN or inf through
    try:
        stream = open_table(path)
        numeric = [c for c in stream.columns if c]
        for chunk in stream.chunks(numeric, rows=5):
            assert all(chunk[c].dtype == np.float64 for c in numeric)
    except AescopeError:
        pass


@SETTINGS
@given(st.one_of(st.binary(max_size=600), csv_tables()))
def test_random_bytes_and_csv_shapes_load_or_raise_an_aescope_error(content):
    path = _write(content)
    try:
        _read_everything(path)
    finally:
        path.unlink()


@pytest.fixture(scope="module")
def detector() -> AutoencoderDetector:
    x = pd.DataFrame(np.random.default_rng(0).normal(size=(600, 3)), columns=["a", "b", "c"])
    return AutoencoderDetector(epochs=2, random_state=0).fit(x)


values = st.floats(allow_nan=True, allow_infinity=True, width=64)


@SETTINGS
@given(st.lists(st.tuples(values, values, values), min_size=1, max_size=20))
def test_random_values_score_or_raise_never_nan(detector, rows):
    frame = pd.DataFrame(rows, columns=["a", "b", "c"])
    try:
        scores = detector.score_samples(frame)
    except AescopeError:
        assert not np.isfinite(frame.to_numpy()).all() or np.abs(frame.to_numpy()).max() > 1e37
        return
    assert not np.isnan(scores).any()
    flags = detector.predict(frame)
    assert (flags[np.isinf(scores)] == 1).all()  # an overflowing row is always an alert
