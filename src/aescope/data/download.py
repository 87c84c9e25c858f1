"""Verified downloads: stream to a temporary file, check sha256, then rename.

The file only appears under its final name once every byte arrived and the
checksum matched, so an interrupted or tampered transfer can never be mistaken
for the data set on the next run.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from aescope._atomic import atomic_path
from aescope.data.tables import sniff_format
from aescope.errors import DataUnavailableError

_CHUNK = 1 << 20


def sha256_of(path: str | Path, *, decompress: bool = True) -> str:
    """sha256 of a file's content; of the decompressed bytes for a gzip file.

    Published checksums are of the plain CSV, while a local copy may be gzipped.
    """
    path = Path(path)
    gzipped = decompress and sniff_format(path) == "csv.gz"
    digest = hashlib.sha256()
    with gzip.open(path, "rb") if gzipped else open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def download_verified(
    url: str,
    target: str | Path,
    sha256: str,
    *,
    timeout: float = 60.0,
    progress: bool = True,
) -> Path:
    """Download ``url`` to ``target`` if its sha256 is ``sha256``; else leave nothing behind.

    Raises :class:`DataUnavailableError` with the reason (unreachable, HTTP
    error, truncated transfer, checksum mismatch).
    """
    target = Path(target)
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise DataUnavailableError(f"refusing to download {url!r}: only http(s) URLs are supported")
    try:
        with atomic_path(target) as tmp:
            received, announced, digest = _stream(url, tmp, timeout=timeout, progress=progress)
            if announced is not None and received < announced:
                raise DataUnavailableError(
                    f"transfer from {url} truncated: got {received:,} of {announced:,} bytes"
                )
            if digest != sha256.lower():
                raise DataUnavailableError(
                    f"checksum mismatch for {url}: expected sha256 {sha256.lower()}, "
                    f"got {digest} ({received:,} bytes)"
                )
    except DataUnavailableError:
        raise
    except urllib.error.HTTPError as error:
        raise DataUnavailableError(f"{url} answered HTTP {error.code} {error.reason}") from error
    except urllib.error.URLError as error:
        raise DataUnavailableError(f"cannot reach {url} ({error.reason})") from error
    except (http.client.HTTPException, TimeoutError, OSError) as error:
        raise DataUnavailableError(f"download of {url} failed ({error!r})") from error
    return target


def _stream(
    url: str, destination: Path, *, timeout: float, progress: bool
) -> tuple[int, int | None, str]:
    digest = hashlib.sha256()
    received = 0
    with urllib.request.urlopen(url, timeout=timeout) as response:
        length = response.headers.get("Content-Length")
        announced = int(length) if length and length.isdigit() else None
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            disable=not progress,
            transient=True,
        )
        with bar, open(destination, "wb") as out:
            task = bar.add_task(f"downloading {Path(url).name}", total=announced)
            while chunk := response.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.advance(task, len(chunk))
    return received, announced, digest.hexdigest()
