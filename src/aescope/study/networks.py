"""Networks and training endings in words, for the report's tables.

A sweep compares networks; the reader must see which ones. ``network_text``
writes an architecture as one line of widths, activations and penalties, the
latent layer in brackets; ``stopping`` counts how each sweep's runs ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aescope.model import Architecture


def network_text(arch: Architecture | Mapping[str, Any]) -> str:
    """``29 → 128 relu → [16 relu] → 128 relu → 29 linear`` (penalties in parentheses)."""
    if not isinstance(arch, Architecture):
        arch = Architecture.from_dict(dict(arch))
    parts = [str(arch.n_features)]
    for layer in arch.layers:
        text = f"{layer.units} {layer.activation}"
        if layer.activity_l1:
            text += f" (L1 {layer.activity_l1:g})"
        parts.append(f"[{text}]" if layer.latent else text)
    return " → ".join(parts)


def stopping(records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """How many runs early stopping ended, and how many hit the epoch ceiling."""
    if not records:
        return {
            "runs": 0,
            "early_stopped": 0,
            "ceiling": 0,
            "epochs_min": 0,
            "epochs_max": 0,
            "max_epochs": 0,
            "patience": None,
        }
    epochs = [int(r["epochs_run"]) for r in records]
    early = sum(bool(r["early_stopped"]) for r in records)
    return {
        "runs": len(records),
        "early_stopped": early,
        "ceiling": len(records) - early,
        "epochs_min": min(epochs),
        "epochs_max": max(epochs),
        "max_epochs": int(records[0]["config"]["epochs"]),
        "patience": records[0]["config"]["patience"],
    }
