"""Scoring one partition of an engine's DataFrame: the part Dask and Spark share.

An engine hands a worker a pandas frame of any index and of the types its
reader chose (integers, float32, nulls as NaN). This turns it into what
:func:`aescope.batch.score_frame` expects — the model's columns as float64,
numbered rows — scores it in chunks of ``chunk_rows`` (bounded memory, the same
scores as one call), and gives the output the input's index and id columns, so
rows keep their order and their identity.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from aescope.batch import (
    InvalidPolicy,
    check_id_column,
    check_table_columns,
    empty_output,
    score_frame,
)
from aescope.data.validate import numeric_column
from aescope.detector import AutoencoderDetector
from aescope.distributed.payload import ModelLike, ModelPayload, model_payload
from aescope.errors import ConfigError, DataValidationError


@dataclass(frozen=True)
class ScoreOptions:
    """What every partition is scored with (picklable: it travels with the tasks)."""

    id_columns: tuple[str, ...] = ()
    top_k: int = 3
    on_invalid: InvalidPolicy = "error"
    threshold: float | None = None
    chunk_rows: int = 100_000


def score_options(
    id_columns: str | Sequence[str] | None,
    top_k: int,
    on_invalid: str,
    threshold: float | None,
    chunk_rows: int,
) -> ScoreOptions:
    """Options checked once on the driver, before any task starts."""
    ids = (id_columns,) if isinstance(id_columns, str) else tuple(id_columns or ())
    for name in ids:
        check_id_column(name)
    if len(set(ids)) != len(ids):
        raise ConfigError(f"id columns named twice: {', '.join(ids)}")
    if isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 0:
        raise ConfigError(f"top_k must be a whole number >= 0, got {top_k!r}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be a whole number >= 1, got {chunk_rows!r}")
    if threshold is not None and not (
        isinstance(threshold, (int, float))
        and not isinstance(threshold, bool)
        and math.isfinite(threshold)
    ):  # scores are z-scores: any finite threshold, negative ones included
        raise ConfigError(f"threshold must be a finite number, got {threshold!r}")
    return ScoreOptions(ids, top_k, on_invalid, threshold, chunk_rows)  # type: ignore[arg-type]


def plan_scoring(
    model: ModelLike,
    columns: Sequence[str],
    where: str,
    *,
    id_columns: str | Sequence[str] | None,
    top_k: int,
    on_invalid: str,
    threshold: float | None,
    chunk_rows: int,
    ignore_extra_columns: bool,
) -> tuple[ScoreOptions, ModelPayload, list[str]]:
    """What an engine checks on the driver before any task starts.

    The options, the model as bytes to ship, and the input columns the tasks
    need (ids first), once the input's columns are known to fit the model.
    """
    options = score_options(id_columns, top_k, on_invalid, threshold, chunk_rows)
    payload = model_payload(model)
    passengers = dict.fromkeys(options.id_columns, "id")
    check_table_columns(payload.detector, columns, where, passengers, ignore_extra_columns)
    wanted = list(dict.fromkeys([*options.id_columns, *payload.detector.columns_used_]))
    return options, payload, wanted


def output_frame(detector: AutoencoderDetector, ids: pd.DataFrame, top_k: int) -> pd.DataFrame:
    """An empty output with the right columns and types (an engine's ``meta``/schema)."""
    out = empty_output(None, top_k)
    for position, name in enumerate(ids.columns):
        out.insert(position, name, ids[name].iloc[:0].to_numpy())
    return out


def score_partition(
    detector: AutoencoderDetector, frame: pd.DataFrame, options: ScoreOptions, where: str
) -> pd.DataFrame:
    """The output rows of ``frame``: ids, ``score``, ``flag``[, ``top_features``].

    Errors name ``where`` (the partition) and the row within it.
    """
    for name in detector.columns_used_:  # every column checked before any row is scored
        numeric_column(frame[name], name, where)
    # score_frame converts the columns itself; a shallow copy numbers the rows for its errors
    numbers = frame.copy(deep=False)
    numbers.index = pd.RangeIndex(len(frame))
    parts = []
    for start in range(0, max(len(numbers), 1), options.chunk_rows):
        chunk = numbers.iloc[start : start + options.chunk_rows]
        try:
            scored, _ = score_frame(
                detector,
                chunk,
                top_k=options.top_k,
                on_invalid=options.on_invalid,
                threshold=options.threshold,
            )
        except DataValidationError as error:
            raise DataValidationError(f"{where}: {error}") from None
        parts.append(scored)
    scored = parts[0] if len(parts) == 1 else pd.concat(parts)
    rows = scored.index.to_numpy()
    for position, name in enumerate(options.id_columns):
        scored.insert(position, name, frame[name].to_numpy()[rows])
    scored.index = frame.index[rows] if len(frame) else frame.index[:0]
    return scored
