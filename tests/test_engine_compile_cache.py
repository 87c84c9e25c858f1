"""The CLI's on-disk compilation cache: where it goes, how to turn it off, that it fills."""

from __future__ import annotations

import os
import subprocess
import sys

import jax
import pytest

from aescope.engine.compile_cache import default_cache_dir, enable_compile_cache


@pytest.fixture
def restore_jax_cache_setting():
    before = jax.config.jax_compilation_cache_dir
    before_min = jax.config.jax_persistent_cache_min_compile_time_secs
    yield
    jax.config.update("jax_compilation_cache_dir", before)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", before_min)


def test_off_when_asked(monkeypatch, restore_jax_cache_setting):
    monkeypatch.setenv("AESCOPE_COMPILE_CACHE", "0")
    assert enable_compile_cache() is None
    assert jax.config.jax_compilation_cache_dir is None


def test_a_folder_given_by_the_user_wins(monkeypatch, tmp_path, restore_jax_cache_setting):
    monkeypatch.setenv("AESCOPE_COMPILE_CACHE", str(tmp_path / "mine"))
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    assert enable_compile_cache() == tmp_path / "mine"
    assert jax.config.jax_compilation_cache_dir == str(tmp_path / "mine")
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path / "jax"))
    assert enable_compile_cache() == tmp_path / "jax"  # JAX's own setting is left alone


def test_default_folder_is_the_user_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert default_cache_dir() == tmp_path / "aescope" / "jax-compile-cache"


def _cli(args: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "from aescope.cli import app; app()", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stderr


def test_a_cli_run_fills_the_cache_and_the_next_one_uses_it(tmp_path):
    cache = tmp_path / "cache"
    env = {k: v for k, v in os.environ.items() if k != "JAX_COMPILATION_CACHE_DIR"}
    env["AESCOPE_COMPILE_CACHE"] = str(cache)
    args = ["train", "--data", "creditcard-sample", "--epochs", "1", "--out"]
    _cli([*args, str(tmp_path / "a.aescope")], env)
    epochs = {p.name for p in cache.glob("jit__epoch*")}
    assert len(epochs) == 1, sorted(p.name for p in cache.iterdir())
    # JAX_LOG_COMPILES makes JAX report persistent-cache hits (at warning level).
    log = _cli([*args, str(tmp_path / "b.aescope")], env | {"JAX_LOG_COMPILES": "1"})
    assert "Persistent compilation cache hit for 'jit__epoch'" in log
    assert {p.name for p in cache.glob("jit__epoch*")} == epochs
