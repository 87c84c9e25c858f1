"""`aescope --help` and `--version` stay fast: the CLI's start-up imports no heavy library.

Timing a command in a test would be noise; which modules a fresh interpreter loads is
not. RELIABILITY.md records the measured times.
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = (
    "jax", "pandas", "numpy", "sklearn", "scipy", "matplotlib", "pyarrow", "optax",
    "dask", "distributed", "pyspark",
)  # fmt: skip


def _loaded_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport sys\n"
        f"print('LOADED:', *(m for m in {HEAVY!r} if m in sys.modules), file=sys.stderr)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done.stderr.split("LOADED:")[-1].split()


def test_importing_the_cli_loads_no_heavy_library():
    assert _loaded_after("import aescope.cli") == []


def test_help_and_version_load_no_heavy_library():
    for argv in (["--help"], ["--version"], ["train", "--help"], ["score", "--help"],
                 ["bench", "--help"], ["study", "--help"]):  # fmt: skip
        code = (
            "import sys\nfrom aescope.cli import app\n"
            f"sys.argv = ['aescope', *{argv!r}]\n"
            "try:\n    app()\nexcept SystemExit as stop:\n    assert stop.code in (0, None)"
        )
        assert _loaded_after(code) == [], argv


def test_import_aescope_is_lazy_and_the_readme_import_works():
    assert _loaded_after("import aescope") == []
    assert "jax" in _loaded_after("from aescope import AutoencoderDetector")


def test_the_distributed_package_loads_its_engines_only_when_used():
    assert _loaded_after("import aescope.distributed") == []
    loaded = _loaded_after("from aescope.distributed import score_dask")
    assert "dask" not in loaded and "pyspark" not in loaded  # imported inside the function
