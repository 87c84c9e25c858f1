"""The description of a dense autoencoder: layers, activations, regularisers, latent layer.

A description is plain, frozen, hashable data so that the engine can use it as a
static argument of compiled functions (one compile per architecture) and so that
it can be written to TOML or JSON and read back without loss.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from typing import Any

from aescope.errors import ArchitectureError

ACTIVATIONS: tuple[str, ...] = (
    "relu",
    "tanh",
    "sigmoid",
    "elu",
    "gelu",
    "leaky_relu",
    "linear",
)
"""Activation names understood by the engine (Keras spellings)."""

_FLOAT_FIELDS = ("activity_l1", "activity_l2", "kernel_l2", "dropout")


@dataclass(frozen=True)
class Layer:
    """One dense layer.

    ``activity_l1``/``activity_l2`` act like Keras' ``activity_regularizer`` on the
    layer's (post-activation) output; ``kernel_l2`` like ``kernel_regularizer=L2``;
    ``dropout`` like a ``Dropout`` layer placed right after this one (training only).
    """

    units: int
    activation: str = "relu"
    activity_l1: float = 0.0
    activity_l2: float = 0.0
    kernel_l2: float = 0.0
    dropout: float = 0.0
    latent: bool = False
    name: str | None = None

    def check(self, where: str) -> None:
        """Raise :class:`ArchitectureError` naming ``where`` and the field at fault."""
        if isinstance(self.units, bool) or not isinstance(self.units, int):
            raise ArchitectureError(f"{where}: units must be an integer, got {self.units!r}")
        if self.units <= 0:
            raise ArchitectureError(f"{where}: units must be > 0, got {self.units}")
        if self.activation not in ACTIVATIONS:
            raise ArchitectureError(
                f"{where}: unknown activation {self.activation!r}; "
                f"choose one of {', '.join(ACTIVATIONS)}"
            )
        for key in _FLOAT_FIELDS:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ArchitectureError(f"{where}: {key} must be a number, got {value!r}")
            if key == "dropout" and not 0 <= value < 1:
                raise ArchitectureError(f"{where}: dropout must be in [0, 1), got {value}")
            if not math.isfinite(value) or value < 0:
                raise ArchitectureError(f"{where}: {key} must be finite and >= 0, got {value}")
        if not isinstance(self.latent, bool):
            raise ArchitectureError(f"{where}: latent must be true or false, got {self.latent!r}")

    def to_dict(self) -> dict[str, Any]:
        """Only the fields that differ from the defaults, so files stay readable."""
        defaults = Layer(units=1)
        out: dict[str, Any] = {"units": self.units, "activation": self.activation}
        for f in fields(self):
            if f.name in out:
                continue
            value = getattr(self, f.name)
            if value != getattr(defaults, f.name):
                out[f.name] = value
        return out


@dataclass(frozen=True)
class Architecture:
    """A stack of dense layers mapping ``n_features`` inputs back to ``n_features`` outputs.

    The last layer is the output layer; exactly one layer is the latent layer.
    """

    n_features: int
    layers: tuple[Layer, ...]
    name: str = ""

    def __post_init__(self) -> None:
        # Accept any sequence (a list written by hand) but store a tuple: hashable.
        if not isinstance(self.layers, tuple):
            object.__setattr__(self, "layers", tuple(self.layers))
        self._validate()

    def _validate(self) -> None:
        label = f"architecture {self.name!r}" if self.name else "architecture"
        nf = self.n_features
        if isinstance(nf, bool) or not isinstance(nf, int) or nf <= 0:
            raise ArchitectureError(f"{label}: n_features must be an integer > 0, got {nf!r}")
        if len(self.layers) < 2:
            raise ArchitectureError(
                f"{label}: needs at least one hidden layer and the output layer, "
                f"got {len(self.layers)} layer(s)"
            )
        for i, layer in enumerate(self.layers):
            if not isinstance(layer, Layer):
                raise ArchitectureError(f"{label}: layer {i} is not a Layer: {layer!r}")
            layer.check(_where(label, i, layer))
        out = self.layers[-1]
        where_out = _where(label, len(self.layers) - 1, out) + " (output)"
        if out.units != nf:
            raise ArchitectureError(
                f"{where_out}: units must equal n_features={nf}, got {out.units}"
            )
        if out.latent:
            raise ArchitectureError(f"{where_out}: the output layer cannot be the latent layer")
        if out.dropout:
            raise ArchitectureError(f"{where_out}: dropout on the reconstruction is not allowed")
        latent = [i for i, layer in enumerate(self.layers) if layer.latent]
        if not latent:
            raise ArchitectureError(f"{label}: no layer is marked latent (set latent = true)")
        if len(latent) > 1:
            raise ArchitectureError(f"{label}: layers {latent} are all marked latent; mark one")
        names = [layer.name for layer in self.layers if layer.name]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ArchitectureError(f"{label}: duplicate layer names {dupes}")

    @classmethod
    def from_hidden(
        cls,
        n_features: int,
        hidden: Sequence[Layer],
        output_activation: str = "linear",
        name: str = "",
    ) -> Architecture:
        """Build from the hidden layers only; the output layer (linear by default) is added."""
        out = Layer(units=n_features, activation=output_activation)
        return cls(n_features=n_features, layers=(*hidden, out), name=name)

    @property
    def latent_index(self) -> int:
        return next(i for i, layer in enumerate(self.layers) if layer.latent)

    @property
    def latent_units(self) -> int:
        return self.layers[self.latent_index].units

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """(fan_in, fan_out) of every dense layer's kernel."""
        sizes = [self.n_features, *(layer.units for layer in self.layers)]
        return list(itertools.pairwise(sizes))

    @property
    def n_params(self) -> int:
        return sum(i * o + o for i, o in self.shapes)

    def layer_names(self) -> list[str]:
        """Given names, or Keras-like ``dense``, ``dense_1``, ... for unnamed layers."""
        return [
            layer.name or ("dense" if i == 0 else f"dense_{i}")
            for i, layer in enumerate(self.layers)
        ]

    def summary(self) -> str:
        from aescope.model.summary import summary_table

        return summary_table(self)

    def to_toml(self) -> str:
        from aescope.model.io import to_toml

        return to_toml(self)

    def to_json(self) -> str:
        from aescope.model.io import to_json

        return to_json(self)

    @classmethod
    def from_toml(cls, text: str) -> Architecture:
        from aescope.model.io import from_toml

        return from_toml(text)

    @classmethod
    def from_json(cls, text: str) -> Architecture:
        from aescope.model.io import from_json

        return from_json(text)

    def with_features(self, n_features: int) -> Architecture:
        """The same network for a table with ``n_features`` columns (output layer resized)."""
        if n_features == self.n_features:
            return self
        out = replace(self.layers[-1], units=n_features)
        return replace(self, n_features=n_features, layers=(*self.layers[:-1], out))

    def with_latent(self, units: int) -> Architecture:
        """The same network with a different latent width."""
        i = self.latent_index
        layers = list(self.layers)
        layers[i] = replace(layers[i], units=units)
        return replace(self, layers=tuple(layers))

    def to_dict(self) -> dict[str, Any]:
        """Hidden layers under ``layers``, the output layer under ``output`` (no units)."""
        out = self.layers[-1].to_dict()
        out.pop("units")
        return {
            "name": self.name,
            "n_features": self.n_features,
            "layers": [layer.to_dict() for layer in self.layers[:-1]],
            "output": out,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Architecture:
        """Inverse of :meth:`to_dict`; also accepts the output layer as the last of ``layers``.

        A missing activation means relu for hidden layers and linear for the output.
        """
        if not isinstance(d, Mapping):
            raise ArchitectureError(f"architecture must be a table/object, got {type(d).__name__}")
        unknown = set(d) - {"name", "n_features", "layers", "output"}
        if unknown:
            raise ArchitectureError(f"architecture: unknown key(s) {sorted(unknown)}")
        if "n_features" not in d:
            raise ArchitectureError("architecture: missing n_features")
        name = str(d.get("name", ""))
        label = f"architecture {name!r}" if name else "architecture"
        raw = d.get("layers")
        if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
            raise ArchitectureError(f"{label}: 'layers' must be a non-empty list of tables")
        raw = list(raw)
        n_features = d["n_features"]
        if "output" in d:
            if not isinstance(d["output"], Mapping):
                raise ArchitectureError(f"{label}: 'output' must be a table/object")
            raw.append({"units": n_features, **d["output"]})
        layers = []
        for i, item in enumerate(raw):
            is_out = i == len(raw) - 1
            layers.append(_layer_from_dict(item, f"{label}: layer {i}", is_out))
        return cls(n_features=n_features, layers=tuple(layers), name=name)


def _layer_from_dict(item: Any, where: str, is_output: bool) -> Layer:
    if not isinstance(item, Mapping):
        raise ArchitectureError(f"{where}: must be a table/object, got {item!r}")
    known = {f.name for f in fields(Layer)}
    unknown = set(item) - known
    if unknown:
        raise ArchitectureError(f"{where}: unknown field(s) {sorted(unknown)}")
    if "units" not in item:
        raise ArchitectureError(f"{where}: missing units")
    kwargs = dict(item)
    kwargs.setdefault("activation", "linear" if is_output else "relu")
    for key in _FLOAT_FIELDS:
        if isinstance(kwargs.get(key), int) and not isinstance(kwargs.get(key), bool):
            kwargs[key] = float(kwargs[key])
    return Layer(**kwargs)


def _where(label: str, i: int, layer: Layer) -> str:
    return f"{label}: layer {i}" + (f" ({layer.name})" if layer.name else "")
