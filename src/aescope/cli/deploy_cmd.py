"""`aescope export` and `aescope serve`: a trained model taken to production.

``export`` writes one ONNX graph for runtimes without aescope; ``serve`` puts the
model behind HTTP (FastAPI + uvicorn, see :mod:`aescope.serve`). Both need the
``serve`` extra, imported only when a command runs, so ``aescope --help`` stays fast.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Annotated

import typer

from aescope.cli._common import console, user_errors
from aescope.cli._outputs import check_output_file
from aescope.errors import OptionalDependencyError, OutputError


def export(
    model: Annotated[Path, typer.Argument(help="Model file written by `aescope train`.")],
    onnx_path: Annotated[
        Path, typer.Option("--onnx", help="Where to write the ONNX graph (.onnx).")
    ],
    input_dtype: Annotated[
        str, typer.Option(help="Element type of the input tensor: float64 or float32.")
    ] = "float64",
) -> None:
    """Export a model as one ONNX graph: raw columns in; score, flag, feature errors out."""
    with user_errors():
        if onnx_path.suffix.lower() != ".onnx":
            raise OutputError(f"{onnx_path}: an ONNX graph; name the file .onnx")
        check_output_file(onnx_path, {"model": model})
        from aescope.detector import AutoencoderDetector
        from aescope.export.onnx import IR_VERSION, OPSET

        detector = AutoencoderDetector.load(model)
        detector.to_onnx(onnx_path, input_dtype=input_dtype)
    n = len(detector.feature_names_in_)
    console.print(
        f"exported {model} → {onnx_path}: input 'input' [N, {n}] {input_dtype} "
        f"(columns in feature_names_in_ order), outputs score, flag, feature_errors; "
        f"ONNX IR {IR_VERSION}, opset {OPSET}",
        highlight=False,
        markup=False,
    )


def serve(
    model: Annotated[Path, typer.Argument(help="Model file written by `aescope train`.")],
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="TCP port.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    max_rows: Annotated[int, typer.Option(min=1, help="Most rows per request.")] = 10_000,
    max_bytes: Annotated[int, typer.Option(min=1, help="Largest request body.")] = 8 << 20,
    top_k: Annotated[int, typer.Option(min=0, help="Top features per row (0: none).")] = 3,
    id_field: Annotated[str, typer.Option(help="Field passed through per row.")] = "id",
    access_log: Annotated[bool, typer.Option(help="Log every request.")] = False,
) -> None:
    """Serve a model: POST /v1/score, GET /v1/model, GET /healthz; OpenAPI docs at /docs."""
    with user_errors():
        from aescope.serve.settings import ServeSettings

        settings = ServeSettings(
            max_rows=max_rows, max_bytes=max_bytes, top_k=top_k, id_field=id_field
        )
        try:
            import uvicorn
        except ImportError as exc:
            raise OptionalDependencyError(
                "serving needs uvicorn: pip install 'aescope[serve]'"
            ) from exc
        from aescope.serve.app import create_app, freeze_startup_heap

        if workers == 1:
            target = create_app(model, settings)  # loaded and warmed up before listening
            freeze_startup_heap()
        else:  # each worker builds its own app; refuse a bad model before forking
            from aescope.detector import AutoencoderDetector

            AutoencoderDetector.load(model)
            os.environ.update(settings.to_env(str(model.resolve())))
            target = "aescope.serve.app:app_from_env"
    console.print(
        f"serving {model} on http://{host}:{port} (docs: /docs)", highlight=False, markup=False
    )
    # uvicorn handles SIGTERM itself (graceful shutdown, then the signal again); the CLI's
    # own handler, there to clean up half-written files, has nothing to do here.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    uvicorn.run(
        target,
        host=host,
        port=port,
        workers=workers,
        factory=workers > 1,
        access_log=access_log,
        log_level="info",
    )
