"""Which figures the report shows, drawn from trained models kept in the run cache.

:mod:`aescope.study.figures` only plots arrays; this module decides which
models to picture (question 1's chosen replica, the bad latent space and its
unpenalised twin, every sweep) and recomputes their codes and errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from aescope.engine import encode
from aescope.model import Architecture
from aescope.plots import error_histogram, save_figure
from aescope.study import figures as F
from aescope.study.answer_q6 import collapsed
from aescope.study.linear import no_model_score, pca_size
from aescope.study.runs import RunCache, StudyData, load_params, row_errors
from aescope.study.sweeps import LOSS_BAR, STUDY_BAD_LATENT, STUDY_TABLE1_VAL_LOSS, StudyConfig

READABLE = {"font.size": 11, "axes.titlesize": 12, "legend.fontsize": 9.5}
"""Font sizes that stay legible when a 10-inch figure is shown 870 pixels wide."""


def _find(records: Sequence[dict[str, Any]], **match: Any) -> dict[str, Any] | None:
    for r in records:
        if all(r.get(k) == v for k, v in match.items()):
            return r
    return None


def model_figures(
    record: dict[str, Any],
    data: StudyData,
    cache: RunCache,
    fig_dir: Path,
    prefix: str,
    what: str,
    config: StudyConfig,
    *,
    curves: Sequence[dict[str, Any]] = (),
    kinds: Sequence[str] = ("latent_2d", "latent_activations", "errors", "roc_pr"),
) -> list[tuple[str, str]]:
    """Loss curves (when ``curves`` are given) and the figures named in ``kinds`` of one model."""
    arch = Architecture.from_dict(record["arch"])
    params = load_params(cache, record)
    y = data.y_test
    z = encode(arch, params, data.x_test, batch_size=data.infer_chunk)
    err = row_errors(arch, params, data.x_test, record["config"]["loss"], data.infer_chunk)
    out: list[tuple[str, str]] = []

    def save(make, name: str, caption: str) -> None:
        if name != "loss_curves" and name not in kinds:
            return
        save_figure(make(), fig_dir / f"{prefix}_{name}.png")
        out.append((caption, f"figures/{prefix}_{name}.png"))

    if curves:
        save(
            lambda: F.loss_curves_figure(
                [c["history"] for c in curves], f"Loss curves: {what}", LOSS_BAR
            ),
            "loss_curves",
            f"Train and validation loss per epoch of every seed trained with this setting "
            f"(the other figures show {what}).",
        )
    save(
        lambda: F.latent_projection_figure(
            z,
            y,
            max_rows=config.projection_rows,
            seed=config.split_seed,
            title=f"Latent space of test rows: {what}",
        ),
        "latent_2d",
        f"Latent codes of normal and fraud test rows in 2-D ({what}).",
    )
    save(
        lambda: F.latent_activation_figure(
            z, y, seed=config.split_seed, title=f"Latent activations: {what}"
        ),
        "latent_activations",
        f"Per-unit latent activations by class ({what}).",
    )
    save(
        lambda: histogram(y, err, record["threshold"], f"Reconstruction error: {what}"),
        "errors",
        f"Reconstruction-error distributions by class with the threshold at "
        f"1% validation false positives ({what}).",
    )
    k = pca_size(arch, data.n_features)
    curves = [
        ("autoencoder", err),
        ("no model", no_model_score(data.x_test)),
        (f"PCA, {k} components", data.linear.errors(data.x_test, k)),
    ]
    save(
        lambda: F.detection_figure(y, curves, title=f"Detection on the test set: {what}"),
        "roc_pr",
        f"ROC (log false-positive axis) and precision-recall curves on the test set ({what}), "
        "beside no model and the linear AE of the same width.",
    )
    return out


def histogram(y, err, threshold: float, title: str) -> plt.Figure:
    """The shared error histogram, its legend moved beside the axes (off the threshold line)."""
    fig = error_histogram(y, err, threshold, title=title)
    fig.set_size_inches(8.5, 4.2)
    fig.axes[0].legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    return fig


def all_figures(
    results: dict[str, Any], data: StudyData, cache: RunCache, out_dir: Path, config: StudyConfig
) -> dict[str, list[tuple[str, str]]]:
    with plt.rc_context(READABLE):
        return _all_figures(results, data, cache, out_dir, config)


def _all_figures(
    results: dict[str, Any], data: StudyData, cache: RunCache, out_dir: Path, config: StudyConfig
) -> dict[str, list[tuple[str, str]]]:
    fig_dir = out_dir / "figures"
    figs: dict[str, list[tuple[str, str]]] = {}
    q1_runs = results["q1"]["runs"]
    answer = results["answers"]["q1"]
    chosen = _find(q1_runs, key=answer["chosen_key"])
    if chosen is not None:
        curves = [r for r in q1_runs if r["label"] == chosen["label"]]
        figs["q1"] = model_figures(
            chosen,
            data,
            cache,
            fig_dir,
            "q1",
            f"seed-best, seed {chosen['seed']}",
            config,
            curves=curves,
        )
    protocol = results["q1"].get("protocol", [])
    if protocol:
        path = fig_dir / "q1_protocol_loss_curves.png"
        save_figure(
            F.loss_curves_figure(
                [r["history"] for r in protocol],
                "Loss curves: the study's protocol",
                LOSS_BAR,
                kept_last=True,
            ),
            path,
        )
        figs["q1"].append(
            (
                "Train and validation loss per epoch of every seed trained with the study's "
                "protocol (validation: the last 20% of rows in file order).",
                f"figures/{path.name}",
            )
        )
    refs = {"latent": STUDY_TABLE1_VAL_LOSS}
    base = results["baselines"]
    for name, summary in results["sweeps"].items():
        path = fig_dir / f"sweep_{name}.png"
        pca = [
            base.get(f"pca_{n['pca_components']}", {}).get("val_loss") for n in summary["networks"]
        ]
        lines = {"no_model": base["no_model"], "pca": pca if None not in pca else None}
        save_figure(
            F.sweep_figure(
                summary["points"], summary["parameter"], reference=refs.get(name), baselines=lines
            ),
            path,
        )
        figs.setdefault(f"sweep_{name}", []).append(
            (
                f"Sweep over {summary['parameter']}: mean ± std over seeds; dashed: no model; "
                "crosses: PCA of the same width.",
                f"figures/{path.name}",
            )
        )
    l1_runs = results["runs"].get("latent_l1", [])
    first_seed = config.seeds[0]
    # The bad latent space in full; the unpenalised one only where the contrast matters.
    for value, prefix, what, kinds in (
        (
            STUDY_BAD_LATENT["l1"],
            "q6_l1",
            f"latent L1 = {STUDY_BAD_LATENT['l1']:g}",
            ("latent_2d", "latent_activations", "errors", "roc_pr"),
        ),
        (0.0, "q6_no_l1", "latent L1 = 0", ("latent_2d", "latent_activations")),
    ):
        record = _find(l1_runs, value=value, seed=first_seed)
        if record is not None:
            curves = [r for r in l1_runs if r["value"] == value] if value else []
            figs.setdefault("q6", []).extend(
                model_figures(
                    record, data, cache, fig_dir, prefix, what, config, curves=curves, kinds=kinds
                )
            )
    # The strongest collapsed setting, where it is not the study's: its curves lie on no model's.
    gone = [r for r in l1_runs if r["seed"] == first_seed and collapsed(r)]
    strongest = max(gone, key=lambda r: r["value"], default=None)
    if strongest is not None and strongest["value"] != STUDY_BAD_LATENT["l1"]:
        what = f"latent L1 = {strongest['value']:g}, collapsed"
        figs.setdefault("q6", []).extend(
            model_figures(
                strongest, data, cache, fig_dir, "q6_collapsed", what, config, kinds=("roc_pr",)
            )
        )
    return figs
