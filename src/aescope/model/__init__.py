"""Describing dense autoencoders: layers, presets from the study, summaries, files."""

from aescope.model.auto import AUTO_NAME, default_architecture, default_training
from aescope.model.io import (
    from_json,
    from_toml,
    read_architecture,
    save_architecture,
    to_json,
    to_toml,
)
from aescope.model.presets import get_preset, list_presets, load_architecture
from aescope.model.spec import ACTIVATIONS, Architecture, Layer

__all__ = [
    "ACTIVATIONS",
    "AUTO_NAME",
    "Architecture",
    "Layer",
    "default_architecture",
    "default_training",
    "from_json",
    "from_toml",
    "get_preset",
    "list_presets",
    "load_architecture",
    "read_architecture",
    "save_architecture",
    "to_json",
    "to_toml",
]
