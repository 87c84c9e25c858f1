"""Which data sets a benchmark runs on: the credit-card set and every ADBench ``.npz`` in a folder.

Sources are loaded lazily, one at a time, so a run over 23 sets holds only the
current one in memory (some ADBench sets have half a million rows).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from aescope.data import Dataset, load_adbench, load_creditcard
from aescope.errors import DataUnavailableError, DataValidationError

CREDITCARD = "creditcard"


@dataclass(frozen=True)
class Source:
    """A data set to benchmark: its name, family and a loader."""

    name: str
    family: str  # "creditcard" or "adbench"
    load: Callable[[], Dataset]


def adbench_sources(folder: str | Path) -> list[Source]:
    """Every ``*.npz`` in ``folder``, in ADBench's numeric order (``2_…`` before ``10_…``)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataUnavailableError(f"ADBench folder not found: {folder}")
    files = sorted(folder.glob("*.npz"), key=_adbench_key)
    if not files:
        raise DataUnavailableError(f"no ADBench .npz files in {folder}")
    return [Source(f.stem, "adbench", _loader(f)) for f in files]


def creditcard_source(data_dir: str | Path | None = None) -> Source:
    """The full credit-card data; never downloads (a benchmark should not start a 150 MB fetch)."""
    return Source(
        CREDITCARD, "creditcard", lambda: load_creditcard(data_dir=data_dir, download=False)
    )


def select_sources(sources: Sequence[Source], patterns: Sequence[str] | None) -> list[Source]:
    """Sources whose name matches one of ``patterns``, case-insensitively.

    A pattern matches a full name (``42_WBC``) or the name without its ADBench
    number (``WBC``); a pattern that matches nothing is an error naming the choices.
    """
    if not patterns:
        return list(sources)
    chosen: list[Source] = []
    for pattern in patterns:
        want = pattern.strip().lower()
        hits = [s for s in sources if want in (s.name.lower(), _bare(s.name).lower())]
        if not hits:
            names = ", ".join(s.name for s in sources)
            raise DataValidationError(f"no data set named {pattern!r}; choose from {names}")
        chosen.extend(s for s in hits if s not in chosen)
    return [s for s in sources if s in chosen]


def _bare(name: str) -> str:
    return re.sub(r"^\d+_", "", name)


def _adbench_key(path: Path) -> tuple[int, str]:
    match = re.match(r"^(\d+)_", path.stem)
    return (int(match.group(1)) if match else 10**9, path.stem)


def _loader(path: Path) -> Callable[[], Dataset]:
    return lambda: load_adbench(path)
