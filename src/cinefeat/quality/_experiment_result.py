"""The outcome of an offline A/B test of feature sets, as a value: decision, p-value, effect
with its confidence interval, per-fold metrics; JSON round trip and a matplotlib figure."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import TYPE_CHECKING, Any

from cinefeat.quality._json import finite_or_none

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["ExperimentResult", "FoldMetrics"]

_METRIC_LABELS = {"rmse": "RMSE", "auc": "AUC", "ndcg": "NDCG@k"}


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


@dataclass(frozen=True)
class FoldMetrics:
    """One fold's metric for both arms and its size."""

    fold: int
    control: float
    treatment: float
    train_rows: int
    test_rows: int
    test_users: int


@dataclass(frozen=True)
class ExperimentResult:
    """A run of an offline experiment.

    `decision` is "treatment", "control" or "inconclusive". `effect` is treatment - control in
    the metric's units (for RMSE negative means the treatment is better; for AUC and NDCG
    positive), `ci_low`/`ci_high` its bootstrap confidence interval at level `confidence`, and
    `effect_size` Cohen's dz of the per-user deltas, with the same sign as `effect`.
    """

    experiment_id: str
    name: str
    metric: str
    decision: str
    p_value: float
    effect: float
    effect_size: float
    ci_low: float
    ci_high: float
    confidence: float
    control_metric: float
    treatment_metric: float
    folds: tuple[FoldMetrics, ...]
    n_users: int  # test users compared (each in exactly one fold)
    n_rows: int  # rows of the training set (entity rows with a label)
    n_test_rows: int
    test: str  # "paired t-test" or "Wilcoxon signed-rank"
    statistic: float
    model: str
    cutoff: datetime  # training rows are at or before it, test rows after it
    control_features: tuple[str, ...]
    treatment_features: tuple[str, ...]
    created_at: datetime

    @property
    def winner(self) -> str | None:
        return None if self.decision == "inconclusive" else self.decision

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601, non-finite numbers as None."""
        body = asdict(self)
        for name, value in body.items():
            if isinstance(value, float):
                body[name] = finite_or_none(value)
        body["folds"] = [
            {k: finite_or_none(v) if isinstance(v, float) else v for k, v in asdict(f).items()}
            for f in self.folds
        ]
        body["cutoff"] = self.cutoff.isoformat()
        body["created_at"] = self.created_at.isoformat()
        body["control_features"] = list(self.control_features)
        body["treatment_features"] = list(self.treatment_features)
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> ExperimentResult:
        values = {f.name: body[f.name] for f in fields(cls)}
        for name in ("p_value", "effect", "effect_size", "ci_low", "ci_high", "statistic"):
            values[name] = _float(values[name])
        for name in ("control_metric", "treatment_metric", "confidence"):
            values[name] = _float(values[name])
        values["folds"] = tuple(
            FoldMetrics(
                int(f["fold"]),
                _float(f["control"]),
                _float(f["treatment"]),
                int(f["train_rows"]),
                int(f["test_rows"]),
                int(f["test_users"]),
            )
            for f in body["folds"]
        )
        values["cutoff"] = datetime.fromisoformat(body["cutoff"])
        values["created_at"] = datetime.fromisoformat(body["created_at"])
        values["control_features"] = tuple(body["control_features"])
        values["treatment_features"] = tuple(body["treatment_features"])
        return cls(**values)

    def __str__(self) -> str:
        label = _METRIC_LABELS.get(self.metric, self.metric)
        verdict = {
            "treatment": "the treatment wins",
            "control": "the control wins",
        }.get(self.decision, "inconclusive")
        return (
            f"{self.name}: {verdict}. {label} {self.control_metric:.4g} (control) vs "
            f"{self.treatment_metric:.4g} (treatment), delta {self.effect:+.4g} "
            f"[{self.confidence:.0%} CI {self.ci_low:+.4g} .. {self.ci_high:+.4g}], "
            f"{self.test} p = {self.p_value:.3g}, dz = {self.effect_size:+.3g}; "
            f"{len(self.folds)} folds, {self.n_users:,} users, {self.n_test_rows:,} test rows"
        )

    def figure(self) -> Figure:
        """Per-fold metrics of both arms (left) and the delta with its CI (right), as a
        matplotlib Figure built without pyplot (no global state; save it with `savefig`)."""
        from matplotlib.figure import Figure

        label = _METRIC_LABELS.get(self.metric, self.metric)
        figure = Figure(figsize=(9.0, 3.6), layout="constrained")
        per_fold, delta = figure.subplots(1, 2, width_ratios=(3, 1))
        folds = [f.fold for f in self.folds]
        per_fold.plot(folds, [f.control for f in self.folds], "o-", label="control")
        per_fold.plot(folds, [f.treatment for f in self.folds], "s-", label="treatment")
        per_fold.axhline(self.control_metric, color="C0", linestyle=":", linewidth=1)
        per_fold.axhline(self.treatment_metric, color="C1", linestyle=":", linewidth=1)
        per_fold.set_xticks(folds)
        per_fold.set_xlabel("fold")
        per_fold.set_ylabel(label)
        per_fold.set_title(f"{label} per fold (dotted: mean)")
        per_fold.legend()
        colour = {"treatment": "tab:green", "control": "tab:red"}.get(self.decision, "tab:gray")
        low, high = self.effect - self.ci_low, self.ci_high - self.effect
        delta.errorbar([0], [self.effect], yerr=[[low], [high]], fmt="o", color=colour, capsize=6)
        delta.axhline(0.0, color="black", linewidth=0.8)
        delta.set_xticks([])
        delta.set_xlim(-1, 1)
        delta.set_title(f"treatment - control\n{self.confidence:.0%} CI, p = {self.p_value:.2g}")
        figure.suptitle(f"{self.name}: {self.decision}")
        return figure
