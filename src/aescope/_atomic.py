"""Atomic file writes: a crash mid-write never leaves a half-written file in place.

The pattern is the usual one: write to a temporary file in the destination's
own directory (so the final ``os.replace`` is a same-filesystem rename),
flush and fsync it, then rename it over the target. On any exception — and
on SIGTERM, which the CLI turns into ``SystemExit`` — the temporary file is
removed and the old target, if any, is untouched.

A rename replaces whatever sits at the name, so the target is resolved first
(:func:`resolve_target`): a symbolic link is followed to the file it names
(the link stays a link), a character device such as ``/dev/null`` is written
through in place, and anything else that is not a regular file — a folder, a
FIFO, a socket, a block device — is refused.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from aescope.errors import OutputError


def resolve_target(target: str | os.PathLike[str]) -> tuple[Path, bool]:
    """``(path to write, is_device)`` for ``target``, or :class:`OutputError`.

    ``path`` is the link-free location (a symlink's final target); ``is_device``
    is True for a character device, which is written in place, never renamed over.
    """
    path = Path(target).expanduser()
    if path.is_symlink():
        path = path.resolve()
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        return path, False
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
    if stat.S_ISREG(mode):
        return path, False
    if stat.S_ISCHR(mode):
        return path, True
    kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
    raise OutputError(f"cannot write {target}: it is {kind}; name a file instead")


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str], suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path next to ``target``; rename it onto ``target`` on success.

    Use this when a library insists on writing to a path itself (pyarrow,
    matplotlib, safetensors). ``suffix`` keeps the extension that such libraries
    may look at. A character device target is yielded as is (written through).
    """
    path, is_device = resolve_target(target)
    if is_device:
        yield path
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=f".aescope.tmp{suffix}", dir=path.parent
        )
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


@contextlib.contextmanager
def atomic_open(
    target: str | os.PathLike[str], mode: str = "w", encoding: str | None = "utf-8"
) -> Iterator[IO]:
    """Open a temporary file for writing that replaces ``target`` only if the block succeeds."""
    if "b" in mode:
        encoding = None
    with atomic_path(target) as tmp, open(tmp, mode, encoding=encoding) as handle:
        yield handle


def _umask() -> int:
    """The process's umask, without changing it even for an instant.

    ``os.umask`` can only be read by setting it: two threads writing files at once
    (the study's settings, the folder scorer's files) could each read the other's
    temporary 0 and leave it set, making every later file world-writable. Linux
    shows the mask in /proc; elsewhere it is read under a lock.
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    with _UMASK_LOCK:
        current = os.umask(0)
        os.umask(current)
        return current


_UMASK_LOCK = threading.Lock()


def _fsync_file(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    # Directory fsync makes the rename durable; not supported everywhere (Windows).
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


FOLDER_MARKER = "_aescope.json"
"""Written last into every folder output: what made it. A folder holding it may be
replaced by a new run; one without it (someone's data) never is."""


@contextlib.contextmanager
def atomic_dir(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a new temporary folder beside ``target``; on success it becomes ``target``.

    An existing ``target`` (checked by the caller to be an earlier output) is moved
    aside and removed only once the new folder is in place; on any exception the
    temporary folder is removed and ``target`` is untouched. Engines that write a
    folder of part files (Dask, Spark) write into the temporary one.
    """
    path = Path(target).expanduser()
    if path.is_symlink():
        path = path.resolve()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temporary_dir(path, "")
    except OSError as error:
        raise OutputError(f"cannot write {target}: {error.strerror or error}") from None
    try:
        yield tmp
        if path.exists():
            old = _temporary_dir(path, "old.")
            os.replace(path, old)  # an empty folder is replaced by the old output
            try:
                os.replace(tmp, path)
            except BaseException:
                os.replace(old, path)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _temporary_dir(path: Path, tag: str) -> Path:
    """A new hidden folder beside ``path`` (same file system: renames are atomic)."""
    name = tempfile.mkdtemp(prefix=f".{path.name}.{tag}", suffix=".aescope.tmp", dir=path.parent)
    os.chmod(name, 0o777 & ~_umask())  # mkdtemp makes 0700; give the folder normal permissions
    return Path(name)
