"""`aescope export` and `aescope serve`: a trained model taken to production.

``export`` writes one ONNX graph for runtimes without aescope; ``serve`` puts the
model behind HTTP (FastAPI + uvicorn, see :mod:`aescope.serve`). Both need the
``serve`` extra, imported only when a command runs, so ``aescope --help`` stays fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from aescope.cli._common import console, user_errors
from aescope.errors import ConfigError


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
        if onnx_path.resolve() == model.resolve():
            raise ConfigError(f"--onnx {onnx_path} is the model file itself; choose another path")
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
    )

