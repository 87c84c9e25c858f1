"""Replica groups (threads on one CPU, or several devices) give the same results as one group."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from aescope.engine import TrainConfig, set_host_device_count, train
from aescope.engine.devices import split_replicas
from aescope.errors import ConfigError
from aescope.model import Architecture, Layer

SCRIPT = textwrap.dedent(
    """
    from aescope.engine import set_host_device_count
    set_host_device_count(2)
    import jax
    import numpy as np
    from aescope.engine import TrainConfig, train
    from aescope.model import Architecture, Layer

    assert len(jax.local_devices()) == 2, jax.local_devices()
    arch = Architecture.from_hidden(4, [Layer(6), Layer(2, latent=True), Layer(6)])
    rng = np.random.default_rng(0)
    x, v = rng.standard_normal((96, 4)), rng.standard_normal((24, 4))
    config = TrainConfig(epochs=3, batch_size=16, patience=1)
    both = train(arch, x, v, config, seeds=[5, 6])
    assert both.params[0]["kernel"].shape == (2, 4, 6)
    for k, seed in enumerate([5, 6]):
        alone = train(arch, x, v, config, seeds=[seed, 99, 98])  # groups of 2, one padded
        assert alone.params[0]["kernel"].shape == (3, 4, 6) and len(alone.histories) == 3
        for a, b in zip(both.replica(k), alone.replica(0)):
            np.testing.assert_allclose(a["kernel"], b["kernel"], atol=2e-5)
        np.testing.assert_allclose(both.histories[k].val_loss, alone.histories[0].val_loss, 1e-5)
    single = train(arch, x, v, config, seeds=[98])
    last, ref = alone.replica(2)[0]["kernel"], single.replica(0)[0]["kernel"]
    np.testing.assert_allclose(last, ref, atol=2e-5)
    print("OK")
    """
)


def test_replica_groups_over_two_cpu_devices_match_one_device():
    env = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("OK")


def test_set_host_device_count_edits_xla_flags(monkeypatch):
    monkeypatch.setenv("XLA_FLAGS", "--xla_foo=1 --xla_force_host_platform_device_count=7")
    set_host_device_count(3)
    assert os.environ["XLA_FLAGS"] == "--xla_foo=1 --xla_force_host_platform_device_count=3"
    monkeypatch.delenv("XLA_FLAGS")
    set_host_device_count()
    assert os.environ["XLA_FLAGS"].endswith(f"={os.cpu_count()}")


def test_split_replicas_makes_equal_groups_and_pads_the_last():
    groups = split_replicas([1, 2, 3, 4, 5], groups=4)
    assert [g.seeds for g in groups] == [(1, 2), (3, 4), (5, 5)]
    assert [g.n_real for g in groups] == [2, 2, 1]
    assert [g.seeds for g in split_replicas([7, 8], groups=5)] == [(7,), (8,)]
    assert [g.seeds for g in split_replicas([7, 8, 9], groups=1)] == [(7, 8, 9)]
    assert len(split_replicas(list(range(8)))) >= 1  # default: one per core or device


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_split_replicas_rejects_a_bad_group_count(bad):
    with pytest.raises(ConfigError, match="replica_groups"):
        split_replicas([1, 2], groups=bad)


def test_threaded_groups_on_one_device_match_one_vmapped_group():
    """Groups run in threads; each replica still sees its own shuffles, epoch by epoch."""
    arch = Architecture.from_hidden(4, [Layer(6), Layer(2, latent=True), Layer(6)])
    rng = np.random.default_rng(1)
    x, v = rng.standard_normal((80, 4)), rng.standard_normal((20, 4))
    config = TrainConfig(epochs=5, batch_size=16, learning_rate=0.01, restore_best=False)
    one = train(arch, x, v, config, seeds=[5, 6, 7], replica_groups=1)
    three = train(arch, x, v, config, seeds=[5, 6, 7], replica_groups=3)
    for a, b in zip(one.params, three.params, strict=True):
        np.testing.assert_allclose(a["kernel"], b["kernel"], atol=2e-5)
    for h1, h3 in zip(one.histories, three.histories, strict=True):
        np.testing.assert_allclose(h1.train_loss, h3.train_loss, rtol=1e-5)


def test_threaded_groups_keep_early_stopped_replicas_frozen():
    arch = Architecture.from_hidden(4, [Layer(6), Layer(2, latent=True), Layer(6)])
    rng = np.random.default_rng(1)
    x, v = rng.standard_normal((80, 4)), rng.standard_normal((20, 4))
    # A high learning rate makes replicas 0 and 1 stop early, at different epochs:
    # a group whose replicas all stopped is skipped, and must stay frozen.
    config = TrainConfig(epochs=6, batch_size=16, patience=1, learning_rate=0.1)
    one = train(arch, x, v, config, seeds=[5, 6, 7], replica_groups=1)
    three = train(arch, x, v, config, seeds=[5, 6, 7], replica_groups=3)
    two = train(arch, x, v, config, seeds=[5, 6, 7], replica_groups=2)  # 2 + 1 padded
    assert [h.early_stopped for h in one.histories] == [True, True, False]
    for other in (two, three):
        assert other.seeds == (5, 6, 7)
        for a, b in zip(one.params, other.params, strict=True):
            assert a["kernel"].shape == b["kernel"].shape
            np.testing.assert_allclose(a["kernel"], b["kernel"], atol=2e-5)
        for h1, h2 in zip(one.histories, other.histories, strict=True):
            assert (h1.best_epoch, h1.stopped_epoch) == (h2.best_epoch, h2.stopped_epoch)
            # lr 0.1 amplifies the rounding differences of batched vs single matmuls
            # by the last epochs; a replica mix-up would be off by far more than 1 %.
            np.testing.assert_allclose(h1.val_loss, h2.val_loss, rtol=1e-2)


@pytest.mark.parametrize("bad", [0, -2, True, 1.0])
def test_set_host_device_count_rejects_a_bad_count(bad, monkeypatch):
    monkeypatch.delenv("XLA_FLAGS", raising=False)
    with pytest.raises(ConfigError, match="positive integer"):
        set_host_device_count(bad)
