"""A Keras-style text table of an architecture, for people checking what they built.

It mirrors ``model.summary()`` of Keras (layer, output shape, parameter count,
totals) so that counts can be compared with the study side by side, and adds a
column with the activation and regularisers, which Keras hides.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aescope.model.spec import Architecture, Layer

_HEAD = ("Layer (type)", "Output Shape", "Param #", "Activation / regularisers")


def summary_table(arch: Architecture) -> str:
    rows: list[tuple[str, str, str, str]] = [
        ("input (InputLayer)", f"(None, {arch.n_features})", "0", "")
    ]
    names = arch.layer_names()
    last = len(arch.layers) - 1
    for i, ((fan_in, fan_out), layer) in enumerate(zip(arch.shapes, arch.layers, strict=True)):
        role = " [latent]" if layer.latent else (" [output]" if i == last else "")
        rows.append(
            (
                f"{names[i]} (Dense)",
                f"(None, {fan_out})",
                f"{fan_in * fan_out + fan_out:,}",
                _notes(layer) + role,
            )
        )
        if layer.dropout:
            rows.append((f"{names[i]}_dropout (Dropout)", f"(None, {fan_out})", "0", ""))
    widths = [max(len(r[c]) for r in [_HEAD, *rows]) for c in range(4)]

    def fmt(r: tuple[str, str, str, str]) -> str:
        cells = [r[0].ljust(widths[0]), r[1].ljust(widths[1]), r[2].rjust(widths[2]), r[3]]
        return (" " + "   ".join(cells)).rstrip()

    rule_len = sum(widths) + 3 * 3 + 1
    total = arch.n_params
    lines = [
        f'Model: "{arch.name or "autoencoder"}"',
        "_" * rule_len,
        fmt(_HEAD),
        "=" * rule_len,
        *(fmt(r) for r in rows),
        "=" * rule_len,
        f"Total params: {total:,}",
        f"Trainable params: {total:,}",
        "Non-trainable params: 0",
        f"Latent layer: {names[arch.latent_index]} ({arch.latent_units} units)",
        "_" * rule_len,
    ]
    return "\n".join(lines)


def _notes(layer: Layer) -> str:
    parts = [layer.activation]
    if layer.activity_l1:
        parts.append(f"activity L1 {layer.activity_l1:g}")
    if layer.activity_l2:
        parts.append(f"activity L2 {layer.activity_l2:g}")
    if layer.kernel_l2:
        parts.append(f"kernel L2 {layer.kernel_l2:g}")
    if layer.dropout:
        parts.append(f"dropout {layer.dropout:g}")
    return ", ".join(parts)
