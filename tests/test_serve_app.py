"""The scoring app in-process (httpx's ASGI transport): answers, model card, docs, limits."""

from __future__ import annotations

import asyncio
import gc
import json

import httpx
import numpy as np
import pandas as pd
import pytest
from _serve_helpers import detector, model_path
from typer.testing import CliRunner

from aescope.cli import app as cli_app
from aescope.data import load_creditcard
from aescope.detector import rank_features
from aescope.errors import ConfigError, DataValidationError
from aescope.serve.app import ScoringService, app_for, app_from_env, get_service
from aescope.serve.payload import PayloadCodec
from aescope.serve.scorer import Scorer, bucket_sizes
from aescope.serve.settings import ServeSettings

MAX_ROWS = 512


def call(app, method: str, path: str, **kwargs) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
            return await client.request(method, path, **kwargs)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def scorer() -> Scorer:
    return Scorer.from_detector(detector(), max_rows=MAX_ROWS)


@pytest.fixture(scope="module")
def app(scorer):
    return app_for(ScoringService(scorer, ServeSettings(max_rows=MAX_ROWS)))


@pytest.fixture(scope="module")
def rows():
    """300 sample rows, frauds included, so that some rows are flagged."""
    data = load_creditcard(sample=True)
    frauds = np.flatnonzero(data.y == 1)[:60]
    normals = np.flatnonzero(data.y == 0)[:240]
    return data.X.iloc[np.sort(np.concatenate([frauds, normals]))]


def test_health_model_card_and_docs(app):
    det = detector()
    assert call(app, "GET", "/healthz").json()["status"] == "ok"
    card = call(app, "GET", "/v1/model").json()
    assert card["features"] == list(det.feature_names_in_)
    assert card["threshold"] == det.threshold_ and card["threshold_policy"] == "fpr:0.01"
    assert card["data_fingerprint"] == det.data_fingerprint_
    assert card["architecture"] == det.architecture_.to_dict()
    assert card["preprocessing"]["log1p"] == ["Amount"] and card["backend"] == "onnxruntime"
    assert card["limits"]["max_rows"] == MAX_ROWS and card["batch_buckets"][-1] == MAX_ROWS
    doc = call(app, "GET", "/openapi.json").json()
    assert {"/healthz", "/v1/model", "/v1/score"} <= set(doc["paths"])
    body = doc["paths"]["/v1/score"]["post"]["requestBody"]["content"]["application/json"]
    records, columns = body["schema"]["oneOf"]
    assert records["items"]["required"] == list(det.feature_names_in_)
    assert columns["properties"]["V1"]["items"] == {"type": "number"}
    assert "swagger" in call(app, "GET", "/docs").text.lower()


def test_records_and_columns_answers_match_the_detector(app, rows):
    det = detector()
    ids = [f"tx-{i}" for i in range(len(rows))]
    records = [dict(r, id=i) for r, i in zip(rows.to_dict("records"), ids, strict=True)]
    response = call(app, "POST", "/v1/score", content=json.dumps(records))
    assert response.headers["server-timing"].startswith("score;dur=")
    answer = response.json()
    results = answer["results"]
    assert answer["threshold"] == det.threshold_
    assert [r["id"] for r in results] == ids
    score = np.array([r["score"] for r in results])
    np.testing.assert_allclose(score, det.score_samples(rows), rtol=1e-5, atol=1e-5)
    flags = np.array([r["flag"] for r in results])
    assert np.array_equal(flags, score >= det.threshold_) and 0 < flags.sum() < len(rows)
    # Top features: rank_features' names wherever the ranking is not a near-tie.
    errors = det.feature_errors(rows)
    want = rank_features(errors, 3)
    ordered = -np.sort(-errors.to_numpy(), axis=1)[:, :4]
    clear = (np.diff(-ordered, axis=1) > 1e-4 * ordered[:, :1]).all(axis=1)
    assert clear.mean() > 0.9
    for i in np.flatnonzero(clear):
        assert results[i]["top_features"] == list(want.iloc[i, [0, 2, 4]])
        shares = want.iloc[i, [1, 3, 5]].to_numpy(dtype=float)
        np.testing.assert_allclose(results[i]["top_shares"], shares, atol=2e-5)
    columns = {c: rows[c].tolist() for c in rows.columns}
    by_column = call(app, "POST", "/v1/score", json=columns).json()["results"]
    assert by_column["score"] == score.tolist() and "id" not in by_column
    assert by_column["top_features"] == [r["top_features"] for r in results]


def test_top_k_zero_and_rows_without_ids(scorer, rows):
    app = app_for(ScoringService(scorer, ServeSettings(max_rows=MAX_ROWS, top_k=0)))
    results = call(app, "POST", "/v1/score", json=rows.iloc[:3].to_dict("records")).json()
    assert [sorted(r) for r in results["results"]] == [["flag", "score"]] * 3


def test_an_internal_error_is_a_500_without_details_and_the_app_goes_on(scorer, rows):
    class Broken(ScoringService):
        def score_body(self, body: bytes) -> bytes:
            raise RuntimeError("secret internals")

    app = app_for(ScoringService(scorer, ServeSettings(max_rows=MAX_ROWS)))
    broken = Broken(scorer, ServeSettings(max_rows=MAX_ROWS))
    app.dependency_overrides[get_service] = lambda: broken
    response = call(app, "POST", "/v1/score", json=rows.iloc[:1].to_dict("records"))
    assert response.status_code == 500 and "secret" not in response.text
    assert response.json() == {"detail": "internal error; see the server log"}
    assert call(app, "GET", "/healthz").status_code == 200
    app.dependency_overrides.clear()
    assert call(app, "POST", "/v1/score", json=rows.iloc[:1].to_dict("records")).status_code == 200


def test_batches_only_ever_run_at_warmed_up_bucket_sizes(scorer, monkeypatch, rows):
    assert bucket_sizes(1) == (1,) and bucket_sizes(5) == (1, 2, 4, 8)
    shapes: list[int] = []
    run = scorer._run
    monkeypatch.setattr(scorer, "_run", lambda x: shapes.append(len(x)) or run(x))
    x = rows.to_numpy(np.float64)
    plain = scorer.session.run(None, {"input": x})[0]
    for n in (1, 3, 64, 300):
        np.testing.assert_allclose(scorer.score(x[:n]).score, plain[:n], rtol=1e-6, atol=1e-6)
    big = np.concatenate([x] * 4)  # 1,200 rows > MAX_ROWS: split into warmed-up chunks
    np.testing.assert_allclose(scorer.score(big).score, np.tile(plain, 4), rtol=1e-6, atol=1e-6)
    assert set(shapes) <= set(scorer.buckets) and len(shapes) == 4 + 3


def test_settings_are_checked_and_travel_through_the_environment(monkeypatch):
    with pytest.raises(ConfigError, match="max_rows"):
        ServeSettings(max_rows=0)
    with pytest.raises(ConfigError, match="top_k"):
        ServeSettings(top_k=-1)
    with pytest.raises(DataValidationError, match="also a model column"):
        PayloadCodec(("id", "x"), max_rows=1, id_field="id", log1p=())
    settings = ServeSettings(max_rows=8, top_k=1)
    for key, value in settings.to_env(str(model_path())).items():
        monkeypatch.setenv(key, value)
    assert ServeSettings.from_env() == (str(model_path()), settings)
    try:
        app = app_from_env()
        # a worker process freezes what start-up made: no collection walks it again
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # this is the test process, not a worker
    assert call(app, "GET", "/v1/model").json()["limits"]["max_rows"] == 8
    monkeypatch.delenv("AESCOPE_SERVE_MODEL")
    with pytest.raises(ConfigError, match="AESCOPE_SERVE_MODEL"):
        ServeSettings.from_env()


def test_cli_serve_refuses_a_missing_model_in_one_line(tmp_path):
    result = CliRunner().invoke(cli_app, ["serve", str(tmp_path / "nope.aescope")])
    assert result.exit_code == 2 and "not found" in result.output
    assert "Traceback" not in result.output


def test_top_features_rank_as_rank_features_ties_included(scorer):
    rng = np.random.default_rng(0)
    errors = rng.integers(0, 4, size=(500, 29)).astype(np.float32)  # many exact ties
    errors[0] = 0.0  # a perfect reconstruction: shares are 0, not NaN
    names, shares = scorer.top_features(errors, 3)
    frame = pd.DataFrame(errors, columns=list(scorer.feature_columns))
    want = rank_features(frame, 3)
    assert names.tolist() == want[["feature_1", "feature_2", "feature_3"]].to_numpy().tolist()
    np.testing.assert_allclose(shares, want[["share_1", "share_2", "share_3"]].to_numpy(float))


def test_a_row_whose_error_overflows_is_flagged_with_a_null_score_and_whole_shares(app, rows):
    """1e30 scales within float32 but its squared error does not: score_samples gives +inf
    (JSON null), the row is flagged, and the infinite errors share the whole of it."""
    huge = rows.iloc[:2].copy()
    huge.loc[huge.index[1], "V1"] = 1e30
    (normal, extreme) = call(app, "POST", "/v1/score", json=huge.to_dict("records")).json()[
        "results"
    ]
    assert normal["score"] is not None and abs(sum(normal["top_shares"])) <= 1
    assert extreme["score"] is None and extreme["flag"] is True
    assert extreme["top_features"][0] == "V1"
    assert sum(extreme["top_shares"]) == pytest.approx(1.0)
    assert all(share is not None for share in extreme["top_shares"])
