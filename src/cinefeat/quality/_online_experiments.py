"""Online A/B tests of feature services: creating (sizing), reading and stopping experiments
in the registry, and the intake of observed outcomes."""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, cast, get_args

import numpy as np

from cinefeat.errors import FeatureNotFoundError
from cinefeat.quality._experiment_documents import KIND, SPEC_KEY, check_name_is_free
from cinefeat.quality._online_assignment import assign_arms, entity_keys
from cinefeat.quality._online_spec import (
    ExperimentError,
    ExperimentNotFoundError,
    ExperimentStoppedError,
    OnlineExperiment,
)
from cinefeat.quality._online_stats import Metric, required_sample_sizes
from cinefeat.timeutil import as_utc

if TYPE_CHECKING:
    from cinefeat.definitions import FeatureService
    from cinefeat.registry import QualityRecords
    from cinefeat.store import FeatureStore

# The errors are re-exported: the offline experiments import them from here.
__all__ = [
    "MAX_OUTCOME_MAGNITUDE",
    "OUTCOME_TIME_MARGIN",
    "ExperimentError",
    "ExperimentNotFoundError",
    "ExperimentStoppedError",
    "OnlineExperiment",
    "create_online_experiment",
    "get_online_experiment",
    "list_online_experiments",
    "record_outcomes",
    "stop_online_experiment",
]


# Outcome values beyond this are refused: far past any rating, count or revenue, and small
# enough that sums and squares of millions of them stay finite (and JSON) in the analysis.
MAX_OUTCOME_MAGNITUDE = 1e12
# Event times are accepted from a day before the experiment was created (clients' clocks and
# queues) to a day after now; anything else is a client bug that would also break the charts.
OUTCOME_TIME_MARGIN = timedelta(days=1)


def _records(store: FeatureStore) -> QualityRecords:
    return store.registry.quality_records()


def _service(store: FeatureStore, name: Any, field: str) -> FeatureService:
    if not isinstance(name, str) or not name:
        raise ExperimentError(f"{field}: give a feature service name, got {name!r}")
    try:
        return store.get_feature_service(name)
    except FeatureNotFoundError:
        raise FeatureNotFoundError(
            f"{field}: feature service {name!r} is not in the registry"
        ) from None


def _join_keys(store: FeatureStore, service: FeatureService) -> list[str]:
    """The join keys of every view a service reads (an on-demand view's through its inputs)."""
    on_demand = {view.name: view for view in store.list_on_demand_feature_views()}
    keys: dict[str, None] = {}
    for entry in service.entries:
        if entry.view in on_demand:
            for source in on_demand[entry.view].view_inputs:
                keys.update(dict.fromkeys(store.get_feature_view(source.view).join_keys))
        else:
            keys.update(dict.fromkeys(store.get_feature_view(entry.view, entry.version).join_keys))
    return list(keys)


def _number(value: Any, field: str, low: float, high: float) -> float:
    """A finite number in the open interval (low, high)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ExperimentError(f"{field}: must be a finite number, got {value!r}")
    if not low < value < high:
        raise ExperimentError(f"{field}: must be in ({low}, {high}), got {value!r}")
    return float(value)


def create_online_experiment(
    store: FeatureStore,
    name: str,
    control_service: str,
    treatment_service: str,
    *,
    metric: Metric,
    minimum_detectable_effect: float,
    baseline: float,
    alpha: float = 0.05,
    power: float = 0.8,
    treatment_share: float = 0.5,
    unit_keys: Sequence[str] | None = None,
    higher_is_better: bool = True,
) -> OnlineExperiment:
    """Define, size and store an online experiment (status "running", a fresh random salt).

    `unit_keys` are the join keys that identify the randomisation unit (default: the control
    service's join keys); use `["user_id"]` so a user sees one arm for every movie.
    """
    if not isinstance(name, str) or not name.strip():
        raise ExperimentError(f"name: give a non-empty name, got {name!r}")
    if metric not in get_args(Metric):
        raise ExperimentError(f"metric: must be 'mean' or 'proportion', got {metric!r}")
    control = _service(store, control_service, "control_service")
    treatment = _service(store, treatment_service, "treatment_service")
    if control.name == treatment.name:
        raise ExperimentError(
            f"treatment_service: must differ from control_service (both {control.name!r})"
        )
    mde = _number(minimum_detectable_effect, "minimum_detectable_effect", 0, math.inf)
    alpha = _number(alpha, "alpha", 0, 1)
    power = _number(power, "power", 0, 1)
    share = _number(treatment_share, "treatment_share", 0, 1)
    if metric == "mean":
        baseline = _number(baseline, "baseline", 0, math.inf)  # the outcome's std
    else:
        baseline = _number(baseline, "baseline", 0, 1)  # the control's rate
        if baseline + mde > 1:
            raise ExperimentError(
                f"minimum_detectable_effect: baseline rate {baseline} + {mde} exceeds 1"
            )
    served = dict.fromkeys([*_join_keys(store, control), *_join_keys(store, treatment)])
    if isinstance(unit_keys, str):  # one key given bare, not as a list of its characters
        unit_keys = [unit_keys]
    units = tuple(sorted(dict.fromkeys(unit_keys or _join_keys(store, control))))
    unknown = [key for key in units if key not in served]
    if unknown or not units:
        raise ExperimentError(
            f"unit_keys: {unknown or 'none given'} are not join keys of the services "
            f"(they use {list(served)})"
        )
    records = _records(store)
    check_name_is_free(records, name)
    required_c, required_t = required_sample_sizes(metric, mde, baseline, alpha, power, share)
    experiment = OnlineExperiment(
        id=f"exp-{secrets.token_hex(6)}",
        name=name,
        control_service=control.name,
        treatment_service=treatment.name,
        salt=secrets.token_hex(16),
        metric=metric,
        minimum_detectable_effect=mde,
        baseline=baseline,
        alpha=alpha,
        power=power,
        treatment_share=share,
        unit_keys=units,
        required_control=required_c,
        required_treatment=required_t,
        created_at=datetime.now(UTC),
        higher_is_better=bool(higher_is_better),
    )
    records.put_document(KIND, experiment.id, SPEC_KEY, experiment.to_dict(), experiment.created_at)
    return experiment


def get_online_experiment(store: FeatureStore, experiment_id: str) -> OnlineExperiment:
    document = _records(store).get_document(KIND, experiment_id, SPEC_KEY)
    if document is None or document.body.get("mode") != "online":
        raise ExperimentNotFoundError(f"experiment {experiment_id!r}: no online experiment")
    return OnlineExperiment.from_dict(document.body)


def list_online_experiments(store: FeatureStore) -> list[OnlineExperiment]:
    """Every online experiment of the project, newest first."""
    return [
        OnlineExperiment.from_dict(document.body)
        for document in _records(store).list_documents(KIND)
        if document.key == SPEC_KEY and document.body.get("mode") == "online"
    ]


def stop_online_experiment(store: FeatureStore, experiment_id: str) -> OnlineExperiment:
    """Stop it: serving falls back to the control service for everyone and outcomes are
    refused. Stopping a stopped experiment changes nothing."""
    experiment = get_online_experiment(store, experiment_id)
    if experiment.status == "stopped":
        return experiment
    stopped = replace(experiment, status="stopped", stopped_at=datetime.now(UTC))
    _records(store).put_document(KIND, stopped.id, SPEC_KEY, stopped.to_dict(), stopped.created_at)
    return stopped


# -- outcomes -----------------------------------------------------------------------------


def _outcome_time(value: Any, where: str, earliest: datetime, latest: datetime) -> datetime:
    """An event time in [earliest, latest]; naive means UTC. Checked before the conversion
    to UTC, which overflows near the years 1 and 9999."""
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except (TypeError, ValueError):  # not text, or not a time
        raise ExperimentError(f"{where}: not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not earliest <= moment <= latest:
        raise ExperimentError(
            f"{where}: {value!s} is outside the times this experiment takes, "
            f"{earliest:%Y-%m-%dT%H:%M:%SZ} (a day before it was created) to "
            f"{latest:%Y-%m-%dT%H:%M:%SZ} (a day from now)"
        )
    return as_utc(moment)


def _outcome_values(experiment: OnlineExperiment, rows: Sequence[Mapping[str, Any]]) -> list[float]:
    raw = [row.get("value") for row in rows]
    for i, value in enumerate(raw):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ExperimentError(f"outcomes[{i}].value: must be a number, got {value!r}")
    try:
        values = np.asarray(raw, dtype=np.float64)
    except OverflowError:  # an int beyond float64
        values = np.full(len(raw), np.inf)
    bad = ~(np.abs(values) <= MAX_OUTCOME_MAGNITUDE)  # NaN and infinities too
    if experiment.metric == "proportion":
        bad |= (values != 0) & (values != 1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        wanted = (
            "0 or 1 (a proportion experiment)"
            if experiment.metric == "proportion"
            else f"a finite number between -{MAX_OUTCOME_MAGNITUDE:g} and {MAX_OUTCOME_MAGNITUDE:g}"
        )
        raise ExperimentError(f"outcomes[{i}].value: must be {wanted}, got {raw[i]!r}")
    return cast(list[float], values.tolist())


def record_outcomes(
    store: FeatureStore, experiment_id: str, rows: Sequence[Mapping[str, Any]]
) -> dict[str, int]:
    """Store observed outcomes, each `{"entity": {...}, "value": x, "event_timestamp": t}`
    (time optional: now; else from OUTCOME_TIME_MARGIN before the experiment's creation to as
    long after now; |value| at most MAX_OUTCOME_MAGNITUDE). The arm is recomputed from the
    entity's unit keys, never taken from the caller. All rows or none are stored. Returns how
    many went to each arm."""
    experiment = get_online_experiment(store, experiment_id)
    if experiment.status == "stopped":
        raise ExperimentStoppedError(
            f"experiment {experiment_id!r} is stopped; it takes no more outcomes"
        )
    entities = [row.get("entity") for row in rows]
    units = experiment.unit_keys
    for i, entity in enumerate(entities):
        if not isinstance(entity, Mapping):
            raise ExperimentError(f"outcomes[{i}].entity: give the entity's keys as an object")
        missing = [key for key in units if key not in entity]
        if missing:
            raise ExperimentError(
                f"outcomes[{i}].entity: missing the unit key(s) {missing} (has {list(entity)})"
            )
    columns = {key: [entity[key] for entity in entities] for key in units}  # type: ignore[index]
    keys = entity_keys(columns, units, where="outcomes[{row}].entity.{key}")
    values = _outcome_values(experiment, rows)
    now = datetime.now(UTC)
    earliest, latest = experiment.created_at - OUTCOME_TIME_MARGIN, now + OUTCOME_TIME_MARGIN
    times = [
        now
        if row.get("event_timestamp") is None
        else _outcome_time(
            row["event_timestamp"], f"outcomes[{i}].event_timestamp", earliest, latest
        )
        for i, row in enumerate(rows)
    ]
    treated = assign_arms(experiment, keys)
    arms: list[str] = np.where(treated, "treatment", "control").tolist()
    _records(store).add_outcomes(experiment.id, list(zip(arms, keys, values, times, strict=True)))
    count = int(treated.sum())
    return {"control": len(keys) - count, "treatment": count}
