"""How a sweep runs its independent fits: one by one here, or as tasks on a cluster.

The benchmark and the study each have many fits that do not depend on one
another. They hand them to a *run map*: a callable taking a function and an
iterable of argument tuples (read lazily, so a sweep can prepare its data one
piece at a time), and yielding ``(position, result)`` pairs as the calls
finish, in any order. :func:`local_map` runs them in this process, in order (the
default); :class:`aescope.distributed.dask_engine.DaskRunMap` runs them as Dask
tasks. The sweep code stays the same either way, so do its caches and its numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Protocol


class RunMap(Protocol):
    """``run_map(fn, calls)`` yields ``(i, fn(*calls[i]))`` for every call, in any order."""

    def __call__(
        self, fn: Callable[..., Any], calls: Iterable[tuple[Any, ...]]
    ) -> Iterator[tuple[int, Any]]: ...


def local_map(
    fn: Callable[..., Any], calls: Iterable[tuple[Any, ...]]
) -> Iterator[tuple[int, Any]]:
    """Run the calls one after the other in this process (what every sweep did before)."""
    for i, args in enumerate(calls):
        yield i, fn(*args)
