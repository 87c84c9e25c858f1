"""A persistent cache of compiled XLA programs, for the command line.

Every ``aescope`` command is a fresh process, so without a cache each one pays
JAX's compilation again (about 2 s for a training epoch, a fraction of a second
per inference shape) for programs it compiled yesterday. JAX can keep compiled
programs on disk; the CLI switches that on, the library leaves JAX's global
settings to its caller.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax
import platformdirs

ENV_VAR = "AESCOPE_COMPILE_CACHE"
"""``0`` turns the cache off; any other non-empty value is the folder to use."""

MIN_COMPILE_SECONDS = 0.1
"""Programs that compiled faster than this are not worth a disk entry. Inference
programs compile in about 0.2 s and load from the cache in 0.05 s (measured, the
study's network): ``aescope score`` starts about 0.4 s sooner with them cached."""


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("aescope")) / "jax-compile-cache"


def enable_compile_cache() -> Path | None:
    """Point JAX's persistent compilation cache at aescope's folder; returns it (None: off).

    A folder the user chose for JAX (``JAX_COMPILATION_CACHE_DIR``) wins, and
    ``AESCOPE_COMPILE_CACHE=0`` turns the cache off.
    """
    setting = os.environ.get(ENV_VAR, "")
    if setting == "0":
        return None
    if os.environ.get("JAX_COMPILATION_CACHE_DIR"):
        return Path(os.environ["JAX_COMPILATION_CACHE_DIR"])
    folder = Path(setting) if setting else default_cache_dir()
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", MIN_COMPILE_SECONDS)
    return folder
