"""The design search behind the default detector: one training, many candidate scores.

``screen`` runs the `aescope bench` protocol (``aescope.bench.protocol.prepare``)
for each (data set, seed), trains K = 4 default autoencoders together once and
caches every raw piece a candidate score is built from: each replica's
per-feature squared errors, k-nearest-neighbour distances to several reference
sets (input space and each replica's code space), and the competitors' scores.
``table`` then builds every candidate from the cache (no training) and prints
the ablation: average ranks against the competitors on the ADBench sets, and
the credit-card AUPRC.

    python benchmarks/detection_ablation.py screen --seeds 0,1,2 --cache out/ablation
    python benchmarks/detection_ablation.py table --cache out/ablation
    # the same candidates from denoising autoencoders (only the training is redone):
    python benchmarks/detection_ablation.py screen --seeds 0,1,2 --input-noise 0.1 \
        --base out/ablation --cache out/ablation-noise0.1

Candidates are ranked one at a time against the same field (PCA, Isolation
Forest, LOF, One-Class SVM, kNN k=5 on all training rows, the squared norm), so
each row's rank says how that variant would place among the competitors.
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import NearestNeighbors

from aescope.bench.detectors import REGISTRY
from aescope.bench.protocol import prepare, subsample
from aescope.bench.ranks import rank_table
from aescope.bench.sources import adbench_sources, creditcard_source
from aescope.engine import TrainConfig, encode, reconstruct, train
from aescope.ensemble import error_spread, floored_scales, in_error_units
from aescope.model.auto import default_architecture, default_training
from aescope.neighbors import mean_distance

K_REPLICAS = 4
K_MAX = 10  # neighbour distances cached for k = 1..10
REFERENCE_SIZES = (1024, 4096, 16384)
COMPETITORS = ("pca", "iforest", "lof", "ocsvm")
DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

# --------------------------------------------------------------------------- screen


def _knn(reference: np.ndarray, queries: list[np.ndarray], batch: int = 8192) -> list:
    """Sorted distances to the K_MAX nearest reference rows, for each query matrix."""
    return [d for d, _ in _knn_with_rows(reference, queries, batch)]


def _knn_with_rows(reference: np.ndarray, queries: list[np.ndarray], batch: int = 8192) -> list:
    """(distances, reference row numbers) of the K_MAX nearest, for each query matrix."""
    nn = NearestNeighbors(n_neighbors=min(K_MAX, len(reference))).fit(reference)
    out = []
    for q in queries:
        found = [nn.kneighbors(q[i : i + batch]) for i in range(0, len(q), batch)]
        out.append(
            (
                np.concatenate([d for d, _ in found]).astype(np.float32),
                np.concatenate([r for _, r in found]).astype(np.int32),
            )
        )
    return out


def _local_scale(reference: np.ndarray, k: int = 5) -> np.ndarray:
    """Each reference row's mean distance to its k nearest *other* reference rows."""
    nn = NearestNeighbors(n_neighbors=k + 1).fit(reference)
    return nn.kneighbors(reference)[0][:, 1:].mean(1).astype(np.float32)


def _sub(x: np.ndarray, n: int, seed: int) -> np.ndarray:
    return x[subsample(np.arange(len(x)), n, seed + 17)]


TRAINED = ("ev", "es", "zv", "zs", "t_train", "uv", "us")
"""The cached pieces that depend on the training; everything else depends only on the split."""


def _error_unit_knn(rec: dict, xt: np.ndarray, xv: np.ndarray, xs: np.ndarray, seed: int):
    """The detector's neighbour term: mean distance to the 5 nearest of 4,096 training rows,
    every feature divided by the replicas' typical error on it (``ensemble.error_spread``)."""
    scales = floored_scales(np.asarray(rec["ev"], np.float64).mean(axis=1))  # replica × feature
    spread = error_spread(scales, "mse")
    ref = in_error_units(_sub(xt, 4096, seed) if len(xt) > 4096 else xt, spread)
    rec["uv"] = mean_distance(ref, in_error_units(xv, spread), 5)
    rec["us"] = mean_distance(ref, in_error_units(xs, spread), 5)


def screen_one(
    source, seed: int, cache: Path, input_noise: float = 0.0, base: Path | None = None
) -> None:
    path = cache / f"{source.name}_{seed}.npz"
    if path.exists():
        rec = dict(np.load(path))
        if "uv" not in rec:  # a cache from before the error-unit term: add it
            prep = prepare(source.load(), seed)
            _error_unit_knn(rec, prep.x_train, prep.x_val, prep.x_test, seed)
            np.savez(path, **rec)
        return
    prep = prepare(source.load(), seed)
    xt, xv, xs = prep.x_train, prep.x_val, prep.x_test
    arch = default_architecture(xt.shape[1])
    sizes = default_training(len(xt))
    config = TrainConfig(
        epochs=sizes["epochs"],
        batch_size=sizes["batch_size"],
        patience=sizes["patience"],
        input_noise=input_noise,
    )
    t0 = time.perf_counter()
    result = train(arch, xt, xv, config, seeds=[seed + 1000 * i for i in range(K_REPLICAS)])
    rec: dict[str, np.ndarray | float] = {"y": prep.y_test, "t_train": time.perf_counter() - t0}
    if base is not None and (base / path.name).exists():  # the split's pieces: reuse them
        rec |= {k: v for k, v in np.load(base / path.name).items() if k not in TRAINED}
    ev, es, zv, zs = [], [], [], []
    for r in range(K_REPLICAS):
        p = result.replica(r)
        ev.append(((reconstruct(arch, p, xv) - xv) ** 2).astype(np.float32))
        es.append(((reconstruct(arch, p, xs) - xs) ** 2).astype(np.float32))
        codes = encode(arch, p, _sub(xt, 4096, seed))
        lv, ls = _knn(codes, [encode(arch, p, xv), encode(arch, p, xs)])
        zv.append(lv)
        zs.append(ls)
    rec |= {"ev": np.stack(ev), "es": np.stack(es), "zv": np.stack(zv), "zs": np.stack(zs)}
    _error_unit_knn(rec, xt, xv, xs, seed)
    if "c_" + COMPETITORS[-1] in rec:  # reused from the base cache
        np.savez(path, **rec)
        print(f"{source.name} seed {seed}: trained in {rec['t_train']:.1f}s", flush=True)
        return
    rec["kv"], rec["ks"] = _knn(xt, [xv, xs])
    for n in REFERENCE_SIZES:
        ref = _sub(xt, n, seed) if len(xt) > n else xt
        (rec[f"kv{n}"], rec[f"iv{n}"]), (rec[f"ks{n}"], rec[f"is{n}"]) = _knn_with_rows(
            ref, [xv, xs]
        )
        rec[f"scale{n}"] = _local_scale(ref)
    rec["norms"] = (xs.astype(np.float64) ** 2).mean(1)
    for name in COMPETITORS:
        spec = REGISTRY[name]
        rows = subsample(np.arange(len(xt)), spec.max_train_rows, seed)
        detector = spec.factory(seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detector.fit(xt[rows], xv)
            rec["c_" + name] = np.asarray(detector.score(xs), np.float64)
    np.savez(path, **rec)
    print(f"{source.name} seed {seed}: trained in {rec['t_train']:.1f}s", flush=True)


def screen(seeds: list[int], cache: Path, input_noise: float = 0.0, base: Path | None = None):
    cache.mkdir(parents=True, exist_ok=True)
    sources = [*adbench_sources(DATA / "adbench"), creditcard_source(DATA)]
    for seed in seeds:
        for source in sources:
            screen_one(source, seed, cache, input_noise, base)


# --------------------------------------------------------------------------- candidates

Pair = tuple[np.ndarray, np.ndarray]  # (validation normals' values, test values)


def z(pair: Pair) -> np.ndarray:
    """z-score of the test values with the validation normals' mean and std (the default)."""
    v, s = pair
    return (s - v.mean()) / (v.std() or 1.0)


def robust_log(pair: Pair) -> np.ndarray:
    """(log(v + f) - median) / (q90 - median), f = 1e-3 × median: the tried alternative."""
    v, s = pair
    positive = v[v > 0]
    f = 1e-3 * (np.median(positive) if len(positive) else 1.0)
    lv, ls = np.log(v + f), np.log(s + f)
    center, high = np.quantile(lv, [0.5, 0.9])
    return (ls - center) / max(high - center, 1e-6)


def _mean_pair(pairs: list[Pair], calibrate: Callable[[Pair], np.ndarray] | None) -> Pair:
    if calibrate is None:
        return np.mean([p[0] for p in pairs], 0), np.mean([p[1] for p in pairs], 0)
    return (
        np.mean([calibrate((p[0], p[0])) for p in pairs], 0),
        np.mean([calibrate(p) for p in pairs], 0),
    )


def pieces(r: dict[str, np.ndarray]) -> dict[str, Pair]:
    """Every building block as a (validation, test) pair."""
    ev, es = r["ev"].astype(np.float64), r["es"].astype(np.float64)
    scale = ev.mean(axis=1, keepdims=True)  # per replica, per feature, on validation normals
    plain = [(ev[k].mean(1), es[k].mean(1)) for k in range(len(ev))]
    scaled = [((ev[k] / scale[k]).mean(1), (es[k] / scale[k]).mean(1)) for k in range(len(ev))]
    out = {
        "ae1": plain[0],
        "pf1": scaled[0],
        "ae4": _mean_pair(plain, None),
        "ae4_logz": _mean_pair(plain, robust_log),
        "pf4": _mean_pair(scaled, None),
        "pf2": _mean_pair(scaled[:2], None),
        "pf3": _mean_pair(scaled[:3], None),
        "knn_all_kth": (r["kv"][:, 4], r["ks"][:, 4]),
        "knn_all_mean": (r["kv"][:, :5].mean(1), r["ks"][:, :5].mean(1)),
        "latent4096": _mean_pair(
            [(r["zv"][k, :, :5].mean(1), r["zs"][k, :, :5].mean(1)) for k in range(len(ev))], z
        ),
    }
    if "uv" in r:
        out["knn_err_units"] = (r["uv"], r["us"])
    for n in REFERENCE_SIZES:
        out[f"knn{n}_kth"] = (r[f"kv{n}"][:, 4], r[f"ks{n}"][:, 4])
        out[f"knn{n}_mean"] = (r[f"kv{n}"][:, :5].mean(1), r[f"ks{n}"][:, :5].mean(1))
        if f"scale{n}" in r:  # local density: a row's distance against its neighbours' own
            scale = r[f"scale{n}"].astype(np.float64)
            out[f"lof{n}"] = tuple(
                r[f"k{part}{n}"][:, :5].mean(1)
                / np.maximum(scale[r[f"i{part}{n}"][:, :5]].mean(1), 1e-12)
                for part in ("v", "s")
            )
    return out


def _hybrid(a: str, b: str, w: float, cal=z, combine: str = "sum"):
    def build(p: dict[str, Pair]) -> np.ndarray:
        za, zb = cal(p[a]), cal(p[b])
        return np.maximum(za, zb) if combine == "max" else za + w * zb

    return build


def _triple(a: str, b: str, c: str, wb: float = 0.5, wc: float = 0.5):
    return lambda p: z(p[a]) + wb * z(p[b]) + wc * z(p[c])


def _alone(a: str):
    return lambda p: p[a][1]


# (label, builder); the default is marked in the table.
DEFAULT = (
    "4 AEs, per-feature scaled + 0.5 × kNN term in error units (mean of 5 nearest of 4,096) "
    "[default]"
)
PREVIOUS = "4 AEs, per-feature scaled + 0.5 × kNN term (mean of 5 nearest of 4,096) [until 11-30]"
CANDIDATES: list[tuple[str, Callable]] = [
    ("1 AE, plain mean squared error (the previous default)", _alone("ae1")),
    ("1 AE, per-feature scaled error", _alone("pf1")),
    ("4 AEs (vmapped seeds), plain errors averaged", _alone("ae4")),
    ("4 AEs, each replica log-z-scored on val normals, averaged", _alone("ae4_logz")),
    ("4 AEs, per-feature scaled errors averaged", _alone("pf4")),
    ("4 AEs, per-feature scaled + 1.0 × kNN term", _hybrid("pf4", "knn4096_mean", 1.0)),
    ("4 AEs, per-feature scaled + 0.75 × kNN term", _hybrid("pf4", "knn4096_mean", 0.75)),
    (PREVIOUS, _hybrid("pf4", "knn4096_mean", 0.5)),
    ("  … 0.25 × kNN term", _hybrid("pf4", "knn4096_mean", 0.25)),
    ("  … kNN term = 5th-neighbour distance", _hybrid("pf4", "knn4096_kth", 0.5)),
    ("  … kNN reference 1,024 rows", _hybrid("pf4", "knn1024_mean", 0.5)),
    ("  … kNN reference 16,384 rows", _hybrid("pf4", "knn16384_mean", 0.5)),
    ("  … kNN reference all training rows", _hybrid("pf4", "knn_all_mean", 0.5)),
    ("  … kNN in each replica's code space (4,096 codes)", _hybrid("pf4", "latent4096", 0.5)),
    ("  … max of the two z-scores instead of the sum", _hybrid("pf4", "knn4096_mean", 1, z, "max")),
    (
        "  … robust log calibration instead of z-scores",
        _hybrid("pf4", "knn4096_mean", 0.5, robust_log),
    ),
    ("  … without per-feature scaling (plain errors)", _hybrid("ae4", "knn4096_mean", 0.5)),
    ("  … 3 AEs instead of 4", _hybrid("pf3", "knn4096_mean", 0.5)),
    ("  … 2 AEs instead of 4", _hybrid("pf2", "knn4096_mean", 0.5)),
    ("  … 1 AE instead of 4", _hybrid("pf1", "knn4096_mean", 0.5)),
    ("2 AEs, per-feature scaled + 0.25 × kNN term", _hybrid("pf2", "knn4096_mean", 0.25)),
    ("2 AEs, per-feature scaled + 0.75 × kNN term", _hybrid("pf2", "knn4096_mean", 0.75)),
    (
        "  … local-density term (5-NN distance / the neighbours' own) instead of kNN",
        _hybrid("pf4", "lof4096", 0.5),
    ),
    ("  … local-density term, weight 1.0", _hybrid("pf4", "lof4096", 1.0)),
    ("  … local-density term, weight 0.25", _hybrid("pf4", "lof4096", 0.25)),
    ("  … kNN term 0.5 + local-density term 0.5", _triple("pf4", "knn4096_mean", "lof4096")),
    ("kNN alone, mean of 5 nearest of 4,096 rows (no AE)", _alone("knn4096_mean")),
    ("local-density term alone (4,096 rows, no AE)", _alone("lof4096")),
    ("kNN alone, mean of 5 nearest of all rows (no AE)", _alone("knn_all_mean")),
    (DEFAULT, _hybrid("pf4", "knn_err_units", 0.5)),
    ("  … error-unit kNN term, weight 0.25", _hybrid("pf4", "knn_err_units", 0.25)),
    ("  … error-unit kNN term, weight 0.75", _hybrid("pf4", "knn_err_units", 0.75)),
    ("  … error-unit kNN term, weight 1.0", _hybrid("pf4", "knn_err_units", 1.0)),
    ("kNN alone in error units, 5 nearest of 4,096 (no AE)", _alone("knn_err_units")),
]


def table(cache: Path, seeds: list[int] | None) -> str:
    rows = []
    for f in sorted(cache.glob("*.npz")):
        name, seed = f.stem.rsplit("_", 1)
        if seeds is not None and int(seed) not in seeds:
            continue
        r = dict(np.load(f))
        y, p = r["y"], pieces(r)
        scores = {}
        for label, build in CANDIDATES:
            try:
                scores[label] = build(p)
            except KeyError:  # a piece this cache does not have (screened before it existed)
                continue
        scores |= {"C_" + c: r["c_" + c] for c in COMPETITORS}
        scores |= {"C_knn": p["knn_all_kth"][1], "C_norm": r["norms"]}
        for label, s in scores.items():
            s = np.nan_to_num(np.asarray(s, np.float64), nan=1e300, posinf=1e300)
            rows.append(
                (name, int(seed), label, average_precision_score(y, s), roc_auc_score(y, s))
            )
    df = pd.DataFrame(rows, columns=["dataset", "seed", "cand", "auprc", "auroc"])
    n_seeds = df.groupby("dataset")["seed"].nunique()
    df = df[df["dataset"].isin(n_seeds[n_seeds == n_seeds.max()].index)]
    mean = df.groupby(["dataset", "cand"])[["auprc", "auroc"]].mean().reset_index()
    field = [c for c in mean["cand"].unique() if c.startswith("C_")]
    adbench = mean[mean["dataset"] != "creditcard"]
    card = mean[mean["dataset"] == "creditcard"].set_index("cand")["auprc"]
    lines = [
        f"{adbench['dataset'].nunique()} ADBench sets, seeds {sorted(map(int, set(df['seed'])))}; "
        "rank among the candidate + 6 competitors (1 = best)",
        "",
        "| variant | avg rank AUPRC | avg rank AUROC | kNN's rank (AUPRC / AUROC) "
        "| credit-card AUPRC |",
        "| --- | --- | --- | --- | --- |",
    ]
    for label, _ in CANDIDATES:
        if label not in set(adbench["cand"]):
            continue
        ranks = {}
        for metric in ("auprc", "auroc"):
            part = adbench[adbench["cand"].isin([*field, label])]
            ranked = rank_table(part.pivot(index="dataset", columns="cand", values=metric))
            ranks[metric] = (ranked[label].mean(), ranked["C_knn"].mean())
        cc = f"{card[label]:.3f}" if label in card else "n/a"
        lines.append(
            f"| {label} | {ranks['auprc'][0]:.2f} | {ranks['auroc'][0]:.2f} | "
            f"{ranks['auprc'][1]:.2f} / {ranks['auroc'][1]:.2f} | {cc} |"
        )
    comp = ", ".join(f"{c[2:]} {card[c]:.3f}" for c in field if c in card)
    lines += ["", f"Credit-card AUPRC of the competitors: {comp}."]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("screen", "table"))
    parser.add_argument("--seeds", default=None, help="comma-separated, e.g. 0,1,2")
    parser.add_argument("--cache", type=Path, default=Path("out/ablation"))
    parser.add_argument(
        "--input-noise",
        type=float,
        default=0.0,
        help="train denoising autoencoders (Gaussian noise of this std on scaled inputs)",
    )
    parser.add_argument(
        "--base",
        type=Path,
        default=None,
        help="a screen cache of the same seeds to take the split's pieces from (competitors, "
        "neighbour distances): only the training is redone",
    )
    args = parser.parse_args()
    seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else None
    if args.command == "screen":
        screen(seeds or [0, 1, 2], args.cache, args.input_noise, args.base)
    else:
        print(table(args.cache, seeds))


if __name__ == "__main__":
    main()
