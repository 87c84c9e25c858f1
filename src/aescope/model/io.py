"""Reading and writing architecture descriptions as TOML or JSON files.

TOML is the format people edit by hand; JSON is what other tools emit. Both
carry exactly :meth:`Architecture.to_dict`. The standard library reads TOML but
cannot write it, and the schema is tiny, so the writer is a few lines here
rather than another dependency.
"""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

from aescope._atomic import atomic_open
from aescope.errors import ArchitectureError
from aescope.model.spec import Architecture

FORMATS = (".toml", ".json")


def to_toml(arch: Architecture) -> str:
    d = arch.to_dict()
    lines = [f"name = {_toml_value(d['name'])}", f"n_features = {d['n_features']}"]
    for layer in d["layers"]:
        lines += ["", "[[layers]]", *(f"{k} = {_toml_value(v)}" for k, v in layer.items())]
    lines += ["", "[output]", *(f"{k} = {_toml_value(v)}" for k, v in d["output"].items())]
    return "\n".join(lines) + "\n"


def from_toml(text: str, source: str = "<string>") -> Architecture:
    try:
        d = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ArchitectureError(f"{source}: not valid TOML: {exc}") from exc
    return _from_dict(d, source)


def to_json(arch: Architecture) -> str:
    return json.dumps(arch.to_dict(), indent=2) + "\n"


def from_json(text: str, source: str = "<string>") -> Architecture:
    try:
        d = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArchitectureError(f"{source}: not valid JSON: {exc}") from exc
    return _from_dict(d, source)


def save_architecture(arch: Architecture, path: str | os.PathLike[str]) -> Path:
    """Write ``arch`` atomically; the format follows the suffix (.toml or .json)."""
    path = Path(path)
    suffix = _suffix(path)
    text = to_toml(arch) if suffix == ".toml" else to_json(arch)
    with atomic_open(path, "w") as handle:
        handle.write(text)
    return path


def read_architecture(path: str | os.PathLike[str]) -> Architecture:
    path = Path(path)
    suffix = _suffix(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ArchitectureError(f"cannot read architecture file {path}: {exc}") from None
    return from_toml(text, str(path)) if suffix == ".toml" else from_json(text, str(path))


def _suffix(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ArchitectureError(
            f"{path}: architecture files must end in .toml or .json, not {suffix or '(none)'!r}"
        )
    return suffix


def _from_dict(d: Any, source: str) -> Architecture:
    try:
        return Architecture.from_dict(d)
    except ArchitectureError as exc:
        raise ArchitectureError(f"{source}: {exc}") from exc
    except TypeError as exc:  # e.g. a string where a table was expected deep inside
        raise ArchitectureError(f"{source}: malformed architecture: {exc}") from exc


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # JSON string escapes are valid TOML basic-string escapes
    raise TypeError(f"cannot write {value!r} to TOML")
