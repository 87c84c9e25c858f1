"""Threshold policies: how a score cut-off is chosen, kept apart from the model.

A detector produces scores; turning them into alerts is a separate decision with its
own data needs (training scores, validation normals, or a labelled validation set with
amounts). Keeping each policy a small frozen dataclass with one ``fit`` method lets the
detector, studies and the CLI swap policies without touching the model, in the spirit
of river's anomaly thresholders. Alerts are always ``score >= threshold``.

Each policy has:

* ``fit(normal_scores, *, labelled_scores=None, labels=None, amount=None) -> float``
* ``requires_labels`` -- whether ``fit`` needs ``labelled_scores`` and ``labels``;
* ``fit_on`` -- which scores the detector should pass: ``"train"`` (training scores,
  PyOD's ``decision_scores_``), ``"validation"`` (validation normals), ``"labelled"``
  (labelled validation set) or ``"none"``;
* ``to_dict()`` / :func:`policy_from_dict` and ``spec()`` / :func:`parse_policy`, which
  round-trip exactly.

CLI texts: ``contamination:0.01``, ``quantile:0.995``, ``fpr:0.001``, ``fixed:3.2``,
``f1``, ``cost``, ``cost:review=5``, ``cost:review=5,missed_fee=25``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike
from sklearn.metrics import precision_recall_curve

from aescope.data.validate import check_labels, check_scores
from aescope.errors import DataValidationError, ThresholdPolicyError

__all__ = [
    "DEFAULT_REVIEW_COST",
    "Contamination",
    "Fixed",
    "MaxF1",
    "MinCost",
    "Quantile",
    "TargetFPR",
    "ThresholdPolicy",
    "ThresholdPolicyError",
    "parse_policy",
    "policy_from_dict",
]

#: Cost of reviewing one alert, in the amount's currency (credit cards: euros).
DEFAULT_REVIEW_COST = 5.0


# --------------------------------------------------------------------------- input checks


def _scores(values: ArrayLike | None, name: str) -> np.ndarray:
    if values is None:
        raise DataValidationError(f"{name} is required by this policy but was not given")
    return check_scores(values, name)


def _labelled(
    policy: str, scores: ArrayLike | None, labels: ArrayLike | None
) -> tuple[np.ndarray, np.ndarray]:
    if scores is None or labels is None:
        raise DataValidationError(
            f"the {policy} policy needs a labelled validation set: pass labelled_scores= "
            "and labels= (use a label-free policy such as quantile or fpr otherwise)"
        )
    s = _scores(scores, "labelled_scores")
    y = check_labels(labels, "labels")
    if len(y) != len(s):
        raise DataValidationError(
            f"labels must have {len(s)} rows like labelled_scores; got {len(y)}"
        )
    n_pos = int(y.sum())
    if n_pos == 0 or n_pos == len(y):
        only = "anomalies (1)" if n_pos else "normals (0)"
        raise DataValidationError(
            f"the {policy} policy needs both classes in the labelled set, "
            f"but labels contain only {only}"
        )
    return s, y


def _param(name: str, value: Any, *, low: float, high: float, closed_high: bool = False) -> float:
    """Validate a numeric parameter at construction, naming it and its value."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ThresholdPolicyError(f"{name} must be a number, got {value!r}") from None
    ok = low < v <= high if closed_high else low < v < high  # False for NaN
    if not ok:
        bracket = "]" if closed_high else ")"
        raise ThresholdPolicyError(f"{name} must be in ({low:g}, {high:g}{bracket}, got {value!r}")
    return v


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class ThresholdPolicy:
    """Base class: one way to pick a threshold from scores."""

    kind: ClassVar[str] = ""
    requires_labels: ClassVar[bool] = False
    fit_on: ClassVar[str] = "none"

    def fit(
        self,
        normal_scores: ArrayLike | None = None,
        *,
        labelled_scores: ArrayLike | None = None,
        labels: ArrayLike | None = None,
        amount: ArrayLike | None = None,
    ) -> float:
        """Return the threshold (flag ``score >= threshold``) as a Python float."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """``{"kind": ..., <parameters>}``; inverse of :func:`policy_from_dict`."""
        return {"kind": self.kind, **dataclasses.asdict(self)}

    def spec(self) -> str:
        """CLI text form; inverse of :func:`parse_policy`."""
        values = [repr(v) for v in dataclasses.asdict(self).values()]
        return f"{self.kind}:{','.join(values)}" if values else self.kind

    def __str__(self) -> str:
        return self.spec()


@dataclass(frozen=True)
class Contamination(ThresholdPolicy):
    """Flag the top ``share`` of the scores given, like PyOD's ``contamination``.

    The threshold is ``numpy.quantile(scores, 1 - share)`` with linear interpolation,
    which is PyOD's ``percentile(decision_scores_, 100 * (1 - contamination))``. The
    detector passes the training scores. Example: scores 1..100, share 0.05 -> 95.05,
    so the five scores 96..100 are flagged.
    """

    share: float = 0.01
    kind: ClassVar[str] = "contamination"
    fit_on: ClassVar[str] = "train"

    def __post_init__(self) -> None:
        object.__setattr__(self, "share", _param("share", self.share, low=0.0, high=1.0))

    def fit(
        self,
        normal_scores: ArrayLike | None = None,
        *,
        labelled_scores: ArrayLike | None = None,
        labels: ArrayLike | None = None,
        amount: ArrayLike | None = None,
    ) -> float:
        s = _scores(normal_scores, "normal_scores (training scores)")
        return float(np.quantile(s, 1.0 - self.share))


@dataclass(frozen=True)
class Quantile(ThresholdPolicy):
    """The ``q`` quantile (linear interpolation) of validation-normal scores.

    Unlike :class:`Contamination` it is meant for held-out normals, which do not share
    the optimism of training errors. ``q = 1`` gives the largest validation score.
    """

    q: float = 0.995
    kind: ClassVar[str] = "quantile"
    fit_on: ClassVar[str] = "validation"

    def __post_init__(self) -> None:
        object.__setattr__(self, "q", _param("q", self.q, low=0.0, high=1.0, closed_high=True))

    def fit(
        self,
        normal_scores: ArrayLike | None = None,
        *,
        labelled_scores: ArrayLike | None = None,
        labels: ArrayLike | None = None,
        amount: ArrayLike | None = None,
    ) -> float:
        s = _scores(normal_scores, "normal_scores (validation normals)")
        return float(np.quantile(s, self.q))


@dataclass(frozen=True)
class TargetFPR(ThresholdPolicy):
    """Smallest threshold that flags at most a share ``fpr`` of validation normals.

    Exact definition: with ``n`` normals, let ``m = floor(fpr * n)`` (``fpr`` read as
    the decimal it prints as, so 0.29 * 100 gives 29, not 28) and ``v`` the
    ``(m + 1)``-th largest normal score. The threshold is the next float64 above ``v``:
    every normal scoring ``v`` or less, ties included, is left unflagged, so at most
    ``m`` normals satisfy ``score >= threshold``, and no smaller float64 has that
    property. Ties can make the realised share smaller than ``fpr``, never larger.
    """

    fpr: float = 0.001
    kind: ClassVar[str] = "fpr"
    fit_on: ClassVar[str] = "validation"

    def __post_init__(self) -> None:
        object.__setattr__(self, "fpr", _param("fpr", self.fpr, low=0.0, high=1.0))

    def fit(
        self,
        normal_scores: ArrayLike | None = None,
        *,
        labelled_scores: ArrayLike | None = None,
        labels: ArrayLike | None = None,
        amount: ArrayLike | None = None,
    ) -> float:
        s = _scores(normal_scores, "normal_scores (validation normals)")
        n = len(s)
        m = math.floor(Fraction(repr(self.fpr)) * n)
        v = np.partition(s, n - 1 - m)[n - 1 - m]  # (m+1)-th largest
        return float(np.nextafter(v, np.inf))


@dataclass(frozen=True)
class Fixed(ThresholdPolicy):
    """A threshold given by the user; ``fit`` ignores all data."""

    value: float = 0.0
    kind: ClassVar[str] = "fixed"

    def __post_init__(self) -> None:
        try:
            v = float(self.value)
        except (TypeError, ValueError):
            raise ThresholdPolicyError(f"value must be a number, got {self.value!r}") from None
        if not math.isfinite(v):
            raise ThresholdPolicyError(f"value must be finite, got {self.value!r}")
        object.__setattr__(self, "value", v)

    def fit(
        self,
        normal_scores: ArrayLike | None = None,
        *,
        labelled_scores: ArrayLike | None = None,
        labels: ArrayLike | None = None,
        amount: ArrayLike | None = None,
    ) -> float:
        return self.value


@dataclass(frozen=True)
class MaxF1(ThresholdPolicy):
    """Threshold maximising F1 on a labelled validation set.

    Candidates are the distinct labelled scores (sklearn ``precision_recall_curve``).
    Among equal F1 the highest threshold wins: same quality, fewer alerts.
    """

    kind: ClassVar[str] = "f1"
    requires_labels: ClassVar[bool] = True
    fit_on: ClassVar[str] = "labelled"

    def fit(
        self,
        normal_scores: ArrayLike | None = None,
        *,
        labelled_scores: ArrayLike | None = None,
        labels: ArrayLike | None = None,
        amount: ArrayLike | None = None,
    ) -> float:
        s, y = _labelled("f1", labelled_scores, labels)
        precision, recall, thresholds = precision_recall_curve(y, s)
        p, r = precision[:-1], recall[:-1]  # the last point has no threshold
        denom = p + r
        f1 = np.divide(2 * p * r, denom, out=np.zeros_like(denom), where=denom > 0)
        best = np.flatnonzero(f1 == f1.max())[-1]  # thresholds ascend: take the highest
        return float(thresholds[best])


@dataclass(frozen=True)
class MinCost(ThresholdPolicy):
    """Threshold minimising money lost on a labelled validation set with amounts.

    ``cost(t) = sum(amount of anomalies with score < t)           # missed fraud
              + missed_fee * (number of anomalies with score < t)  # e.g. chargeback fee
              + review_cost * (number of rows with score >= t)``   # analyst time
    ``review_cost`` defaults to :data:`DEFAULT_REVIEW_COST` (5.0 in the amount's
    currency). The search is exact over every distinct score plus "flag nothing" (the
    float just above the maximum), done with one sort and cumulative sums. Among equal
    costs the highest threshold wins (fewer alerts).
    """

    review_cost: float = DEFAULT_REVIEW_COST
    missed_fee: float = 0.0
    kind: ClassVar[str] = "cost"
    requires_labels: ClassVar[bool] = True
    fit_on: ClassVar[str] = "labelled"

    def __post_init__(self) -> None:
        for name in ("review_cost", "missed_fee"):
            value = getattr(self, name)
            try:
                v = float(value)
            except (TypeError, ValueError):
                raise ThresholdPolicyError(f"{name} must be a number, got {value!r}") from None
            if not (math.isfinite(v) and v >= 0):
                raise ThresholdPolicyError(f"{name} must be finite and >= 0, got {value!r}")
            object.__setattr__(self, name, v)

    def spec(self) -> str:
        return f"cost:review={self.review_cost!r},missed_fee={self.missed_fee!r}"

    def fit(
        self,
        normal_scores: ArrayLike | None = None,
        *,
        labelled_scores: ArrayLike | None = None,
        labels: ArrayLike | None = None,
        amount: ArrayLike | None = None,
    ) -> float:
        s, y = _labelled("cost", labelled_scores, labels)
        if amount is None:
            raise DataValidationError(
                "the cost policy needs amount= (one value per labelled row) to price "
                "missed anomalies"
            )
        a = np.asarray(amount)
        if a.ndim != 1 or len(a) != len(s) or a.dtype.kind not in "biuf":
            raise DataValidationError(
                f"amount must be numeric and 1-D with {len(s)} rows; "
                f"got dtype {a.dtype}, shape {a.shape}"
            )
        a = a.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(a) | (a < 0))
        if bad.size:
            raise DataValidationError(
                f"amount must be finite and >= 0; row {bad[0]} is {a[bad[0]]}"
            )
        uniq, group = np.unique(s, return_inverse=True)  # ascending distinct scores
        loss_if_missed = np.where(y == 1, a + self.missed_fee, 0.0)
        # Rows and anomaly losses at or above each distinct score (suffix sums).
        rows_ge = np.cumsum(np.bincount(group, minlength=len(uniq))[::-1])[::-1]
        loss_ge = np.cumsum(np.bincount(group, loss_if_missed, len(uniq))[::-1])[::-1]
        total_loss = loss_if_missed.sum()
        cost = (total_loss - loss_ge) + self.review_cost * rows_ge
        candidates = np.append(uniq, np.nextafter(uniq[-1], np.inf))
        cost = np.append(cost, total_loss)  # flag nothing
        best = np.flatnonzero(cost == cost.min())[-1]
        return float(candidates[best])


# --------------------------------------------------------------------------- parsing

_POLICIES: dict[str, type[ThresholdPolicy]] = {
    cls.kind: cls for cls in (Contamination, Quantile, TargetFPR, Fixed, MaxF1, MinCost)
}
_ALIASES = {"maxf1": "f1", "mincost": "cost", "target_fpr": "fpr"}
_COST_KEYS = {"review": "review_cost", "review_cost": "review_cost", "missed_fee": "missed_fee"}


def policy_from_dict(d: dict[str, Any]) -> ThresholdPolicy:
    """Rebuild a policy from :meth:`ThresholdPolicy.to_dict` output (e.g. a model file)."""
    if not isinstance(d, dict) or "kind" not in d:
        raise ThresholdPolicyError(f"a policy dict needs a 'kind' key, got {d!r}")
    kind = _ALIASES.get(str(d["kind"]), str(d["kind"]))
    cls = _POLICIES.get(kind)
    if cls is None:
        raise ThresholdPolicyError(
            f"unknown threshold policy kind {d['kind']!r}; known: {', '.join(_POLICIES)}"
        )
    params = {k: v for k, v in d.items() if k != "kind"}
    allowed = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ThresholdPolicyError(
            f"unknown parameter(s) {unknown} for policy {kind!r}; "
            f"allowed: {sorted(allowed) or 'none'}"
        )
    return cls(**params)


def parse_policy(text: str) -> ThresholdPolicy:
    """Parse CLI text such as ``fpr:0.001``, ``f1`` or ``cost:review=5,missed_fee=25``."""
    raw = str(text).strip()
    name, _, arg = raw.partition(":")
    kind = _ALIASES.get(name.strip().lower(), name.strip().lower())
    arg = arg.strip()
    cls = _POLICIES.get(kind)
    if cls is None:
        raise ThresholdPolicyError(
            f"unknown threshold policy {raw!r}; use one of contamination:SHARE, "
            "quantile:Q, fpr:RATE, fixed:VALUE, f1, cost[:review=COST,missed_fee=FEE]"
        )
    fields = [f.name for f in dataclasses.fields(cls)]
    if kind == "cost":
        params: dict[str, Any] = {}
        for item in filter(None, (p.strip() for p in arg.split(","))):
            key, eq, value = item.partition("=")
            key = key.strip().lower()
            if not eq:  # "cost:5" is shorthand for the review cost
                key, value = "review", key
            if key not in _COST_KEYS:
                raise ThresholdPolicyError(
                    f"unknown cost parameter {key!r} in {raw!r}; use review= and missed_fee="
                )
            params[_COST_KEYS[key]] = _number(value, key, raw)
        return MinCost(**params)
    if not fields:
        if arg:
            raise ThresholdPolicyError(f"policy {kind!r} takes no value, got {raw!r}")
        return cls()
    if not arg:
        raise ThresholdPolicyError(f"policy {kind!r} needs a value, e.g. {kind}:{_EXAMPLE[kind]}")
    return cls(_number(arg, fields[0], raw))


_EXAMPLE = {"contamination": "0.01", "quantile": "0.995", "fpr": "0.001", "fixed": "3.2"}


def _number(value: str, name: str, raw: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ThresholdPolicyError(f"{name} must be a number in {raw!r}, got {value!r}") from None
