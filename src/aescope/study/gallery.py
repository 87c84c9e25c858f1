"""Which figures the report shows, drawn from trained models kept in the run cache.

:mod:`aescope.study.figures` only plots arrays; this module decides which
models to picture (question 1's chosen replica, the bad latent space and its
unpenalised twin, every sweep) and recomputes their codes and errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aescope.engine import encode
from aescope.model import Architecture
from aescope.plots import error_histogram, roc_pr_figure, save_figure
from aescope.study import figures as F
from aescope.study.runs import RunCache, StudyData, load_params, row_errors
from aescope.study.sweeps import LOSS_BAR, STUDY_BAD_LATENT, STUDY_TABLE1_VAL_LOSS, StudyConfig


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
        lambda: error_histogram(y, err, record["threshold"], title=f"Reconstruction error: {what}"),
        "errors",
        f"Reconstruction-error distributions by class with the threshold at "
        f"1% validation false positives ({what}).",
    )
    save(
        lambda: roc_pr_figure(y, err, title=f"Detection by reconstruction error: {what}"),
        "roc_pr",
        f"ROC and precision-recall curves on the test set ({what}).",
    )
    return out


def all_figures(
    results: dict[str, Any], data: StudyData, cache: RunCache, out_dir: Path, config: StudyConfig
) -> dict[str, list[tuple[str, str]]]:
    fig_dir = out_dir / "figures"
    figs: dict[str, list[tuple[str, str]]] = {}
    q1_runs = results["q1"]["runs"]
    chosen = _find(q1_runs, key=results["answers"]["q1"]["chosen_key"])
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
    refs = {"latent": STUDY_TABLE1_VAL_LOSS}
    for name, summary in results["sweeps"].items():
        path = fig_dir / f"sweep_{name}.png"
        save_figure(
            F.sweep_figure(summary["points"], summary["parameter"], reference=refs.get(name)),
            path,
        )
        figs.setdefault(f"sweep_{name}", []).append(
            (f"Sweep over {summary['parameter']}: mean ± std over seeds.", f"figures/{path.name}")
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
    return figs
