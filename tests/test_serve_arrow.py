"""/v1/score with Arrow IPC streams: the JSON path's answers and refusals, in columns."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from _serve_helpers import detector
from test_serve_app import MAX_ROWS, app, call, rows, scorer  # noqa: F401 (fixtures)

from aescope.serve.app import ScoringService, app_for
from aescope.serve.arrow import MEDIA_TYPE, batch_header, is_arrow
from aescope.serve.settings import ServeSettings

ARROW = {"content-type": MEDIA_TYPE}


def stream(table: pa.Table | pd.DataFrame) -> bytes:
    if isinstance(table, pd.DataFrame):
        table = pa.Table.from_pandas(table, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=100)  # several record batches per stream
    return sink.getvalue().to_pybytes()


def answer(response) -> pa.Table:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == MEDIA_TYPE
    return pa.ipc.open_stream(response.content).read_all()


def test_an_arrow_request_gets_the_json_answer_as_arrow_columns(app, rows):  # noqa: F811
    frame = rows.assign(Time=rows["Time"].round().astype("int64"))  # integer columns are numbers
    ids = pa.array([f"tx-{i}" for i in range(len(rows))])
    table = pa.Table.from_pandas(frame, preserve_index=False).append_column("id", ids)
    response = call(app, "POST", "/v1/score", content=stream(table), headers=ARROW)
    got = answer(response)
    assert response.headers["server-timing"].startswith("score;dur=")
    assert got.column_names == ["id", "score", "flag", "top_features", "top_shares"]
    assert got.schema.field("score").type == pa.float64() and got["id"].equals(table["id"])
    assert len(pa.ipc.open_stream(stream(table)).read_all()["V1"].chunks) == 3
    assert float(got.schema.metadata[b"threshold"]) == detector().threshold_
    by_json = call(app, "POST", "/v1/score", json=frame.to_dict("list")).json()["results"]
    assert got["score"].to_pylist() == by_json["score"]
    assert got["flag"].to_pylist() == by_json["flag"]
    assert got["top_features"].to_pylist() == by_json["top_features"]
    assert got["top_shares"].to_pylist() == by_json["top_shares"]
    np.testing.assert_allclose(
        got["score"].to_numpy(), detector().score_samples(frame), rtol=1e-5, atol=1e-5
    )


def test_without_ids_or_explanations_the_answer_has_score_and_flag(scorer, rows):  # noqa: F811
    plain = app_for(ScoringService(scorer, ServeSettings(max_rows=MAX_ROWS, top_k=0)))
    got = answer(call(plain, "POST", "/v1/score", content=stream(rows.iloc[:3]), headers=ARROW))
    assert got.column_names == ["score", "flag"] and got.num_rows == 3


def test_an_overflowing_row_scores_null_and_is_flagged(app, rows):  # noqa: F811
    huge = rows.iloc[:2].copy()
    huge.loc[huge.index[1], "V1"] = 1e30
    got = answer(call(app, "POST", "/v1/score", content=stream(huge), headers=ARROW))
    (normal, extreme), flags = got["score"].to_pylist(), got["flag"].to_pylist()
    assert normal is not None and extreme is None and flags[1] is True


def _edited(frame: pd.DataFrame, how: str) -> bytes:
    table = pa.Table.from_pandas(frame.iloc[:8], preserve_index=False)
    v2 = table.schema.get_field_index("V2")
    if how == "missing":
        return stream(table.drop_columns(["V1"]))
    if how == "unexpected":
        return stream(table.append_column("label", pa.array(np.zeros(8))))
    if how == "duplicated":
        return stream(table.append_column("V2", table["V2"]))
    if how == "text":
        return stream(table.set_column(v2, "V2", pa.array([str(v) for v in range(8)])))
    if how == "null":
        values = table["V3"].to_pylist()
        values[3] = None
        return stream(table.set_column(table.schema.get_field_index("V3"), "V3", pa.array(values)))
    if how == "nan":
        values = table["V4"].to_numpy().copy()
        values[5] = np.nan
        return stream(table.set_column(table.schema.get_field_index("V4"), "V4", pa.array(values)))
    if how == "too many":  # refused from the batch headers, before any column is read
        return stream(pd.concat([frame] * 2).iloc[: MAX_ROWS + 1])
    if how == "empty":
        return b""
    if how == "compressed":  # zeros: 1,000 rows in a few hundred bytes, a bomb in miniature
        sink = pa.BufferOutputStream()
        options = pa.ipc.IpcWriteOptions(compression="zstd")
        with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()
    if how == "dictionary":
        ids = pa.array([f"tx-{i % 2}" for i in range(8)]).dictionary_encode()
        return stream(table.append_column("id", ids))
    if how == "truncated":
        return stream(table)[:-40]
    if how == "end only":
        return b"\xff\xff\xff\xff\x00\x00\x00\x00"
    if how == "two streams":  # the second stream's rows would be lost without a word
        return stream(table) + stream(table)
    if how == "file":
        sink = pa.BufferOutputStream()
        with pa.ipc.new_file(sink, table.schema) as writer:
            writer.write_table(table)
        return sink.getvalue().to_pybytes()
    if how == "wide":
        return stream(pa.table({f"c{i}": pa.array([0.0]) for i in range(50)}))
    if how == "huge schema":
        return stream(pa.table({f"c{i}": pa.array([0.0]) for i in range(5001)}))
    if how == "bad id offsets":  # the last string offset points past the data: refused
        body = bytearray(stream(table.append_column("id", pa.array(["abcd"] * 8))))
        offsets = np.arange(0, 36, 4, dtype="<i4").tobytes()
        at = bytes(body).index(offsets) + 32
        body[at : at + 4] = np.array([900], "<i4").tobytes()
        return bytes(body)
    return b"not an arrow stream"


@pytest.mark.parametrize(
    ("how", "status", "detail"),
    [
        ("missing", 422, "missing columns ['V1']"),
        ("unexpected", 422, "unexpected columns ['label']"),
        ("duplicated", 422, "duplicated columns ['V2']"),
        ("text", 422, "column 'V2': type string is not a number"),
        ("null", 422, "row 3, column 'V3': missing value"),
        ("nan", 422, "row 5, column 'V4': nan is not finite"),
        ("too many", 413, f"more than {MAX_ROWS:,} rows or batches"),
        ("empty", 400, "empty request body"),
        ("compressed", 415, "compressed Arrow record batches are not accepted"),
        ("dictionary", 422, "unexpected dictionary message"),
        ("end only", 400, "malformed Arrow IPC stream"),
        ("two streams", 400, "bytes after the end of the Arrow stream"),
        ("file", 400, "this is an Arrow IPC file; send a stream"),
        ("wide", 422, "the stream has 50 columns; the model takes 30"),
        ("huge schema", 422, "far more than 30 columns need"),
        ("bad id offsets", 400, "malformed Arrow IPC stream"),
        ("truncated", 400, "malformed Arrow IPC stream"),
        ("garbage", 400, "malformed Arrow IPC stream"),
    ],
)
def test_bad_arrow_requests_are_refused_naming_the_problem(app, rows, how, status, detail):  # noqa: F811
    response = call(app, "POST", "/v1/score", content=_edited(rows, how), headers=ARROW)
    assert response.status_code == status
    assert detail in response.json()["detail"]


def test_batch_headers_give_rows_and_compression_without_decoding():
    table = pa.table({"a": np.zeros(250), "b": pa.array(["x"] * 250)})
    for compression in (None, "zstd", "lz4"):
        sink = pa.BufferOutputStream()
        options = pa.ipc.IpcWriteOptions(compression=compression)
        with pa.ipc.new_stream(sink, table.schema, options=options) as writer:
            writer.write_table(table, max_chunksize=100)
        messages = list(pa.ipc.MessageReader.open_stream(sink.getvalue()))[1:]  # after schema
        headers = [batch_header(m.metadata.to_pybytes()) for m in messages]
        assert headers == [(100, compression is not None)] * 2 + [(50, compression is not None)]


def test_the_media_type_is_recognised_with_parameters_and_documented(app):  # noqa: F811
    assert is_arrow("application/vnd.apache.arrow.stream; charset=binary")
    assert not is_arrow("application/json") and not is_arrow(None)
    doc = json.loads(call(app, "GET", "/openapi.json").text)
    assert MEDIA_TYPE in doc["paths"]["/v1/score"]["post"]["requestBody"]["content"]
