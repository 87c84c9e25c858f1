"""AutoencoderDetector: the scikit-learn / PyOD-style face of aescope.

It wires the lower layers together — preprocessing, the JAX training engine,
a threshold policy — behind the estimator contract: ``__init__`` only stores
its parameters, everything learnt ends in ``_``, and ``clone`` /
``get_params`` / ``Pipeline`` work as for any scikit-learn estimator.

Sign convention: :meth:`score_samples` and :meth:`decision_function` both
return the per-row reconstruction error, so *higher means more anomalous*, as
in PyOD. scikit-learn's outlier detectors (``IsolationForest``,
``LocalOutlierFactor``) use the opposite sign for ``score_samples``; negate
aescope's score to compare with them.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.utils.validation import check_is_fitted

from aescope import __version__
from aescope.data.dataset import frame_fingerprint
from aescope.data.validate import check_labels, validate_frame
from aescope.engine import TrainConfig, encode, reconstruct, train
from aescope.errors import ConfigError, DataValidationError, ModelFileError
from aescope.model import Architecture, default_training, load_architecture
from aescope.modelfile import load_model_bytes, load_model_file, model_file_bytes, save_model_file
from aescope.preprocess import FittedPreprocessor, PreprocessSpec, check_columns, fit_preprocessor
from aescope.progress import EpochProgress
from aescope.thresholds import ThresholdPolicy, parse_policy, policy_from_dict

MODEL_KIND = "aescope.AutoencoderDetector"
DEFAULT_PREPROCESSING = PreprocessSpec()  # standardise every column, drop none


class AutoencoderDetector(OutlierMixin, BaseEstimator):
    """Reconstruction-error anomaly detector trained on normal rows.

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
        Share of the training rows held out for early stopping and the
        threshold when no ``validation_data`` is given.
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

    # ------------------------------------------------------------------ fitting
    def fit(self, X: Any, y: Any = None, validation_data: Any = None) -> AutoencoderDetector:
        """Train on ``X`` (normal rows only; ``y`` is ignored, as in PyOD).

        ``validation_data`` is ``X_val`` (normal rows) or ``(X_val, y_val)`` or
        ``(X_val, y_val, amount_val)``; with labels, only its normal rows drive
        early stopping, and label-based threshold policies use all of it.
        """
        self._check_params()
        frame = self._input_frame(X, fitting=True)
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
        )
        with EpochProgress() if self.verbose else contextlib.nullcontext() as on_epoch:
            result = train(
                self.architecture_,
                x_train,
                val_normal if len(val_normal) else None,
                self.config_,
                seeds=[self.random_state],
                on_epoch=on_epoch,
            )
        self.params_ = result.replica(0)
        self.history_ = result.histories[0].to_dict()
        self.decision_scores_ = self._errors(x_train)
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
        """Per-row reconstruction error; higher is more anomalous (PyOD's sign).

        A row whose error overflows float32 scores ``inf`` (flagged by any threshold);
        a value whose scaled form leaves float32's range is refused, naming its cell.
        """
        return self._errors(self._transform(X))

    def decision_function(self, X: Any) -> np.ndarray:
        """Same as :meth:`score_samples` (PyOD's convention)."""
        return self.score_samples(X)

    def predict(self, X: Any) -> np.ndarray:
        """1 for rows whose error reaches ``threshold_``, else 0."""
        check_is_fitted(self, "threshold_")
        return (self.score_samples(X) >= self.threshold_).astype(np.int8)

    def feature_errors(self, X: Any) -> pd.DataFrame:
        """Per-feature error in the model's (scaled) space, indexed like ``X``.

        Squared for an MSE model, absolute for MAE, so each row's mean is its
        :meth:`score_samples` value: one pass gives both scores and explanations.
        """
        check_is_fitted(self, "params_")
        frame = self._input_frame(X)
        errors = self._elementwise_errors(self.preprocessor_.transform(frame))
        return pd.DataFrame(
            errors, columns=list(self.preprocessor_.output_columns), index=frame.index
        )

    def top_features(self, X: Any, k: int = 3) -> pd.DataFrame:
        """The ``k`` features that contributed most to each row's error, with their shares."""
        return rank_features(self.feature_errors(X), k)

    def encode(self, X: Any) -> np.ndarray:
        """Latent codes (the marked latent layer's activations)."""
        return encode(self.architecture_, self.params_, self._transform(X))

    def reconstruct(self, X: Any) -> pd.DataFrame:
        """Reconstruction of the modelled columns, back in the input's units."""
        x_hat = reconstruct(self.architecture_, self.params_, self._transform(X))
        pre = self.preprocessor_
        values = x_hat.astype(np.float64) * pre.scale + pre.center
        frame = pd.DataFrame(values, columns=list(pre.output_columns))
        for name in pre.spec.log1p:
            frame[name] = np.expm1(frame[name])
        return frame

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> None:
        """Write one safetensors file: weights plus JSON metadata; atomic, never pickled."""
        save_model_file(path, *self._file_parts())

    def to_bytes(self) -> bytes:
        """The bytes :meth:`save` would write: a model to send to other processes."""
        return model_file_bytes(*self._file_parts())

    def _file_parts(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        check_is_fitted(self, "threshold_")
        arrays = {
            f"layer{i}.{name}": np.asarray(value)
            for i, layer in enumerate(self.params_)
            for name, value in layer.items()
        }
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
            params = _unflatten_params(arrays, arch, path)
            detector = cls(**_params_from_json(meta["params"]))
            detector.architecture_ = arch
            detector.params_ = params
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
        except (KeyError, TypeError, ValueError) as exc:
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

    def _elementwise_errors(self, x: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore", invalid="ignore"):
            diff = reconstruct(self.architecture_, self.params_, x) - x
            errors = np.abs(diff) if self.config_.loss == "mae" else diff * diff
        # A row so extreme that its error overflows float32 is as anomalous as can be:
        # +inf, never NaN (which would compare below every threshold and pass as normal).
        return np.where(np.isnan(errors), np.inf, errors)

    def _errors(self, x: np.ndarray) -> np.ndarray:
        return self._elementwise_errors(x).mean(axis=1, dtype=np.float64)

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


def rank_features(errors: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Each row's ``k`` largest per-feature errors: names and shares of the row's total."""
    k = min(k, errors.shape[1])
    values = errors.to_numpy()
    order = np.argsort(-values, axis=1, kind="stable")[:, :k]
    names = np.asarray(errors.columns)[order]
    # An overflowing (infinite) error takes the whole share, split among such features.
    infinite = np.isinf(values)
    weights = np.where(infinite.any(axis=1, keepdims=True), infinite.astype(float), values)
    shares = np.take_along_axis(weights, order, axis=1) / np.maximum(
        weights.sum(axis=1, keepdims=True), np.finfo(np.float32).tiny
    )
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


def _unflatten_params(arrays: dict[str, np.ndarray], arch: Architecture, path: Any) -> list:
    params = []
    fan_in = arch.n_features
    for i, layer in enumerate(arch.layers):
        try:
            kernel, bias = arrays[f"layer{i}.kernel"], arrays[f"layer{i}.bias"]
        except KeyError as exc:
            raise ModelFileError(f"{path}: weights for layer {i} are missing") from exc
        if kernel.shape != (fan_in, layer.units) or bias.shape != (layer.units,):
            raise ModelFileError(
                f"{path}: layer {i} weights have shapes {kernel.shape}/{bias.shape}; the "
                f"architecture needs ({fan_in}, {layer.units})/({layer.units},)"
            )
        params.append({"kernel": kernel.astype(np.float32), "bias": bias.astype(np.float32)})
        fan_in = layer.units
    return params
