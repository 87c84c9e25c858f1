"""Architecture descriptions: presets, parameter counts, validation messages."""

from __future__ import annotations

import pytest

from aescope.errors import ArchitectureError
from aescope.model import Architecture, Layer, get_preset, list_presets, load_architecture


def test_preset_parameter_counts_match_the_study():
    assert get_preset("seed-best").n_params == 9_589
    assert get_preset("seed-table1").n_params == 28_349
    assert get_preset("seed-table1", latent=32).n_params == 28_349
    # 29-128-64-16-64-128-29: only the two layers touching the latent layer change.
    assert get_preset("seed-table1", latent=16).n_params == 28_349 - 2 * 16 * 64 - 16


def test_list_presets_names_the_study_models():
    assert {"seed-best", "seed-table1", "seed-bad-latent"} <= set(list_presets())


def test_seed_best_layers_are_as_described():
    arch = get_preset("seed-best")
    assert [layer.units for layer in arch.layers] == [64, 32, 24, 32, 64, 29]
    assert [layer.activation for layer in arch.layers] == [
        "relu",
        "tanh",
        "relu",
        "relu",
        "tanh",
        "linear",
    ]
    assert [layer.activity_l1 for layer in arch.layers] == [0, 1e-4, 0, 1e-4, 0, 0]
    assert arch.latent_index == 2
    assert arch.latent_units == 24


def test_seed_bad_latent_regularises_the_latent_layer():
    arch = get_preset("seed-bad-latent")
    latent = arch.layers[arch.latent_index]
    assert (latent.units, latent.activity_l1) == (32, 0.1)
    assert [layer.units for layer in arch.layers] == [32, 24, 32, 24, 32, 29]


def test_presets_adapt_to_other_tables():
    arch = get_preset("seed-best", n_features=10)
    assert arch.n_features == 10 and arch.layers[-1].units == 10
    assert arch.n_params == 10 * 64 + 64 + 2080 + 792 + 800 + 2112 + 64 * 10 + 10
    assert load_architecture("seed-best", n_features=10) == arch


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(ArchitectureError, match="seed-best"):
        get_preset("seed-worst")
    with pytest.raises(ArchitectureError, match="neither a preset"):
        load_architecture("seed-worst")


def test_from_hidden_appends_a_linear_output():
    arch = Architecture.from_hidden(5, [Layer(3, latent=True)])
    assert arch.layers[-1] == Layer(5, activation="linear")


def test_from_dict_defaults_hidden_relu_and_output_linear():
    arch = Architecture.from_dict(
        {"n_features": 4, "layers": [{"units": 2, "latent": True}, {"units": 4}]}
    )
    assert [layer.activation for layer in arch.layers] == ["relu", "linear"]


def _arch(*layers: Layer, n_features: int = 4) -> Architecture:
    return Architecture(n_features=n_features, layers=layers, name="t")


@pytest.mark.parametrize(
    ("layers", "pattern"),
    [
        (
            (Layer(2, "swish", latent=True), Layer(4, "linear")),
            r"layer 0: unknown activation 'swish'",
        ),
        ((Layer(0, latent=True), Layer(4, "linear")), r"layer 0: units must be > 0"),
        ((Layer(-3, latent=True), Layer(4, "linear")), r"layer 0: units must be > 0"),
        ((Layer(2), Layer(4, "linear")), r"no layer is marked latent"),
        ((Layer(2, latent=True), Layer(3, latent=True), Layer(4)), r"layers \[0, 1\] are all"),
        ((Layer(2, latent=True), Layer(5, "linear")), r"layer 1 \(output\): units must equal"),
        ((Layer(2, latent=True, activity_l1=-1e-4), Layer(4)), r"layer 0: activity_l1 must be"),
        ((Layer(2, latent=True, kernel_l2=-1.0), Layer(4)), r"layer 0: kernel_l2 must be"),
        (
            (Layer(2, latent=True, activity_l2=float("nan")), Layer(4)),
            r"activity_l2 must be finite",
        ),
        ((Layer(2, latent=True, dropout=1.0), Layer(4)), r"layer 0: dropout must be in \[0, 1\)"),
        ((Layer(2, latent=True, dropout=-0.1), Layer(4)), r"layer 0: dropout must be in \[0, 1\)"),
        ((Layer(2, latent=True), Layer(4, dropout=0.5)), r"output\): dropout"),
        ((Layer(4, latent=True),), r"at least one hidden layer"),
    ],
)
def test_validation_names_layer_and_field(layers, pattern):
    with pytest.raises(ArchitectureError, match=pattern):
        _arch(*layers)


def test_validation_names_the_layer_by_name_when_given():
    with pytest.raises(ArchitectureError, match=r"layer 1 \(bottleneck\): units"):
        _arch(Layer(3), Layer(0, latent=True, name="bottleneck"), Layer(4))


def test_with_features_and_with_latent_revalidate():
    arch = get_preset("seed-best")
    assert arch.with_features(29) is arch
    assert arch.with_latent(8).latent_units == 8
    with pytest.raises(ArchitectureError, match="units must be > 0"):
        arch.with_latent(0)


def test_architecture_is_hashable_for_compilation_caches():
    assert hash(get_preset("seed-best")) == hash(get_preset("seed-best"))
    assert {get_preset("seed-best"), get_preset("seed-best")} == {get_preset("seed-best")}
