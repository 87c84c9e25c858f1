"""Where replicas run: in groups side by side, one group per CPU core or per device.

XLA runs a computation as small as an autoencoder's training step on one CPU
core (its operations are too small to split), so K vmapped replicas in one
computation take about K times as long as one. The replicas are therefore
split into groups, each its own vmapped computation, and the groups' epochs
run side by side in threads: JAX releases the GIL while XLA runs, so on a CPU
each group gets a core. With several local devices (GPUs, or a CPU split by
:func:`set_host_device_count`) the groups are dealt out over the devices.
Nothing here names a platform beyond "a CPU has cores".
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from typing import Any

import jax

from aescope.errors import ConfigError

_FLAG = "--xla_force_host_platform_device_count"


@dataclass(frozen=True)
class ReplicaGroup:
    """Replicas trained as one vmapped computation on ``device``.

    Groups of one training have equal sizes, so they share one compiled epoch;
    the last group is padded by repeating its last seed, and only the first
    ``n_real`` replicas of a group are reported.
    """

    device: Any
    seeds: tuple[int, ...]
    n_real: int


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask, where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def default_group_count() -> int:
    """One group per device, and on a CPU at least one per usable core."""
    devices = jax.local_devices()
    if devices[0].platform == "cpu":
        return max(len(devices), usable_cores())
    return len(devices)


def split_replicas(seeds: list[int], groups: int | None = None) -> list[ReplicaGroup]:
    """Split ``seeds`` into at most ``groups`` equal groups (default: :func:`default_group_count`).

    More groups than replicas make no sense, and the group size decides the
    count: 5 replicas in up to 4 groups are 3 groups of 2, the last padded.
    """
    if groups is None:
        groups = default_group_count()
    if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
        raise ConfigError(f"replica_groups must be a positive integer, got {groups!r}")
    size = math.ceil(len(seeds) / min(groups, len(seeds)))
    devices = jax.local_devices()
    out = []
    for g, start in enumerate(range(0, len(seeds), size)):
        real = list(seeds[start : start + size])
        padded = real + real[-1:] * (size - len(real))
        out.append(ReplicaGroup(devices[g % len(devices)], tuple(padded), len(real)))
    return out


def set_host_device_count(n: int | None = None) -> None:
    """Expose ``n`` CPU devices (default: all cores) to JAX.

    Replica groups already use every core of a single CPU device, so training
    does not need this; it exists for code that wants several CPU devices (to
    test multi-device placement without GPUs, say). Like
    ``numpyro.set_host_device_count``, it only works if called before JAX starts
    its backend (before the first array is created), and it changes the CPU
    device count for the whole process.
    """
    if n is None:
        n = os.cpu_count() or 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError(f"n must be a positive integer, got {n!r}")
    flags = re.sub(rf"{_FLAG}=\S+", "", os.environ.get("XLA_FLAGS", "")).strip()
    os.environ["XLA_FLAGS"] = f"{flags} {_FLAG}={n}".strip()
