"""Architecture files: TOML and JSON round trips and the errors for bad files."""

from __future__ import annotations

import json

import pytest

from aescope.errors import ArchitectureError
from aescope.model import (
    Architecture,
    Layer,
    from_json,
    from_toml,
    get_preset,
    list_presets,
    load_architecture,
    read_architecture,
    save_architecture,
    to_json,
    to_toml,
)

RICH = Architecture(
    n_features=7,
    layers=(
        Layer(16, "gelu", activity_l2=1e-3, kernel_l2=1e-5, dropout=0.2, name="enc"),
        Layer(3, "leaky_relu", activity_l1=1e-4, latent=True, name="code"),
        Layer(16, "elu"),
        Layer(7, "sigmoid"),
    ),
    name='with "quotes" \\ and unicode é',
)


@pytest.mark.parametrize("name", list_presets())
def test_every_preset_round_trips(name):
    arch = get_preset(name)
    assert from_toml(to_toml(arch)) == arch
    assert from_json(to_json(arch)) == arch
    assert Architecture.from_dict(arch.to_dict()) == arch
    assert Architecture.from_toml(arch.to_toml()) == Architecture.from_json(arch.to_json()) == arch


def test_rich_description_round_trips_through_files(tmp_path):
    for suffix in (".toml", ".json"):
        path = save_architecture(RICH, tmp_path / f"arch{suffix}")
        assert read_architecture(path) == RICH
        assert load_architecture(path, n_features=None) == RICH
    assert load_architecture(tmp_path / "arch.toml", n_features=9).n_features == 9


def test_toml_file_is_readable_and_omits_defaults():
    text = to_toml(get_preset("seed-best"))
    assert "[[layers]]" in text and "[output]" in text
    assert "dropout" not in text and "kernel_l2" not in text
    assert "activity_l1 = 0.0001" in text


def test_hand_written_toml_with_all_layers_in_one_list():
    text = """
    n_features = 3
    [[layers]]
    units = 2
    latent = true
    [[layers]]
    units = 3
    """
    arch = from_toml(text)
    assert arch.layers[-1].activation == "linear" and arch.n_params == 3 * 2 + 2 + 2 * 3 + 3


def test_bad_files_name_the_file_and_the_problem(tmp_path):
    bad_toml = tmp_path / "bad.toml"
    bad_toml.write_text("n_features = [", encoding="utf-8")
    with pytest.raises(ArchitectureError, match=r"bad\.toml: not valid TOML"):
        read_architecture(bad_toml)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text(
        json.dumps({"n_features": 3, "layers": [{"units": 2}, {"units": 3}]}), encoding="utf-8"
    )
    with pytest.raises(ArchitectureError, match=r"bad\.json: .*no layer is marked latent"):
        read_architecture(bad_json)
    typo = tmp_path / "typo.json"
    d = get_preset("seed-best").to_dict()
    d["layers"][1]["activity_L1"] = 1e-4
    typo.write_text(json.dumps(d), encoding="utf-8")
    with pytest.raises(ArchitectureError, match=r"layer 1: unknown field\(s\) \['activity_L1'\]"):
        read_architecture(typo)
    with pytest.raises(ArchitectureError, match=r"must end in \.toml or \.json"):
        save_architecture(RICH, tmp_path / "arch.yaml")
    with pytest.raises(ArchitectureError, match="not found"):
        load_architecture(tmp_path / "missing.toml")


def test_unknown_top_level_key_is_rejected():
    with pytest.raises(ArchitectureError, match=r"unknown key\(s\) \['latent'\]"):
        Architecture.from_dict({"n_features": 3, "layers": [], "latent": 2})
