import numpy as np
import pandas as pd
import pytest

from aescope.errors import DataValidationError
from aescope.preprocess import (
    STUDY_PREPROCESSING,
    FittedPreprocessor,
    PreprocessSpec,
    fit_preprocessor,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "Time": np.arange(500.0),
            "V1": rng.normal(3, 2, 500),
            "V2": rng.normal(-1, 5, 500),
            "Amount": rng.exponential(80, 500),
        }
    )


def test_study_preprocessing_drops_time_and_standardises(frame):
    fitted = fit_preprocessor(STUDY_PREPROCESSING, frame)
    x = fitted.transform(frame)
    assert fitted.output_columns == ("V1", "V2", "Amount")
    assert x.dtype == np.float32 and x.shape == (500, 3)
    np.testing.assert_allclose(x.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(x.std(axis=0), 1, atol=1e-4)


def test_scaler_state_comes_from_the_fit_rows_only(frame):
    fitted = fit_preprocessor(STUDY_PREPROCESSING, frame.iloc[:100])
    assert fitted.center[0] == pytest.approx(frame["V1"].iloc[:100].mean())
    assert fitted.center[0] != pytest.approx(frame["V1"].mean())


def test_robust_scaling_and_log1p(frame):
    spec = PreprocessSpec(drop=("Time",), scaling="robust", log1p=("Amount",))
    fitted = fit_preprocessor(spec, frame)
    x = fitted.transform(frame)
    np.testing.assert_allclose(np.median(x, axis=0), 0, atol=1e-5)
    logged = np.log1p(frame["Amount"])
    iqr = logged.quantile(0.75) - logged.quantile(0.25)
    assert fitted.scale[2] == pytest.approx(iqr)


def test_column_order_does_not_matter_but_names_do(frame):
    fitted = fit_preprocessor(STUDY_PREPROCESSING, frame)
    shuffled = frame[["Amount", "V2", "Time", "V1"]]
    np.testing.assert_array_equal(fitted.transform(shuffled), fitted.transform(frame))
    with pytest.raises(DataValidationError, match=r"missing columns \['V2'\].*unexpected.*'W2'"):
        fitted.transform(frame.rename(columns={"V2": "W2"}))


def test_round_trip_through_dict_is_exact(frame):
    spec = PreprocessSpec(drop=("Time",), log1p=("Amount",))
    fitted = fit_preprocessor(spec, frame)
    again = FittedPreprocessor.from_dict(fitted.to_dict())
    np.testing.assert_array_equal(again.transform(frame), fitted.transform(frame))


def test_errors_name_the_problem(frame):
    with pytest.raises(DataValidationError, match="'Nope'"):
        fit_preprocessor(PreprocessSpec(drop=("Nope",)), frame)
    bad = frame.assign(Amount=frame["Amount"].where(frame.index != 4, -3.0))
    with pytest.raises(
        DataValidationError, match=r"'Amount', row 4: log1p needs values > -1, got -3.0"
    ):
        fit_preprocessor(PreprocessSpec(log1p=("Amount",)), bad)
    with pytest.raises(DataValidationError, match="scaling"):
        PreprocessSpec(scaling="minmax")
    with pytest.raises(DataValidationError, match="empty"):
        fit_preprocessor(STUDY_PREPROCESSING, frame.iloc[:0])


def test_usable_range_agrees_with_what_transform_refuses(frame):
    spec = PreprocessSpec(drop=("Time",), log1p=("Amount",))
    fitted = fit_preprocessor(spec, frame)
    low, high = fitted.usable_range()
    assert fitted.input_columns == ("Time", "V1", "V2", "Amount")
    assert (low[0], high[0]) == (-np.inf, np.inf)  # dropped: any finite value will do
    assert np.isfinite(low[1:3]).all() and np.isfinite(high[1:3]).all()
    assert high[3] == np.inf  # log1p: no finite amount leaves float32 once logged
    for column in ("V1", "V2"):
        i = fitted.input_columns.index(column)
        for value, usable in (
            (high[i] * (1 - 1e-9), True),
            (high[i] * (1 + 1e-9), False),
            (low[i] * (1 - 1e-9), True),
            (low[i] * (1 + 1e-9), False),
        ):
            row = frame.iloc[:1].copy()
            row[column] = value
            assert fitted.invalid_rows(row)[0] == (not usable), (column, value)
