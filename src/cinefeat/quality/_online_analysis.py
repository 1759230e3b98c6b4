"""The fixed-horizon analysis of an online experiment: per-arm summaries, Welch's t-test or the
two-proportion z-test once both arms reach the planned sample, and the sample-ratio check."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import numpy.typing as npt

from cinefeat.quality._experiment_documents import ANALYSIS_KEY, KIND
from cinefeat.quality._json import finite_or_none
from cinefeat.quality._online_experiments import get_online_experiment
from cinefeat.quality._online_spec import OnlineExperiment
from cinefeat.quality._online_stats import (
    ArmComparison,
    sample_ratio_p_value,
    two_proportion_z_test,
    welch_t_test,
)

if TYPE_CHECKING:
    from cinefeat.store import FeatureStore

__all__ = [
    "ANALYSIS_KEY",
    "SRM_ALPHA",
    "ArmSummary",
    "OnlineExperimentResult",
    "analyze_online_experiment",
    "analyze_outcomes",
]

SRM_ALPHA = 0.001  # a split this unlikely under the planned share means assignment is broken


@dataclass(frozen=True)
class ArmSummary:
    """One arm: outcomes received and distinct units among them (all so far), the horizon
    (`required`), and the sample analysed (its size, mean and standard deviation). Once the
    experiment is complete the analysed sample is the arm's first `required` outcomes in the
    order they were recorded (arrival, not the client's event times), so it never changes
    again; before, it is every outcome so far."""

    outcomes: int
    units: int
    required: int
    analyzed: int
    mean: float | None
    std: float | None


@dataclass(frozen=True)
class OnlineExperimentResult:
    """The analysis of an online experiment.

    `status` is "collecting" until both arms reach their required outcomes, then "complete".
    Effect (treatment - control), confidence interval (at 1 - alpha), statistic and p-value
    are given only when complete: a fixed-horizon test is valid only at its horizon.
    `decision` is "treatment" or "control" (the significantly better arm) or "inconclusive".
    `srm_p_value` tests the arms' unit counts against the planned split; `srm_flagged` when it
    is below SRM_ALPHA (then no arm is declared the winner).
    """

    experiment_id: str
    name: str
    metric: str
    test: Literal["welch_t", "two_proportion_z"]
    experiment_status: str
    status: Literal["collecting", "complete"]
    decision: Literal["treatment", "control", "inconclusive"]
    control: ArmSummary
    treatment: ArmSummary
    alpha: float
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    statistic: float | None
    p_value: float | None
    degrees_of_freedom: float | None
    srm_p_value: float | None
    srm_flagged: bool
    messages: tuple[str, ...]
    analyzed_at: datetime

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["messages"] = list(self.messages)
        body["analyzed_at"] = self.analyzed_at.isoformat()
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> OnlineExperimentResult:
        fields = dict(body)
        fields["control"] = ArmSummary(**body["control"])
        fields["treatment"] = ArmSummary(**body["treatment"])
        fields["messages"] = tuple(body["messages"])
        fields["analyzed_at"] = datetime.fromisoformat(body["analyzed_at"])
        return cls(**fields)


def _summary(all_values: np.ndarray, units: int, required: int, sample: np.ndarray) -> ArmSummary:
    # Values stored before intake bounded them can overflow: None keeps the result JSON.
    with np.errstate(over="ignore", invalid="ignore"):
        mean = finite_or_none(float(sample.mean())) if sample.size else None
        std = finite_or_none(float(sample.std(ddof=1))) if sample.size > 1 else None
    return ArmSummary(int(all_values.size), units, required, int(sample.size), mean, std)


def _distinct(keys: npt.NDArray[np.object_]) -> int:
    return int(np.unique(keys).size) if keys.size else 0


def _decision(
    experiment: OnlineExperiment, comparison: ArmComparison
) -> Literal["treatment", "control", "inconclusive"]:
    p_value = comparison.p_value
    if p_value is None or not p_value < experiment.alpha:  # NaN too
        return "inconclusive"
    treatment_better = (comparison.effect > 0) == experiment.higher_is_better
    return "treatment" if treatment_better else "control"


def analyze_outcomes(
    experiment: OnlineExperiment,
    arms: Sequence[str],
    entity_keys: Sequence[str],
    values: npt.ArrayLike,
    analyzed_at: datetime | None = None,
) -> OnlineExperimentResult:
    """The analysis of outcomes given in the order they were recorded (parallel sequences:
    arm, entity key, value), without the registry.

    Once both arms have their required outcomes, the tested samples are each arm's first
    `required` outcomes, which later arrivals cannot change. The sample-ratio check keeps
    using every unit so far: a split that goes wrong later still withdraws the decision."""
    is_treatment = np.asarray(arms, dtype=object) == "treatment"
    keys = np.asarray(entity_keys, dtype=object)
    observed = np.asarray(values, dtype=np.float64)
    c_all, t_all = observed[~is_treatment], observed[is_treatment]
    c_keys, t_keys = keys[~is_treatment], keys[is_treatment]
    req_c, req_t = experiment.required_control, experiment.required_treatment
    complete = c_all.size >= req_c and t_all.size >= req_t
    c, t = (c_all[:req_c], t_all[:req_t]) if complete else (c_all, t_all)
    c_units, t_units = _distinct(c_keys), _distinct(t_keys)
    messages: list[str] = []

    srm_p = sample_ratio_p_value(c_units, t_units, experiment.treatment_share)
    srm_flagged = srm_p is not None and srm_p < SRM_ALPHA
    if srm_flagged:
        messages.append(
            f"sample ratio mismatch: {c_units:,} control vs {t_units:,} treatment units for a "
            f"planned treatment share of {experiment.treatment_share:g} (p = {srm_p:.2g}); "
            "assignment or outcome logging is broken, so no arm can be declared the winner"
        )
    if _distinct(c_keys[: c.size]) < c.size or _distinct(t_keys[: t.size]) < t.size:
        messages.append(
            "some units reported more than one outcome; the tests treat outcomes as "
            "independent, which understates the variance when a unit's outcomes are "
            "correlated (report one outcome per unit, e.g. its mean rating)"
        )
    test: Literal["welch_t", "two_proportion_z"] = (
        "welch_t" if experiment.metric == "mean" else "two_proportion_z"
    )
    comparison: ArmComparison | None = None
    decision: Literal["treatment", "control", "inconclusive"] = "inconclusive"
    if complete:
        run = welch_t_test if test == "welch_t" else two_proportion_z_test
        comparison = run(c, t, experiment.alpha)
        decision = "inconclusive" if srm_flagged else _decision(experiment, comparison)
        if comparison.note:
            messages.append(comparison.note)
        extra = c_all.size - req_c + t_all.size - req_t
        if extra:
            messages.append(
                f"complete: analysed each arm's first {req_c:,}/{req_t:,} outcomes in the "
                f"order they were recorded; {extra:,} later outcomes are not used (the "
                "horizon is fixed)"
            )
    else:
        messages.append(
            f"collecting: {c_all.size:,}/{req_c:,} control and {t_all.size:,}/{req_t:,} "
            "treatment outcomes; a fixed-horizon test is only valid at its horizon, so no "
            "effect, interval or p-value is shown before it (peeking and stopping early "
            "inflates the false positive rate far above alpha)"
        )
        if experiment.status == "stopped":
            messages.append("the experiment was stopped before its horizon: no decision")
    return OnlineExperimentResult(
        experiment_id=experiment.id,
        name=experiment.name,
        metric=experiment.metric,
        test=test,
        experiment_status=experiment.status,
        status="complete" if complete else "collecting",
        decision=decision,
        control=_summary(c_all, c_units, req_c, c),
        treatment=_summary(t_all, t_units, req_t, t),
        alpha=experiment.alpha,
        effect=None if comparison is None else finite_or_none(comparison.effect),
        ci_low=None if comparison is None else finite_or_none(comparison.ci_low),
        ci_high=None if comparison is None else finite_or_none(comparison.ci_high),
        statistic=None if comparison is None else finite_or_none(comparison.statistic),
        p_value=None if comparison is None else finite_or_none(comparison.p_value),
        degrees_of_freedom=(
            None if comparison is None else finite_or_none(comparison.degrees_of_freedom)
        ),
        srm_p_value=srm_p,
        srm_flagged=srm_flagged,
        messages=tuple(messages),
        analyzed_at=analyzed_at or datetime.now(UTC),
    )


def analyze_online_experiment(
    store: FeatureStore, experiment_id: str, *, save: bool = True
) -> OnlineExperimentResult:
    """Analyse the experiment's outcomes so far and (with `save`) store the result as its
    "analysis" document."""
    experiment = get_online_experiment(store, experiment_id)
    records = store.registry.quality_records()
    outcomes = records.outcomes(experiment.id, order="arrival")
    result = analyze_outcomes(
        experiment,
        [o.arm for o in outcomes],
        [o.entity_key for o in outcomes],
        [o.value for o in outcomes],
    )
    if save:
        records.put_document(KIND, experiment.id, ANALYSIS_KEY, result.to_dict())
    return result
