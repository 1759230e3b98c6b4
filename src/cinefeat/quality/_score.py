"""The quality score of a view, 0-100, and of the whole project: a weighted mean of five
components, each a share in [0, 1], computed from a monitoring check.

- completeness: 1 - the mean null rate of the view's features;
- validity: the share of rows passing every rule of the view (its Fields' and its own);
- uniqueness: 1 - the share of rows repeating a (join keys, event time) identity;
- freshness: 1 while the newest event is within the staleness budget, then budget / age;
- stability: 1 - the share of features that drifted since the previous check.

Weights: completeness 0.25, validity 0.25, uniqueness 0.20, freshness 0.15, stability 0.15.
A component that cannot be computed (no rules, no staleness budget, no previous check to
compare with) is left out and the other weights are rescaled. A check that saw no new rows
keeps the data components of the last check that did; freshness is always current.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cinefeat.quality._monitor import ViewCheck

__all__ = ["SCORE_WEIGHTS", "QualityScore", "overall_score", "score_view"]

SCORE_WEIGHTS: dict[str, float] = {
    "completeness": 0.25,
    "validity": 0.25,
    "uniqueness": 0.20,
    "freshness": 0.15,
    "stability": 0.15,
}
_DATA_COMPONENTS = ("completeness", "validity", "uniqueness", "stability")


@dataclass(frozen=True)
class QualityScore:
    """`score` (0-100) of `view` ("" for the project), with the components it came from."""

    view: str
    score: float
    components: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"view": self.view, "score": self.score, "components": dict(self.components)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QualityScore:
        return cls(data["view"], float(data["score"]), dict(data["components"]))


def weighted_score(components: Mapping[str, float]) -> float:
    """100 x the weighted mean of the components present (100 when none is)."""
    total = sum(SCORE_WEIGHTS[name] for name in components)
    if not total:
        return 100.0
    return 100.0 * sum(SCORE_WEIGHTS[n] * v for n, v in components.items()) / total


def score_view(check: ViewCheck, previous: Mapping[str, float] | None = None) -> QualityScore:
    """The score of the view `check` looked at; `previous` are the components of the last
    check, used for the data components when this one saw no new rows."""
    components: dict[str, float] = {}
    if check.rows:
        rates = list(check.null_rates.values())
        components["completeness"] = 1 - sum(rates) / len(rates) if rates else 1.0
        components["uniqueness"] = 1 - check.duplicate_keys / check.rows
        if check.valid_share is not None:
            components["validity"] = check.valid_share
        if check.drift is not None and check.drift.columns:
            drifted = len(check.drift.drifted_columns)
            components["stability"] = 1 - drifted / len(check.drift.columns)
    elif previous:
        components.update({n: v for n, v in previous.items() if n in _DATA_COMPONENTS})
    budget, age = check.staleness_budget_seconds, check.freshness_seconds
    if budget is not None and age is not None:
        components["freshness"] = 1.0 if age <= budget else budget / age
    return QualityScore(check.view, weighted_score(components), components)


def overall_score(scores: Sequence[QualityScore]) -> QualityScore:
    """The project's score: the mean of its views' scores (each view counts the same)."""
    if not scores:
        return QualityScore("", 100.0)
    return QualityScore("", sum(s.score for s in scores) / len(scores))
