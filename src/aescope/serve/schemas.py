"""Shapes of the service's answers, for the OpenAPI document.

These pydantic models describe; they do not sit on the scoring path (answers are
encoded by msgspec, see :mod:`aescope.serve.payload`). /healthz and /v1/model are
small and rare, so FastAPI validates them with these models as usual.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Health(BaseModel):
    status: str = Field(description="'ok' once the model is loaded and warmed up.")
    model: str = Field(description="Fingerprint of the model's training data.")


class Limits(BaseModel):
    max_rows: int
    max_bytes: int
    top_k: int
    id_field: str


class ModelInfo(BaseModel):
    features: list[str] = Field(description="Input columns, in the ONNX input's order.")
    feature_error_names: list[str] = Field(description="Columns the error is measured on.")
    threshold: float = Field(description="A row is flagged when score >= threshold.")
    threshold_policy: str
    aescope_version: str = Field(description="aescope version that trained the model.")
    server_version: str
    data_fingerprint: str = Field(description="sha256 of the training table.")
    loss: str
    architecture: dict[str, Any]
    preprocessing: dict[str, Any]
    backend: str
    limits: Limits
    batch_buckets: list[int] = Field(description="Batch sizes compiled and warmed up.")
    model_file: str | None = None


class RecordResult(BaseModel):
    id: Any = Field(None, description="The row's id, when the request gave one.")
    score: float | None = Field(
        description="The anomaly score, as score_samples returns it; null when it is +inf "
        "(a row whose error leaves float32's range: flagged, the most anomalous there is)."
    )
    flag: bool = Field(description="score >= threshold.")
    top_features: list[str] = Field([], description="Features with the largest errors.")
    top_shares: list[float] = Field([], description="Their shares of the row's total error.")


class ColumnResults(BaseModel):
    id: list[Any] | None = None
    score: list[float]
    flag: list[bool]
    top_features: list[list[str]] = []
    top_shares: list[list[float]] = []


class ScoreResponse(BaseModel):
    threshold: float
    results: list[RecordResult] | ColumnResults = Field(
        description="Records for a records request, columns for a columns request."
    )


class Problem(BaseModel):
    detail: str = Field(description="What was refused: the row, column and value at fault.")


def request_schema(columns: tuple[str, ...], id_field: str, max_rows: int) -> dict[str, Any]:
    """JSON schema of /v1/score's body: records or columns, with the model's columns."""
    number = {"type": "number"}
    records = {
        "title": "Records",
        "type": "array",
        "minItems": 1,
        "maxItems": max_rows,
        "items": {
            "type": "object",
            "properties": {**{c: number for c in columns}, id_field: {}},
            "required": list(columns),
            "additionalProperties": False,
        },
    }
    array = {"type": "array", "items": number, "minItems": 1, "maxItems": max_rows}
    column_form = {
        "title": "Columns",
        "type": "object",
        "properties": {**{c: array for c in columns}, id_field: {"type": "array"}},
        "required": list(columns),
        "additionalProperties": False,
    }
    return {"oneOf": [records, column_form]}
