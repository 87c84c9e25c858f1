"""The FastAPI application: ``create_app(model_path)`` builds a ready-to-serve app.

The factory loads the model, builds its ONNX Runtime session and runs every batch
bucket once before it returns, so an app exists only once it can answer, whether
uvicorn serves it or another ASGI app mounts it (Starlette runs no lifespan of a
mounted app, so nothing is left for start-up events to do). Handlers reach the
model through the :func:`get_service` dependency, which tests and embedding apps
may override.

Request bodies are read as bytes and decoded by :mod:`aescope.serve.payload`
(typed msgspec decoding, no pydantic model per row), or by
:mod:`aescope.serve.arrow` when the Content-Type names an Arrow IPC stream; the
OpenAPI document still describes both JSON shapes with the model's own column
names.

Scoring runs on the event loop, not in a thread pool: a single row costs well
under a millisecond, less than a thread hand-off would add, and the largest
request is bounded by ``max_rows`` and ``max_bytes``. Parallelism comes from
worker processes (``aescope serve --workers N``).
"""

from __future__ import annotations

import gc
import logging
import time
from pathlib import Path
from typing import Annotated, Any

from aescope import __version__
from aescope.errors import OptionalDependencyError

try:
    from fastapi import APIRouter, Depends, FastAPI, Request, Response
    from fastapi.openapi.utils import get_openapi
    from fastapi.responses import JSONResponse
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise OptionalDependencyError("serving needs fastapi: pip install 'aescope[serve]'") from exc

from aescope.serve import arrow, schemas
from aescope.serve.payload import PayloadCodec, RequestError
from aescope.serve.scorer import Scorer
from aescope.serve.settings import ServeSettings

log = logging.getLogger("aescope.serve")


class ScoringService:
    """A scorer, its payload codec and the limits: everything a request handler needs."""

    def __init__(self, scorer: Scorer, settings: ServeSettings) -> None:
        self.scorer = scorer
        self.settings = settings
        pre = scorer.recipe.preprocessor
        low, high = pre.usable_range()
        order = [pre.input_columns.index(c) for c in scorer.input_columns]
        self.codec = PayloadCodec(
            scorer.input_columns,
            max_rows=settings.max_rows,
            id_field=settings.id_field,
            log1p=pre.spec.log1p,
            usable_range=(low[order], high[order]),
        )

    def score_body(self, body: bytes) -> bytes:
        """A JSON request body in, the JSON answer out."""
        batch = self.codec.decode(body)
        scores, top = self._score(batch.x)
        return self.codec.encode(
            batch, scores.score, scores.flag, top, self.scorer.recipe.threshold
        )

    def score_arrow(self, body: bytes) -> bytes:
        """An Arrow IPC stream in, the answer as an Arrow IPC stream out."""
        batch = arrow.decode(self.codec, body)
        scores, top = self._score(batch.x)
        return arrow.encode(batch, scores.score, scores.flag, top, self.scorer.recipe.threshold)

    def _score(self, x: Any) -> tuple[Any, Any]:
        scores = self.scorer.score(x)
        k = self.settings.top_k
        return scores, self.scorer.top_features(scores.feature_errors, k) if k else None

    def model_info(self) -> dict[str, Any]:
        return {
            **self.scorer.info,
            "backend": "onnxruntime",
            "server_version": __version__,
            "limits": {
                "max_rows": self.settings.max_rows,
                "max_bytes": self.settings.max_bytes,
                "top_k": self.settings.top_k,
                "id_field": self.settings.id_field,
            },
            "batch_buckets": list(self.scorer.buckets),
        }


async def get_service(request: Request) -> ScoringService:
    """The app's scoring service (a FastAPI dependency).

    ``async`` on purpose: FastAPI runs a plain ``def`` dependency in its thread pool,
    which measured ~100 µs per request, more than scoring a row.
    """
    return request.app.state.service


Service = Annotated[ScoringService, Depends(get_service)]
router = APIRouter()


@router.get("/healthz", response_model=schemas.Health, tags=["service"])
async def healthz(service: Service) -> dict[str, Any]:
    """Liveness and readiness: an app answers only once its model is loaded and warmed up."""
    return {"status": "ok", "model": service.scorer.info.get("data_fingerprint", "")}


@router.get("/v1/model", response_model=schemas.ModelInfo, tags=["model"])
async def model(service: Service) -> dict[str, Any]:
    """Input columns, threshold and its policy, versions, training-data fingerprint, network."""
    return service.model_info()


@router.post(
    "/v1/score",
    tags=["model"],
    response_class=Response,
    responses={
        200: {"model": schemas.ScoreResponse, "description": "One result per row."},
        **{code: {"model": schemas.Problem} for code in (400, 413, 415, 422)},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {},
                arrow.MEDIA_TYPE: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    },
)
async def score(request: Request, service: Service) -> Response:
    """Score rows given as JSON records or columns, or as an Arrow IPC stream
    (``Content-Type: application/vnd.apache.arrow.stream``); the answer has the request's
    shape and format.

    Each result holds ``score`` (the anomaly score, as ``score_samples``),
    ``flag`` (``score >= threshold``), the ``top_features`` behind the error with
    their ``top_shares`` of it, and the row's ``id`` when the request gave one.
    The ``Server-Timing`` header gives the time from read body to answer (decode, score,
    encode).
    """
    body = await read_body(request, service.settings.max_bytes)
    start = time.perf_counter()
    if arrow.is_arrow(request.headers.get("content-type")):
        answer, media_type = service.score_arrow(body), arrow.MEDIA_TYPE
    else:
        answer, media_type = service.score_body(body), "application/json"
    # Server-Timing: milliseconds from the read body to the encoded answer (decode, score,
    # encode), so a client can tell the service's own time from transport and queueing.
    timing = {"server-timing": f"score;dur={(time.perf_counter() - start) * 1e3:.3f}"}
    return Response(answer, media_type=media_type, headers=timing)


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refused with 413 as soon as it is known to exceed ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise RequestError(400, f"invalid Content-Length header {declared!r}")
        if int(declared) > limit:
            raise RequestError(
                413, f"the body is {int(declared):,} bytes; this service takes at most {limit:,}"
            )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(413, f"the body exceeds {limit:,} bytes, this service's limit")
        chunks.append(chunk)
    return b"".join(chunks)


async def _refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestError)
    return JSONResponse({"detail": str(exc)}, status_code=exc.status)


async def _crashed(request: Request, exc: Exception) -> JSONResponse:
    log.exception("error while answering %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)


def create_app(model_path: str | Path, settings: ServeSettings | None = None) -> FastAPI:
    """A FastAPI app serving the model at ``model_path``, loaded and warmed up."""
    settings = settings or ServeSettings()
    scorer = Scorer.from_file(model_path, max_rows=settings.max_rows)
    return app_for(ScoringService(scorer, settings))


def app_for(service: ScoringService) -> FastAPI:
    """The app around an already built service (tests and embedding reuse one model)."""
    app = FastAPI(
        title="aescope scoring service",
        version=__version__,
        description=(
            "Autoencoder anomaly scores for table rows. POST rows to /v1/score as JSON records "
            "or columns, or as an Arrow IPC stream; GET /v1/model for the columns the model "
            "needs."
        ),
    )
    app.state.service = service
    app.include_router(router)
    app.add_exception_handler(RequestError, _refused)
    app.add_exception_handler(Exception, _crashed)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def app_from_env() -> FastAPI:
    """Factory for uvicorn worker processes (``aescope serve --workers N``)."""
    path, settings = ServeSettings.from_env()
    app = create_app(path, settings)
    freeze_startup_heap()
    return app


def freeze_startup_heap() -> None:
    """Move every object start-up made out of the garbage collector's sight (``gc.freeze``).

    A serving process holds the model, FastAPI and the modules of JAX and ONNX
    Runtime: several hundred thousand objects that live as long as it does. Each
    full collection walked them all and stopped the event loop for about 130 ms,
    every few hundred bulk requests (measured with 1,000-row requests at
    concurrency 4: four answers at a time 138 ms late). Frozen, a collection only
    sees what requests allocate. Only for a process that is the service (the CLI
    and its workers): an app embedded in another is left to its host.
    """
    gc.collect()
    gc.freeze()


def _openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document, with /v1/score's request body described by the model's columns."""
    if app.openapi_schema is None:
        doc = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        service: ScoringService = app.state.service
        body = doc["paths"]["/v1/score"]["post"]["requestBody"]["content"]["application/json"]
        body["schema"] = schemas.request_schema(
            service.scorer.input_columns, service.settings.id_field, service.settings.max_rows
        )
        app.openapi_schema = doc
    return app.openapi_schema
