"""AutoencoderDetector: the scikit-learn / PyOD-style face of aescope.

It wires the lower layers together — preprocessing, the JAX training engine,
a threshold policy — behind the estimator contract: ``__init__`` only stores
its parameters, everything learnt ends in ``_``, and ``clone`` /
``get_params`` / ``Pipeline`` work as for any scikit-learn estimator.

Sign convention: :meth:`score_samples` and :meth:`decision_function` both
return the per-row anomaly score, so *higher means more anomalous*, as in
PyOD. By default that score combines an ensemble of autoencoders with a
nearest-neighbour distance (:mod:`aescope.ensemble`); ``n_models=1,
neighbors=0`` gives a single network's reconstruction error, calibrated.
scikit-learn's outlier detectors (``IsolationForest``,
``LocalOutlierFactor``) use the opposite sign for ``score_samples``; negate
aescope's score to compare with them.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted

from aescope import __version__
from aescope.data.dataset import frame_fingerprint
from aescope.data.validate import check_labels, label_like_columns, validate_frame
from aescope.engine import TrainConfig, encode, reconstruct, train
from aescope.ensemble import Calibration, EnsembleScorer, ScoreParts
from aescope.errors import (
    ConfigError,
    DataValidationError,
    LabelLikeColumnWarning,
    ModelFileError,
)
from aescope.explain import error_shares
from aescope.model import Architecture, default_training, load_architecture
from aescope.modelfile import load_model_bytes, load_model_file, model_file_bytes, save_model_file
from aescope.preprocess import FittedPreprocessor, PreprocessSpec, check_columns, fit_preprocessor
from aescope.progress import EpochProgress
from aescope.thresholds import ThresholdPolicy, parse_policy, policy_from_dict

MODEL_KIND = "aescope.AutoencoderDetector"
DEFAULT_PREPROCESSING = PreprocessSpec()  # standardise every column, drop none


class AutoencoderDetector(OutlierMixin, BaseEstimator):
    """Anomaly detector trained on normal rows: autoencoder ensemble plus nearest neighbours.

    Parameters
    ----------
    architecture:
        ``"auto"`` (the default: widths sized from the number of features, see
        :func:`aescope.model.default_architecture` and benchmarks/detection.md),
        a preset name (``"seed-best"``, ``"seed-table1"``...), a TOML/JSON path,
        or an :class:`~aescope.model.Architecture`. Presets adapt to the number
        of input features.
    epochs, batch_size, patience:
        Numbers, or ``"auto"`` to size them from the number of training rows
        (:func:`aescope.model.default_training`: a budget of optimiser steps,
        larger batches for large tables, early stopping on validation normals).
    preprocessing:
        Columns to drop, log1p and how to scale; fitted on the training rows.
    threshold:
        A :mod:`aescope.thresholds` policy or its text form (``"fpr:0.01"``,
        ``"quantile:0.995"``, ``"contamination:0.01"``, ``"fixed:2.5"``,
        ``"f1"``, ``"cost:review=5"``). Label-based policies need labelled
        ``validation_data`` in :meth:`fit` or a later :meth:`fit_threshold`.
    validation_share:
        Share of the training rows held out for early stopping, the score
        calibration and the threshold when no ``validation_data`` is given.
    n_models:
        Autoencoders trained together from seeds ``random_state``,
        ``random_state + 1``, ... (one vectorised pass); their per-feature
        errors, each divided by its mean on the validation normals, are
        averaged. Default 4.
    neighbors:
        ``k`` of the nearest-neighbour term: mean distance to the k nearest
        reference rows, every feature measured in units of its typical
        reconstruction error on the validation normals (so a feature the
        autoencoders predict well counts more than a noise-like one).
        0 scores by reconstruction error alone. Default 5.
    neighbor_weight:
        Weight of the neighbour term; both terms are z-scores on the
        validation normals before they are added. Default 0.5: the
        reconstruction term leads, the neighbour term corrects it (1.0 ranked
        as well on ADBench but lost credit-card AUPRC).
    reference_rows:
        Training rows kept as the neighbour reference (a seeded subsample; all
        of them when there are fewer). They are stored in the model file, so
        they bound its size and the scoring cost. Default 4096.
    input_noise:
        Gaussian noise added to each training batch, as a fraction of each
        feature's standard deviation over the training rows, while the network
        must output the clean rows: a denoising autoencoder, which learns the
        normal rows' structure rather than an identity map. 0 trains a plain
        autoencoder. Default 0.1 (benchmarks/detection.md: on 22 ADBench sets,
        3 seeds, AUPRC rank 2.20 → 2.07 with AUROC unchanged; 0.05 gave 2.11).
    """

    def __init__(
        self,
        architecture: str | Architecture = "auto",
        *,
        preprocessing: PreprocessSpec | None = DEFAULT_PREPROCESSING,
        epochs: int | str = "auto",
        batch_size: int | str = "auto",
        learning_rate: float = 1e-3,
        loss: str = "mse",
        patience: int | str | None = "auto",
        min_delta: float = 0.0,
        validation_share: float = 0.1,
        threshold: str | ThresholdPolicy = "fpr:0.01",
        random_state: int = 0,
        verbose: bool = False,
        n_models: int = 4,
        neighbors: int = 5,
        neighbor_weight: float = 0.5,
        reference_rows: int = 4096,
        input_noise: float = 0.1,
    ) -> None:
        self.architecture = architecture
        self.preprocessing = preprocessing
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.loss = loss
        self.patience = patience
        self.min_delta = min_delta
        self.validation_share = validation_share
        self.threshold = threshold
        self.random_state = random_state
        self.verbose = verbose
        self.n_models = n_models
        self.neighbors = neighbors
        self.neighbor_weight = neighbor_weight
        self.reference_rows = reference_rows
        self.input_noise = input_noise

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, validation_data: Any = None) -> AutoencoderDetector:
        """Train on ``X`` (normal rows only; ``y`` is ignored, as in PyOD).

        ``validation_data`` is ``X_val`` (normal rows) or ``(X_val, y_val)`` or
        ``(X_val, y_val, amount_val)``; with labels, only its normal rows drive
        early stopping, and label-based threshold policies use all of it.
        """
        self._check_params()
        frame = self._input_frame(X, fitting=True)
        _warn_label_like(frame.columns, self.preprocessing)
        rng = np.random.default_rng(self.random_state)
        if validation_data is None:
            order = rng.permutation(len(frame))
            n_val = round(self.validation_share * len(frame))
            if n_val < 1 or n_val >= len(frame):
                raise DataValidationError(
                    f"validation_share={self.validation_share} leaves no validation or no "
                    f"training rows out of {len(frame)}"
                )
            train_frame = frame.iloc[np.sort(order[n_val:])]
            val = (frame.iloc[np.sort(order[:n_val])], None, None)
        else:
            train_frame = frame
            val = self._validation_parts(validation_data)

        spec = (
            self.preprocessing if self.preprocessing is not None else PreprocessSpec(scaling="none")
        )
        self.preprocessor_ = fit_preprocessor(spec, train_frame)
        x_train = self.preprocessor_.transform(train_frame)
        x_val_all = self.preprocessor_.transform(val[0])
        val_normal = x_val_all if val[1] is None else x_val_all[val[1] == 0]

        self.architecture_ = (
            self.architecture.with_features(x_train.shape[1])
            if isinstance(self.architecture, Architecture)
            else load_architecture(self.architecture, n_features=x_train.shape[1])
        )
        self.config_ = TrainConfig(
            **self._training_sizes(len(x_train)),
            learning_rate=self.learning_rate,
            loss=self.loss,
            min_delta=self.min_delta,
            input_noise=self.input_noise,
        )
        with EpochProgress() if self.verbose else contextlib.nullcontext() as on_epoch:
            result = train(
                self.architecture_,
                x_train,
                val_normal if len(val_normal) else None,
                self.config_,
                seeds=[self.random_state + i for i in range(self.n_models)],
                on_epoch=on_epoch,
            )
        self.replicas_ = [result.replica(i) for i in range(self.n_models)]
        self.params_ = self.replicas_[0]
        self.history_ = result.histories[0].to_dict()
        self.histories_ = [h.to_dict() for h in result.histories]
        in_reference = self._build_scorer(x_train, val_normal, rng)
        self.decision_scores_ = self.scorer_.parts(x_train, self_rows=in_reference).score
        self.fit_threshold(val[0], val[1], val[2], _x=x_val_all)
        return self

    def fit_threshold(
        self,
        X: Any,
        y: Any = None,
        amount: Any = None,
        policy: str | ThresholdPolicy | None = None,
        *,
        _x: np.ndarray | None = None,
    ) -> AutoencoderDetector:
        """(Re)set ``threshold_`` from rows the model did not train on, without retraining."""
        check_is_fitted(self, "params_")
        self.threshold_policy_ = _as_policy(self.threshold if policy is None else policy)
        scores = self._errors(_x if _x is not None else self._transform(X))
        labels = None if y is None else check_labels(y, "y")
        if self.threshold_policy_.requires_labels and labels is None:
            raise DataValidationError(
                f"threshold policy {self.threshold_policy_!r} needs labelled validation data: "
                "pass validation_data=(X_val, y_val[, amount_val]) to fit, or call fit_threshold"
            )
        normal_scores = scores if labels is None else scores[labels == 0]
        if self.threshold_policy_.fit_on == "train":
            normal_scores = self.decision_scores_  # PyOD: a share of the training data
        self.threshold_ = float(
            self.threshold_policy_.fit(
                normal_scores,
                labelled_scores=scores if labels is not None else None,
                labels=labels,
                amount=None if amount is None else np.asarray(amount, dtype=np.float64),
            )
        )
        self.labels_ = (self.decision_scores_ >= self.threshold_).astype(np.int8)
        return self

    # ------------------------------------------------------------------ scoring
    def score_samples(self, X: Any) -> np.ndarray:
        """Per-row anomaly score; higher is more anomalous (PyOD's sign).

        The calibrated reconstruction term plus (with ``neighbors > 0``)
        ``neighbor_weight`` times the calibrated neighbour term; each term is a
        z-score on the validation normals (mean 0, standard deviation 1 there).
        A row whose error overflows float32 scores ``inf`` (flagged by any threshold);
        a value whose scaled form leaves float32's range is refused, naming its cell.
        """
        return self._errors(self._transform(X))

    def score_with_errors(self, X: Any) -> tuple[np.ndarray, pd.DataFrame]:
        """:meth:`score_samples` and :meth:`feature_errors` from one pass over ``X``."""
        check_is_fitted(self, "scorer_")
        frame = self._input_frame(X)
        parts = self._parts(self.preprocessor_.transform(frame))
        return parts.score, self._error_frame(parts, frame.index)

    def score_transformed(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Scores and per-feature errors (an array) of rows already scaled and checked.

        ``x`` is what ``preprocessor_.transform`` returns: float32, one column per
        :attr:`columns_used_`. For batch scorers that validate and scale whole
        chunks themselves (:func:`aescope.batch.score_frame`), skipping the
        per-call checks and copies of :meth:`score_with_errors`.
        """
        check_is_fitted(self, "scorer_")
        parts = self._parts(np.asarray(x, dtype=np.float32))
        return parts.score, parts.feature_errors

    def decision_function(self, X: Any) -> np.ndarray:
        """Same as :meth:`score_samples` (PyOD's convention)."""
        return self.score_samples(X)

    def predict(self, X: Any) -> np.ndarray:
        """1 for rows whose error reaches ``threshold_``, else 0."""
        check_is_fitted(self, "threshold_")
        return (self.score_samples(X) >= self.threshold_).astype(np.int8)

    def feature_errors(self, X: Any) -> pd.DataFrame:
        """Per-feature reconstruction error, in units of that feature's mean validation error.

        Squared for an MSE model, absolute for MAE, divided per replica by the
        feature's mean error on the validation normals and averaged over the
        replicas, indexed like ``X``: 1 is a typical error for that feature. Each
        row's mean is the reconstruction term before calibration; the neighbour
        term has no per-feature split. :meth:`score_with_errors` gives scores
        and explanations from one pass.
        """
        check_is_fitted(self, "scorer_")
        frame = self._input_frame(X)
        parts = self._parts(self.preprocessor_.transform(frame))
        return self._error_frame(parts, frame.index)

    def top_features(self, X: Any, k: int = 3) -> pd.DataFrame:
        """The ``k`` features that contributed most to each row's error, with their shares."""
        return rank_features(self.feature_errors(X), k)

    def encode(self, X: Any) -> np.ndarray:
        """Latent codes (the marked latent layer's activations) of the first replica.

        Each replica learns its own code space, so codes are not averaged.
        """
        return encode(self.architecture_, self.params_, self._transform(X))

    def reconstruct(self, X: Any) -> pd.DataFrame:
        """Reconstruction of the modelled columns (mean over replicas), in the input's units."""
        x = self._transform(X)
        x_hat = np.mean([reconstruct(self.architecture_, p, x) for p in self.replicas_], axis=0)
        pre = self.preprocessor_
        values = x_hat.astype(np.float64) * pre.scale + pre.center
        frame = pd.DataFrame(values, columns=list(pre.output_columns))
        for name in pre.spec.log1p:
            frame[name] = np.expm1(frame[name])
        return frame

    # ------------------------------------------------------------------ files
    def to_onnx(self, path: str | Path, *, input_dtype: str = "float64") -> Path:
        """Write one ONNX graph: raw ``feature_names_in_`` columns to score, flag, feature errors.

        See :mod:`aescope.export.onnx` for the graph's interface; needs ``aescope[serve]``.
        """
        from aescope.export.onnx import export_onnx

        return export_onnx(self, path, input_dtype=input_dtype)

    def save(self, path: str | Path) -> None:
        """Write one safetensors file: weights plus JSON metadata; atomic, never pickled."""
        save_model_file(path, *self._file_parts())

    def to_bytes(self) -> bytes:
        """The bytes :meth:`save` would write: a model to send to other processes."""
        return model_file_bytes(*self._file_parts())

    def _file_parts(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        check_is_fitted(self, "threshold_")
        arrays = self.scorer_.arrays()
        arrays["decision_scores"] = np.asarray(self.decision_scores_, dtype=np.float32)
        meta = {
            "kind": MODEL_KIND,
            "aescope_version": __version__,
            "jax_version": jax.__version__,
            "params": _jsonable_params(self.get_params()),
            "architecture": self.architecture_.to_dict(),
            "preprocessing": self.preprocessor_.to_dict(),
            "feature_names": list(self.feature_names_in_),
            "input_is_frame": self._input_is_frame_,
            "threshold": self.threshold_,
            "threshold_policy": self.threshold_policy_.to_dict(),
            "train_config": self.config_.to_dict(),
            "history": self.history_,
            "data_fingerprint": self.data_fingerprint_,
            "scorer": self.scorer_.meta(),
        }
        return meta, arrays

    @classmethod
    def load(cls, path: str | Path) -> AutoencoderDetector:
        """Read a file written by :meth:`save`, checking every piece before trusting it."""
        return cls._from_parts(*load_model_file(path), path)

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "<model bytes>") -> AutoencoderDetector:
        """:meth:`load` for a model's bytes (:meth:`to_bytes`, or a file read elsewhere):
        the same checks; errors name ``source``."""
        return cls._from_parts(*load_model_bytes(data, source=source), source)

    @classmethod
    def _from_parts(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], path: str | Path
    ) -> AutoencoderDetector:
        if meta.get("kind") != MODEL_KIND:
            raise ModelFileError(
                f"{path}: not an AutoencoderDetector file (kind={meta.get('kind')!r})"
            )
        try:
            arch = Architecture.from_dict(meta["architecture"])
            replicas = _unflatten_replicas(arrays, arch, path)
            params = _params_from_json(meta["params"])
            if "scorer" not in meta:  # a file from before ensembles: one model, no neighbours
                params |= {"n_models": 1, "neighbors": 0}
            params.setdefault("input_noise", 0.0)  # a file from before denoising: none
            detector = cls(**params)
            detector.architecture_ = arch
            detector.replicas_ = replicas
            detector.params_ = replicas[0]
            detector.scorer_ = _scorer_from_file(arch, replicas, meta, arrays)
            detector.preprocessor_ = FittedPreprocessor.from_dict(meta["preprocessing"])
            detector.feature_names_in_ = np.asarray(meta["feature_names"], dtype=object)
            detector.n_features_in_ = len(meta["feature_names"])
            detector._input_is_frame_ = bool(meta["input_is_frame"])
            detector.threshold_ = float(meta["threshold"])
            detector.threshold_policy_ = policy_from_dict(meta["threshold_policy"])
            detector.config_ = TrainConfig(**meta["train_config"])
            detector.history_ = meta["history"]
            detector.data_fingerprint_ = meta["data_fingerprint"]
            detector.decision_scores_ = arrays["decision_scores"].astype(np.float64)
        except (KeyError, TypeError, ValueError, ConfigError) as exc:
            raise ModelFileError(f"{path}: model metadata is incomplete or invalid: {exc}") from exc
        detector.labels_ = (detector.decision_scores_ >= detector.threshold_).astype(np.int8)
        return detector

    # ------------------------------------------------------------------ helpers
    def _check_params(self) -> None:
        """Refuse unusable settings before any data is touched (scikit-learn checks them in
        ``fit`` too, since ``__init__`` only stores them)."""
        if not isinstance(self.architecture, str | Architecture):
            raise ConfigError(
                "architecture must be 'auto', a preset name, a TOML/JSON path or an "
                f"Architecture, got {self.architecture!r}"
            )
        if not isinstance(self.threshold, str | ThresholdPolicy):
            raise ConfigError(
                "threshold must be a policy such as 'fpr:0.01' or 'fixed:2.5', or a "
                f"ThresholdPolicy, got {self.threshold!r}"
            )
        _as_policy(self.threshold)  # a typo fails here, not after training
        for name, least in (("epochs", 1), ("batch_size", 1), ("patience", 0)):
            value = getattr(self, name)
            if value is None and name == "patience":
                continue
            if isinstance(value, str):
                if value != "auto":
                    raise ConfigError(f"{name} must be a whole number or 'auto', got {value!r}")
            elif isinstance(value, bool) or not isinstance(value, int | np.integer):
                raise ConfigError(f"{name} must be a whole number or 'auto', got {value!r}")
            elif value < least:
                raise ConfigError(f"{name} must be at least {least}, got {value}")
        seed = self.random_state
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ConfigError(f"random_state must be a whole number >= 0, got {seed!r}")
        share = self.validation_share
        if isinstance(share, bool) or not isinstance(share, float | int) or not 0 < share < 1:
            raise ConfigError(f"validation_share must be between 0 and 1, got {share!r}")
        self._check_ensemble_params()

    def _training_sizes(self, n_rows: int) -> dict[str, Any]:
        """Epochs, batch size and patience, with ``"auto"`` sized from the training rows."""
        auto = default_training(n_rows)
        return {
            name: auto[name] if getattr(self, name) == "auto" else getattr(self, name)
            for name in ("epochs", "batch_size", "patience")
        }

    def _input_frame(self, X: Any, *, fitting: bool = False) -> pd.DataFrame:
        frame, is_frame = _to_frame(X)
        if fitting:
            self._input_is_frame_ = is_frame
            self.feature_names_in_ = np.asarray([str(c) for c in frame.columns], dtype=object)
            self.n_features_in_ = frame.shape[1]
        elif not is_frame:
            if frame.shape[1] != self.n_features_in_:
                raise DataValidationError(
                    f"X has {frame.shape[1]} columns; the model was fitted on "
                    f"{self.n_features_in_}: {', '.join(self.feature_names_in_)}"
                )
            frame.columns = list(self.feature_names_in_)
        else:
            # Once fitted, columns the preprocessing drops (a time column) may be left out.
            fitted = hasattr(self, "preprocessor_")
            check_columns(
                frame.columns,
                list(self.feature_names_in_),
                required=self.columns_used_ if fitted else None,
            )
        frame = validate_frame(frame)
        if fitting:
            self.data_fingerprint_ = frame_fingerprint(frame)
        return frame

    def _transform(self, X: Any) -> np.ndarray:
        check_is_fitted(self, "params_")
        return self.preprocessor_.transform(self._input_frame(X))

    @property
    def columns_used_(self) -> list[str]:
        """The input columns the network sees: ``feature_names_in_`` minus dropped ones."""
        check_is_fitted(self, "preprocessor_")
        return list(self.preprocessor_.output_columns)

    def _check_ensemble_params(self) -> None:
        for name, minimum in (("n_models", 1), ("neighbors", 0), ("reference_rows", 1)):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | np.integer)
                or value < minimum
            ):
                raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
        for name in ("neighbor_weight", "input_noise"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not 0 <= value < float("inf")
            ):
                raise ConfigError(f"{name} must be a number >= 0, got {value!r}")

    def _build_scorer(
        self, x_train: np.ndarray, val_normal: np.ndarray, rng: np.random.Generator
    ) -> np.ndarray | None:
        """Pick the neighbour reference, calibrate on validation normals; ``scorer_``.

        Returns which training rows are in the reference (for leave-one-out
        training scores), or None without a neighbour term.
        """
        k = min(self.neighbors, len(x_train) - 1)
        in_reference = None
        reference = None
        if k > 0:
            n_ref = min(self.reference_rows, len(x_train))
            rows = np.sort(rng.choice(len(x_train), size=n_ref, replace=False))
            reference = x_train[rows]
            in_reference = np.zeros(len(x_train), dtype=bool)
            in_reference[rows] = True
        self.scorer_ = EnsembleScorer(
            arch=self.architecture_,
            replicas=self.replicas_,
            loss=self.config_.loss,
            k=max(k, 0),
            neighbor_weight=float(self.neighbor_weight),
            reference=reference,
        )
        # Without validation normals (all validation rows labelled anomalous),
        # calibrate on the training rows: biased low, but on the right scale.
        self.scorer_.calibrate(val_normal if len(val_normal) else x_train)
        return in_reference

    def _parts(self, x: np.ndarray) -> ScoreParts:
        return self.scorer_.parts(x)

    def _error_frame(self, parts: ScoreParts, index: pd.Index) -> pd.DataFrame:
        return pd.DataFrame(
            parts.feature_errors, columns=list(self.preprocessor_.output_columns), index=index
        )

    def _errors(self, x: np.ndarray) -> np.ndarray:
        check_is_fitted(self, "scorer_")
        return self._parts(x).score

    def _validation_parts(self, data: Any) -> tuple[pd.DataFrame, np.ndarray | None, Any]:
        parts = tuple(data) if isinstance(data, tuple | list) else (data,)
        if not 1 <= len(parts) <= 3:
            raise DataValidationError(
                "validation_data must be X_val, (X_val, y_val) or (X_val, y_val, amount)"
            )
        frame = self._input_frame(parts[0])
        labels = None if len(parts) < 2 or parts[1] is None else _labels(parts[1], len(frame))
        amount = parts[2] if len(parts) == 3 else None
        return frame, labels, amount


def _warn_label_like(columns: Any, spec: PreprocessSpec | None) -> None:
    """Warn about a modelled column whose name says it is the label (the CLI refuses it)."""
    dropped = set(spec.drop) if spec is not None else set()
    for name in label_like_columns([c for c in columns if c not in dropped]):
        warnings.warn(
            f"column {name!r} looks like a label: training on it leaks the answer into "
            "the scores. Leave it out of X (or drop it with PreprocessSpec(drop=...)) "
            "unless it really is a feature",
            LabelLikeColumnWarning,
            stacklevel=3,
        )


def rank_features(errors: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Each row's ``k`` largest per-feature errors: names and shares of the row's total."""
    k = min(k, errors.shape[1])
    values = errors.to_numpy()
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    names = np.asarray(errors.columns)[order]
    shares = error_shares(values, order)
    out = {}
    for j in range(k):
        out[f"feature_{j + 1}"] = names[:, j]
        out[f"share_{j + 1}"] = shares[:, j]
    return pd.DataFrame(out, index=errors.index)


def _as_policy(policy: str | ThresholdPolicy) -> ThresholdPolicy:
    return parse_policy(policy) if isinstance(policy, str) else policy


def _labels(y: Any, n_rows: int) -> np.ndarray:
    labels = check_labels(y, "y_val")
    if labels.shape != (n_rows,):
        raise DataValidationError(f"y_val has {labels.size} rows; X_val has {n_rows}")
    return labels


def _to_frame(X: Any) -> tuple[pd.DataFrame, bool]:
    if isinstance(X, pd.DataFrame):
        return X, True
    if hasattr(X, "to_pandas") and hasattr(X, "schema"):  # pyarrow Table / RecordBatch
        return X.to_pandas(), True
    array = np.asarray(X)
    if array.ndim != 2:
        raise DataValidationError(f"X must be 2-D (rows × features), got shape {array.shape}")
    return pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])]), False


def _jsonable_params(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if isinstance(out["architecture"], Architecture):
        out["architecture"] = {"__architecture__": out["architecture"].to_dict()}
    if isinstance(out["preprocessing"], PreprocessSpec):
        out["preprocessing"] = out["preprocessing"].to_dict()
    if not isinstance(out["threshold"], str):
        out["threshold"] = {"__policy__": out["threshold"].to_dict()}
    return out


def _params_from_json(params: dict[str, Any]) -> dict[str, Any]:
    out = dict(params)
    if isinstance(out["architecture"], dict):
        out["architecture"] = Architecture.from_dict(out["architecture"]["__architecture__"])
    if isinstance(out["preprocessing"], dict):
        out["preprocessing"] = PreprocessSpec.from_dict(out["preprocessing"])
    if isinstance(out["threshold"], dict):
        out["threshold"] = policy_from_dict(out["threshold"]["__policy__"])
    return out


def _unflatten_replicas(arrays: dict[str, np.ndarray], arch: Architecture, path: Any) -> list:
    """Per-replica weights from stacked ``(K, ...)`` tensors (or a one-model file's plain ones)."""
    try:
        stacked = arrays["layer0.kernel"].ndim == 3
    except KeyError as exc:
        raise ModelFileError(f"{path}: weights for layer 0 are missing") from exc
    n_models = arrays["layer0.kernel"].shape[0] if stacked else 1
    replicas: list[list[dict[str, np.ndarray]]] = [[] for _ in range(n_models)]
    fan_in = arch.n_features
    for i, layer in enumerate(arch.layers):
        try:
            kernel, bias = arrays[f"layer{i}.kernel"], arrays[f"layer{i}.bias"]
        except KeyError as exc:
            raise ModelFileError(f"{path}: weights for layer {i} are missing") from exc
        lead = (n_models,) if stacked else ()
        if kernel.shape != (*lead, fan_in, layer.units) or bias.shape != (*lead, layer.units):
            raise ModelFileError(
                f"{path}: layer {i} weights have shapes {kernel.shape}/{bias.shape}; the "
                f"architecture needs {(*lead, fan_in, layer.units)}/{(*lead, layer.units)}"
            )
        for k in range(n_models):
            kk, bb = (kernel[k], bias[k]) if stacked else (kernel, bias)
            replicas[k].append({"kernel": kk.astype(np.float32), "bias": bb.astype(np.float32)})
        fan_in = layer.units
    return replicas


def _scorer_from_file(
    arch: Architecture, replicas: list, meta: dict[str, Any], arrays: dict[str, np.ndarray]
) -> EnsembleScorer:
    """The saved scorer, or for a file from before ensembles the plain mean error it used."""
    if "scorer" in meta:
        return EnsembleScorer.from_file(arch, replicas, meta["scorer"], arrays)
    return EnsembleScorer(
        arch=arch,
        replicas=replicas,
        loss=meta["train_config"]["loss"],
        feature_scales=np.ones((len(replicas), arch.n_features)),
        reconstruction_calibration=Calibration(),  # the identity: the plain mean error
    )
