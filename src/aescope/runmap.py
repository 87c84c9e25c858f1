"""How a sweep runs its independent fits: one by one here, or as tasks on a cluster.

The benchmark and the study each have many fits that do not depend on one
another. They hand them to a *run map*: a callable taking a function and an
iterable of argument tuples (read lazily, so a sweep can prepare its data one
piece at a time), and yielding ``(position, result)`` pairs as the calls
finish, in any order. :func:`local_map` runs them in this process, in order (the
default); :class:`ThreadMap` runs a few at once in this process's threads;
:class:`aescope.distributed.dask_engine.DaskRunMap` runs them as Dask tasks.
The sweep code stays the same either way, so do its caches and its numbers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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


class Stopped(Exception):
    """A thread map was left early (an error, Ctrl-C): its running calls give up."""


class ThreadMap:
    """Up to ``workers`` calls at once, in threads of this process.

    The study's settings are JAX training calls, and JAX releases the GIL while
    XLA runs, so two settings on two cores fill the gaps one leaves: its
    evaluation (NumPy and scikit-learn, mostly on one core) and the epochs
    after its first seeds stopped early. Each call computes exactly what it
    would alone, so the numbers are the same as :func:`local_map`'s.

    A long call should pass :meth:`check` as its progress callback (per epoch,
    per chunk): when the map is left early (an error, Ctrl-C), the calls still
    running stop at their next step instead of finishing work nobody will read,
    and queued calls do not start.
    """

    def __init__(self, workers: int) -> None:
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
            raise ValueError(f"workers must be a positive integer, got {workers!r}")
        self.workers = workers
        self._stop = threading.Event()

    def check(self, *_: object) -> None:
        """Raise :class:`Stopped` once the map has been left early."""
        if self._stop.is_set():
            raise Stopped

    def _unless_stopped(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
        self.check()  # a call queued when the map was left does not start
        return fn(*args)

    def __call__(
        self, fn: Callable[..., Any], calls: Iterable[tuple[Any, ...]]
    ) -> Iterator[tuple[int, Any]]:
        self._stop.clear()
        pool = ThreadPoolExecutor(self.workers, thread_name_prefix="aescope-run")
        waiting = enumerate(calls)
        running: dict[Future, int] = {}
        try:
            while True:
                # a few calls ahead, not all: the calls may be prepared lazily
                for i, args in waiting:
                    running[pool.submit(self._unless_stopped, fn, args)] = i
                    if len(running) >= 2 * self.workers:
                        break
                if not running:
                    return
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield running.pop(future), future.result()
        finally:
            self._stop.set()
            pool.shutdown(wait=True, cancel_futures=True)
