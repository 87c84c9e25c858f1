"""The default autoencoder configuration: sized from the features, scheduled from the rows."""

from __future__ import annotations

import pytest

from aescope.model import Architecture, get_preset
from aescope.model.auto import auto_widths, default_architecture, default_training


@pytest.mark.parametrize("d", [1, 2, 3, 6, 9, 29, 39, 166, 1000])
def test_default_architecture_is_valid_for_any_width(d):
    arch = default_architecture(d)
    assert isinstance(arch, Architecture)
    assert arch.n_features == d and arch.layers[-1].units == d
    assert arch.layers[-1].activation == "linear"
    assert arch.name == "auto"
    assert Architecture.from_dict(arch.to_dict()) == arch  # it can be saved like any other


def test_narrow_tables_get_the_study_network():
    # The study's seed-best generalised best on ADBench; up to 32 columns it is the default.
    for d in (3, 29, 32):
        assert default_architecture(d).layers == get_preset("seed-best", n_features=d).layers


def test_widths_grow_with_wide_tables_within_caps():
    assert auto_widths(29) == (64, 32, 24)
    assert auto_widths(39) == (78, 39, 30)
    assert auto_widths(166) == (256, 128, 64)
    widths = [auto_widths(d) for d in range(1, 400)]
    for i in range(3):
        column = [w[i] for w in widths]
        assert column == sorted(column)  # never shrinks as tables get wider
    assert all(latent < d for d, (_, _, latent) in enumerate(widths, start=1) if d > 32)


def test_training_schedule_scales_with_rows():
    small, large = default_training(200), default_training(200_000)
    assert small["batch_size"] < large["batch_size"]
    assert small["epochs"] > large["epochs"]
    assert small["patience"] and large["patience"]  # early stopping is always on
    for n in (10, 1_000, 50_000, 600_000):
        t = default_training(n)
        steps = t["epochs"] * -(-n // t["batch_size"])
        assert steps <= 20_000 or t["epochs"] == 20  # the step budget, or the epoch floor


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_bad_sizes_are_refused(bad):
    with pytest.raises(ValueError):
        default_architecture(bad)
    with pytest.raises(ValueError):
        default_training(bad)
