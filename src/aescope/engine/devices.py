"""Where replicas run: spread over the local devices when there is more than one.

Nothing here names a platform. On one device (a plain CPU, one GPU) replicas
are simply vmapped; with several local devices (several GPUs, or a CPU split by
:func:`set_host_device_count`) the replica axis is sharded across them and XLA
runs the shards in parallel.
"""

from __future__ import annotations

import functools
import os
import re

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

_FLAG = "--xla_force_host_platform_device_count"


def set_host_device_count(n: int | None = None) -> None:
    """Expose ``n`` CPU devices (default: all cores) so that replicas use every core.

    XLA runs one CPU computation on one core when its operations are as small
    as an autoencoder's batches, so K replicas on a single CPU device take K
    times as long as one; split into devices, they run side by side. Like
    ``numpyro.set_host_device_count``, this only works if called before JAX
    starts its backend (before the first array is created), and it changes the
    CPU device count for the whole process.
    """
    if n is None:
        n = os.cpu_count() or 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    flags = re.sub(rf"{_FLAG}=\S+", "", os.environ.get("XLA_FLAGS", "")).strip()
    os.environ["XLA_FLAGS"] = f"{flags} {_FLAG}={n}".strip()


def replica_devices(k: int) -> list:
    """Up to ``k`` local devices to spread ``k`` replicas over."""
    return jax.local_devices()[: max(1, min(k, jax.local_device_count()))]


def padded_seeds(seeds: list[int], n_devices: int) -> list[int]:
    """``seeds`` extended to a multiple of ``n_devices`` by repeating the last one.

    Sharding needs equal shards, so 3 replicas on 2 devices run as 4; the extra
    replica repeats a real one (so it cannot fail differently) and is dropped.
    """
    extra = -len(seeds) % n_devices
    return seeds + seeds[-1:] * extra


def placers(devices: list):
    """(put_split, put_shared): place replica-axis pytrees sharded, shared arrays everywhere."""
    if len(devices) == 1:
        put = functools.partial(jax.device_put, device=devices[0])
        return put, put
    mesh = Mesh(np.asarray(devices), ("replica",))
    split = NamedSharding(mesh, PartitionSpec("replica"))
    shared = NamedSharding(mesh, PartitionSpec())
    return (lambda tree: jax.device_put(tree, split)), (lambda a: jax.device_put(a, shared))
