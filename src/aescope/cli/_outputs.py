"""Checks every command runs on its output paths before it loads data or trains anything.

Nothing a command writes may replace one of its own inputs (the data, the
model, an architecture file), a folder or a special file, and a location that
cannot be written is reported before minutes of training, not after. The
atomic writers (:mod:`aescope._atomic`) refuse non-regular files again at
write time; these checks make the refusal early and name the input at stake.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from aescope._atomic import resolve_target
from aescope.errors import OutputError

STDOUT = "-"
TABLE_FORMATS = {".csv": "csv", ".csv.gz": "csv.gz", ".parquet": "parquet", ".pq": "parquet"}


def table_format(path: Path) -> str:
    """``csv``, ``csv.gz`` or ``parquet`` from an output's name; other names are refused."""
    name = path.name.lower()
    for suffix, kind in TABLE_FORMATS.items():
        if name.endswith(suffix):
            return kind
    raise OutputError(
        f"{path}: unknown output format; name it .csv, .csv.gz or .parquet (or '-' for CSV "
        "on standard output)"
    )


def check_output_file(target: Path, inputs: Mapping[str, Path | str | None]) -> Path:
    """Refuse ``target`` if it is an input, not a regular file, or in an unwritable folder.

    ``inputs`` maps a role ("input file", "model") to a path (None or a data-set name
    that is not a file are skipped). Returns the path that will be written.
    """
    if str(target) == STDOUT:
        raise OutputError(f"this command cannot write to standard output ('{STDOUT}')")
    path, is_device = resolve_target(target)
    if is_device:
        return path
    for role, source in inputs.items():
        if source is not None and _same_file(path, Path(source)):
            raise OutputError(
                f"{target} is the {role} ({source}); writing there would destroy it: "
                "choose another output path"
            )
    _check_writable_folder(path.parent, target)
    return path


def check_output_dir(folder: Path, inputs: Mapping[str, Path | str | None]) -> None:
    """Refuse an output folder that is a file, holds an input's place, or cannot be written."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} exists and is not a folder")
    for role, source in inputs.items():
        if source is not None and _same_file(folder, Path(source)):
            raise OutputError(f"{folder} is the {role} ({source}); choose another folder")
    _check_writable_folder(folder, folder)


def is_char_device(path: Path | None) -> bool:
    """``/dev/null`` and the like: written through, in CSV unless the name says otherwise."""
    return path is not None and path.is_char_device()


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet): they cannot be the same file
        return False


def _check_writable_folder(folder: Path, target: Path) -> None:
    """The nearest existing folder on the way to ``folder`` must take a new file."""
    existing = folder
    while not existing.exists():
        if existing.parent == existing:
            break
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"cannot write {target}: {existing} is not a folder")
    try:
        with tempfile.TemporaryFile(dir=existing, prefix=".aescope-write-check"):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise OutputError(f"cannot write {target}: {existing}: {reason}") from None


@contextlib.contextmanager
def suppress_broken_pipe():
    """``aescope score ... -o - | head`` closes the pipe early; that is not an error."""
    try:
        yield
    except BrokenPipeError:
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), 1)


def check_output_folder(folder: Path, inputs: Mapping[str, Path | str | None]) -> Path:
    """A folder of Parquet part files may not be, hold or sit inside an input, nor replace
    a folder that aescope did not write (one holding its marker file may be replaced)."""
    from aescope._atomic import FOLDER_MARKER

    if str(folder) == STDOUT:
        raise OutputError("a Parquet folder cannot go to standard output ('-'); name a folder")
    name = folder.name.lower()
    if name.endswith((".csv", ".csv.gz")):
        raise OutputError(
            f"{folder}: this run writes a folder of Parquet files; name it without .csv "
            "(e.g. scores/ or scores.parquet)"
        )
    path = folder.expanduser()
    path = path.resolve() if path.is_symlink() else path
    if path.exists() and not path.is_dir():
        raise OutputError(f"{folder} exists and is not a folder; name a folder")
    where = path.absolute()
    for role, source in inputs.items():
        if source is None:
            continue
        other = Path(source).expanduser().absolute()
        if _same_file(path, other) or _inside(where, other) or _inside(other, where):
            raise OutputError(
                f"{folder} is, holds or sits inside the {role} ({source}); writing there "
                "would destroy it or mix outputs with inputs: choose another folder"
            )
    if path.is_dir() and any(path.iterdir()) and not (path / FOLDER_MARKER).is_file():
        raise OutputError(
            f"{folder} holds files that aescope did not write; choose a new folder or empty it"
        )
    _check_writable_folder(path.parent, folder)
    return path


def _inside(inner: Path, outer: Path) -> bool:
    """``inner`` lies under the folder ``outer`` (links resolved where they exist)."""
    try:
        inner, outer = inner.resolve(), outer.resolve()
    except OSError:
        return False
    return outer != inner and outer in inner.parents
