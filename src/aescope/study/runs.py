"""One study run = one architecture x training config x seed, measured and cached.

The study trains about fifty models; an interrupted or repeated study must not
retrain the finished ones. Each run is therefore stored under a hash of
everything that determines its outcome (architecture, training config,
preprocessing, split, data fingerprint, seed, aescope version). A cache entry
is two files written atomically: the weights (an aescope model file, which
carries its own checksum) and then the JSON record, which names the weights'
SHA-256. The JSON is written last, so a run interrupted at any point leaves
either a complete entry or none; a damaged entry is ignored and recomputed.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from aescope import __version__
from aescope._atomic import atomic_open
from aescope.data import Dataset
from aescope.engine import EpochReport, TrainConfig, encode, reconstruct, train
from aescope.engine.devices import default_group_count
from aescope.errors import AescopeError
from aescope.metrics import evaluate
from aescope.model import Architecture
from aescope.modelfile import file_sha256, load_model_file, save_model_file
from aescope.preprocess import (
    STUDY_PREPROCESSING,
    FittedPreprocessor,
    PreprocessSpec,
    fit_preprocessor,
)
from aescope.split import Split, natural_prevalence, novelty_split
from aescope.study.linear import LinearAE, no_model_score, pca_size
from aescope.study.separation import latent_separation
from aescope.study.stats import paired_difference, spearman
from aescope.thresholds import TargetFPR

THRESHOLD_FPR = 0.01
"""Threshold used for precision/recall and the error figure: 1 % of validation normals flagged."""

INFER_CHUNK = 32768
"""Largest rows per inference call (bounds memory on big tables)."""

DETECTION_KEYS = (
    "auroc",
    "auprc",
    "auroc_ci_low",
    "auroc_ci_high",
    "auprc_ci_low",
    "auprc_ci_high",
    "recall_at_fpr_0.001",
    "recall_at_fpr_0.01",
    "precision",
    "recall",
    "f1",
    "n",
    "n_anomalies",
)


@dataclass(frozen=True)
class StudyData:
    """The study protocol applied once: fixed split, preprocessing fitted on training normals."""

    dataset: str
    source: str
    fingerprint: str
    split: Split
    split_record: dict[str, Any]
    preprocessor: FittedPreprocessor
    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    natural_rows: np.ndarray  # positions in the test set giving the natural anomaly share
    prevalence: float  # that share: the population's (Dataset.population_prevalence)
    linear: LinearAE  # PCA of the training rows: the linear autoencoder of every size
    is_sample: bool = False  # the rows are a sample whose fraud share is not the population's

    @property
    def n_features(self) -> int:
        return int(self.x_train.shape[1])

    @property
    def infer_chunk(self) -> int:
        """Rows per inference call, so that train, val and test tables share one compiled shape.

        The engine pads a table smaller than the chunk to the next power of two; a
        chunk covering the larger of val and test gives all three the same shape.
        """
        n = max(len(self.x_val), len(self.x_test))
        return min(INFER_CHUNK, 1 << max(n - 1, 0).bit_length())

    def describe(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "source": self.source,
            "fingerprint": self.fingerprint,
            "split": self.split_record,
            "preprocessing": self.preprocessor.spec.to_dict(),
            "features": list(self.preprocessor.output_columns),
            "natural_prevalence": self.prevalence,
            "natural_prevalence_rows": int(self.natural_rows.size),
            "natural_prevalence_anomalies": int(self.y_test[self.natural_rows].sum()),
            "rows": int(self.split_record["train_rows"])
            + int(self.split_record["val_rows"])
            + int(self.split_record["test_rows"]),
            "anomalies": int(self.y_test.sum()),
            "is_sample": self.is_sample,
        }


def prepare_data(dataset: Dataset, split_seed: int = 0) -> StudyData:
    """Novelty split (normals only in train/val) and the study's scaling, fitted on train."""
    if dataset.y is None:
        raise AescopeError(f"the study needs labelled data; {dataset.name} has no label column")
    y = dataset.y
    split = novelty_split(y, seed=split_seed)
    # The study's recipe (drop the time column, standardise); other tables may lack a time column.
    drop = (dataset.time,) if dataset.time else ()
    spec = PreprocessSpec(drop=drop, scaling=STUDY_PREPROCESSING.scaling)
    features = dataset.X
    pre = fit_preprocessor(spec, features.iloc[split.train])
    prevalence = float(dataset.population_prevalence)
    natural = natural_prevalence(split, y, seed=split_seed, prevalence=prevalence)
    x_train = pre.transform(features.iloc[split.train])
    return StudyData(
        dataset=dataset.name,
        source=str(dataset.source),
        fingerprint=dataset.fingerprint(),
        split=split,
        split_record=split.describe(y),
        preprocessor=pre,
        x_train=x_train,
        x_val=pre.transform(features.iloc[split.val]),
        x_test=pre.transform(features.iloc[split.test]),
        y_test=y[split.test].astype(np.int8),
        natural_rows=np.searchsorted(split.test, natural),
        prevalence=prevalence,
        linear=LinearAE(x_train),
        is_sample=dataset.prevalence is not None and abs(float(y.mean()) - prevalence) > 1e-9,
    )


def protocol_data(data: StudyData, validation_split: float = 0.2) -> StudyData:
    """The rows as the study trained on them: Keras ``validation_split`` on its training rows.

    The study's training rows are our training and validation normals; Keras
    holds out the *last* ``validation_split`` of them, before any shuffling, so
    in file order the validation rows are the latest transactions. The test
    rows, the scaling and the natural view stay the study's own.
    """
    rows = np.concatenate([data.split.train, data.split.val])
    order = np.argsort(rows, kind="stable")
    x = np.concatenate([data.x_train, data.x_val])[order]
    split_at = math.floor(len(x) * (1.0 - validation_split))  # as tf.keras
    record = {
        **data.split_record,
        "protocol": f"keras validation_split={validation_split:g} on the training and "
        "validation normals in file order",
        "train_rows": split_at,
        "val_rows": len(x) - split_at,
    }
    return replace(data, x_train=x[:split_at], x_val=x[split_at:], split_record=record)


@dataclass(frozen=True)
class RunPoint:
    """One setting of a sweep: which network, trained how; seeds are added by the caller."""

    sweep: str
    label: str
    value: float
    arch: Architecture
    config: TrainConfig


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def arch_identity(arch: Architecture) -> dict[str, Any]:
    """The architecture without its display name: equal networks share cache entries."""
    d = arch.to_dict()
    d.pop("name", None)
    return d


def data_identity(data: StudyData) -> dict[str, Any]:
    """Everything about the rows a result was measured on (data, split, scaling, views)."""
    return {
        "preprocessing": data.preprocessor.spec.to_dict(),
        "split": data.split_record,
        "data": data.fingerprint,
        "natural_prevalence": data.prevalence,
        "aescope": __version__,
    }


def run_key(point: RunPoint, data: StudyData, seed: int) -> str:
    """sha256 over everything that determines the trained weights and the measurements."""
    identity = {
        "arch": arch_identity(point.arch),
        "config": point.config.to_dict(),
        **data_identity(data),
        "seed": int(seed),
        "measure": MEASURE_VERSION,
    }
    return hashlib.sha256(canonical_json(identity).encode()).hexdigest()


MEASURE_VERSION = 3
"""Bumped when what is measured per run changes, so old cache entries are recomputed."""


class RunCache:
    """``<folder>/<key>.json`` (record) + ``<key>.aescope`` (weights), both atomic."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.json", self.folder / f"{key}.aescope"

    def load(self, key: str) -> tuple[dict[str, Any], list[dict[str, np.ndarray]]] | None:
        """The finished run, or None when absent, partial or damaged (then it is recomputed)."""
        record_path, weights_path = self.paths(key)
        try:
            record = json.loads(record_path.read_text(encoding="utf-8"))
            if not isinstance(record, dict) or record.get("key") != key:
                return None
            if file_sha256(weights_path) != record.get("weights_sha256"):
                return None
            meta, arrays = load_model_file(weights_path)
            if meta.get("key") != key:
                return None
            return record, _unflatten(arrays)
        except (OSError, ValueError, KeyError, AescopeError):
            return None

    def save(self, key: str, record: dict[str, Any], params: list[dict[str, np.ndarray]]) -> None:
        record_path, weights_path = self.paths(key)
        save_model_file(weights_path, {"key": key}, _flatten(params))
        record = {**record, "key": key, "weights_sha256": file_sha256(weights_path)}
        with atomic_open(record_path) as handle:
            json.dump(jsonable(record), handle, indent=1, allow_nan=True)


def _flatten(params: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    return {
        f"{i}.{name}": np.asarray(a, np.float32)
        for i, layer in enumerate(params)
        for name, a in layer.items()
    }


def _unflatten(arrays: dict[str, np.ndarray]) -> list[dict[str, np.ndarray]]:
    n = 1 + max(int(name.split(".")[0]) for name in arrays)
    params: list[dict[str, np.ndarray]] = [{} for _ in range(n)]
    for name, a in arrays.items():
        i, field = name.split(".", 1)
        params[int(i)][field] = a
    return params


def jsonable(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def row_errors(
    arch: Architecture, params, x: np.ndarray, loss: str = "mse", chunk: int = INFER_CHUNK
) -> np.ndarray:
    """Per-row reconstruction error (the anomaly score), in the training loss's units."""
    return _errors(reconstruct(arch, params, x, batch_size=chunk), x, loss)


def _errors(recon: np.ndarray, x: np.ndarray, loss: str = "mse") -> np.ndarray:
    diff = np.asarray(recon, dtype=np.float64) - x
    per = np.abs(diff) if loss == "mae" else diff**2
    return per.mean(axis=1)


def accuracy(recon: np.ndarray, x: np.ndarray) -> float:
    """The study's "accuracy": share of rows whose largest output is the input's largest feature.

    Keras' ``metrics=['accuracy']`` on a 29-output MSE model resolves to
    categorical accuracy, argmax(reconstruction) == argmax(input); it says
    little about reconstruction quality, but it is the number the study quoted.
    """
    return float(np.mean(np.argmax(recon, axis=1) == np.argmax(x, axis=1))) if len(x) else np.nan


def reconstruction_numbers(
    data: StudyData, recon: dict[str, np.ndarray], loss: str = "mse"
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """Row errors of train/val/test, and losses and accuracy per part (test: by class)."""
    parts = {"train": data.x_train, "val": data.x_val, "test": data.x_test}
    errors = {p: _errors(recon[p], x, loss) for p, x in parts.items()}
    y = data.y_test
    numbers = {
        "train_loss": float(errors["train"].mean()),
        "val_loss": float(errors["val"].mean()),
        "test_loss": float(errors["test"].mean()),
        "test_loss_normal": float(errors["test"][y == 0].mean()),
        "test_loss_anomaly": float(errors["test"][y == 1].mean()),
        "accuracy_train": accuracy(recon["train"], data.x_train),
        "accuracy_val": accuracy(recon["val"], data.x_val),
        "accuracy_test": accuracy(recon["test"], data.x_test),
        "accuracy_test_normal": accuracy(recon["test"][y == 0], data.x_test[y == 0]),
    }
    return errors, numbers


def comparisons(
    arch: Architecture, data: StudyData, err_test: np.ndarray, n_bootstrap: int, seed: int
) -> dict[str, Any]:
    """The model's detection against no model and the linear AE, paired on the test rows.

    ``rank_corr_no_model`` near 1 means the errors order the rows as the no-model
    score does; with ``explained`` (share of the training loss of no model that
    the network removes) near 0, the network has collapsed to predicting the mean.
    """
    y = data.y_test
    no_model = no_model_score(data.x_test)
    k = pca_size(arch, data.n_features)
    linear = data.linear.errors(data.x_test, k)
    return {
        "vs_no_model": paired_difference(y, err_test, no_model, n_bootstrap=n_bootstrap, seed=seed),
        "vs_pca": {
            "components": k,
            **paired_difference(y, err_test, linear, n_bootstrap=n_bootstrap, seed=seed),
        },
        "rank_corr_no_model": spearman(err_test, no_model),
    }


def measure(
    arch: Architecture,
    params,
    data: StudyData,
    *,
    loss: str = "mse",
    n_bootstrap: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Every number the study records for one trained model (losses, detection, latent)."""
    chunk = data.infer_chunk
    parts = {"train": data.x_train, "val": data.x_val, "test": data.x_test}
    recon = {p: reconstruct(arch, params, x, batch_size=chunk) for p, x in parts.items()}
    errors, numbers = reconstruction_numbers(data, recon, loss)
    err_test = errors["test"]
    y = data.y_test
    threshold = TargetFPR(THRESHOLD_FPR).fit(errors["val"])
    detection = evaluate(y, err_test, threshold=threshold, n_bootstrap=n_bootstrap, seed=seed)
    nat = data.natural_rows
    natural = evaluate(
        y[nat], err_test[nat], threshold=threshold, n_bootstrap=n_bootstrap, seed=seed
    )
    z = encode(arch, params, data.x_test, batch_size=chunk)
    no_model_train = float(np.mean(no_model_score(data.x_train)))
    return {
        **numbers,
        "explained": 1.0 - numbers["train_loss"] / no_model_train if no_model_train else np.nan,
        "threshold": float(threshold),
        "detection": {k: detection.get(k) for k in DETECTION_KEYS},
        "natural": {k: natural.get(k) for k in DETECTION_KEYS},
        **comparisons(arch, data, err_test, n_bootstrap, seed),
        "latent": latent_separation(z, y, seed=seed),
    }


def padding_free_groups(n_replicas: int, cores: int | None = None) -> int:
    """The fewest replica groups, at least one per core, that need no padding replica.

    The engine pads its last group to the common group size, and a padding
    replica costs as much as a real one: 3 seeds on 2 cores as two groups of two
    train 4 replicas. Three groups of one train 3, and on 2 cores measured 22 %
    less CPU per epoch (1.97 against 2.53 s for the Table 1 network on the full
    data; benchmarks/RESULTS.md), with the same weights.
    """
    cores = cores or default_group_count()
    start = min(cores, n_replicas)
    return next(g for g in range(start, n_replicas + 1) if n_replicas % g == 0)


def run_point(
    point: RunPoint,
    seeds: Sequence[int],
    data: StudyData,
    cache: RunCache,
    *,
    n_bootstrap: int = 200,
    on_epoch: Callable[[EpochReport], None] | None = None,
) -> list[dict[str, Any]]:
    """Records for ``point`` at every seed: cached ones loaded, the rest trained together.

    Missing seeds are trained as vectorised replicas in one ``train`` call, so a
    sweep point costs one compilation whatever the number of seeds.
    """
    keys = {s: run_key(point, data, s) for s in seeds}
    records: dict[int, dict[str, Any]] = {}
    for s in seeds:
        hit = cache.load(keys[s])
        if hit is not None:
            # An equal network may have been trained for another sweep (depth 3 is
            # latent 16): reuse its numbers but label them for this point.
            records[s] = {**hit[0], **_labels(point), "cached": True}
    missing = [s for s in seeds if s not in records]
    if missing:
        groups = padding_free_groups(len(missing))
        result = train(
            point.arch, data.x_train, data.x_val, point.config, missing, on_epoch, groups
        )
        for k, s in enumerate(missing):
            params = result.replica(k)
            history = result.histories[k]
            record = {
                **_labels(point),
                "seed": int(s),
                "n_params": point.arch.n_params,
                "config": point.config.to_dict(),
                "epochs_run": len(history.train_loss),
                "best_epoch": history.best_epoch,
                "early_stopped": history.early_stopped,
                "train_seconds": float(sum(history.seconds)),
                "compile_seconds": float(result.compile_seconds),
                "history": history.to_dict(),
                **measure(
                    point.arch,
                    params,
                    data,
                    loss=point.config.loss,
                    n_bootstrap=n_bootstrap,
                    seed=int(s),
                ),
            }
            cache.save(keys[s], record, params)
            records[s] = {**jsonable(record), "key": keys[s], "cached": False}
    return [records[s] for s in seeds]


def _labels(point: RunPoint) -> dict[str, Any]:
    return {
        "sweep": point.sweep,
        "label": point.label,
        "value": point.value,
        "arch": point.arch.to_dict(),
    }


def load_params(cache: RunCache, record: dict[str, Any]) -> list[dict[str, np.ndarray]]:
    """The weights of a finished run (for figures); raises if the entry vanished."""
    hit = cache.load(record["key"])
    if hit is None:
        raise AescopeError(f"cache entry {record['key']} is missing or damaged")
    return hit[1]
