"""Named architectures from the reference study, shipped as TOML files in ``presets/``.

Keeping presets as data files (not Python) means a user can copy one, edit it
and pass the copy wherever a preset name is accepted.
"""

from __future__ import annotations

import os
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

from aescope.errors import ArchitectureError
from aescope.model.auto import AUTO_NAME, default_architecture
from aescope.model.io import FORMATS, from_toml, read_architecture
from aescope.model.spec import Architecture


def list_presets() -> list[str]:
    """Names accepted by :func:`get_preset`, sorted."""
    return sorted(p.name[: -len(".toml")] for p in _root().iterdir() if p.name.endswith(".toml"))


def get_preset(name: str, latent: int | None = None, n_features: int = 29) -> Architecture:
    """A preset adapted to ``n_features`` inputs; ``latent`` overrides the latent width."""
    names = list_presets()
    if name not in names:
        raise ArchitectureError(f"unknown preset {name!r}; available: {', '.join(names)}")
    text = _root().joinpath(f"{name}.toml").read_text(encoding="utf-8")
    arch = from_toml(text, f"preset {name}")
    return _adapt(arch, n_features, latent)


def load_architecture(
    preset_name_or_path: str | os.PathLike[str],
    n_features: int | None = 29,
    latent: int | None = None,
) -> Architecture:
    """A preset by name, ``"auto"`` (sized from ``n_features``), or a .toml/.json path.

    ``n_features`` resizes the input/output to the table the model will see
    (``None`` keeps the width written in the file); ``latent`` resizes the latent layer.
    """
    text = os.fspath(preset_name_or_path)
    if text == AUTO_NAME:
        return _adapt(default_architecture(29 if n_features is None else n_features), None, latent)
    path = Path(text)
    if path.suffix.lower() in FORMATS or path.exists():
        if not path.exists():
            raise ArchitectureError(f"architecture file not found: {path}")
        return _adapt(read_architecture(path), n_features, latent)
    if text in list_presets():
        return get_preset(text, latent=latent, n_features=29 if n_features is None else n_features)
    raise ArchitectureError(
        f"{text!r} is neither a preset ({', '.join([AUTO_NAME, *list_presets()])}) "
        "nor an existing .toml/.json file"
    )


def _root() -> Traversable:
    # The TOML files ship as package data of aescope.model (see pyproject).
    return resources.files("aescope.model").joinpath("presets")


def _adapt(arch: Architecture, n_features: int | None, latent: int | None) -> Architecture:
    if latent is not None:
        arch = arch.with_latent(latent)
    if n_features is not None:
        arch = arch.with_features(n_features)
    return arch
