"""Replicas sharded over several local devices give the same results as on one."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from aescope.engine import set_host_device_count

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
        alone = train(arch, x, v, config, seeds=[seed, 99, 98])  # 3 replicas: padded to 4
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


def test_replicas_sharded_over_two_cpu_devices_match_one_device():
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
