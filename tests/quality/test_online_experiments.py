"""Online experiments in the registry (creation, sizing, validation, unique names, stop),
the hash assignment (canonical keys, pinned arms, the share over 100k keys, other processes)
and the outcomes' intake and analysis through the store."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from cinefeat import Entity, FeatureService, FeatureStore, FeatureView, Field
from cinefeat.errors import FeatureNotFoundError
from cinefeat.quality import (
    ExperimentError,
    ExperimentNotFoundError,
    ExperimentStoppedError,
    OnlineExperiment,
    OnlineExperimentResult,
    analyze_online_experiment,
    assign_arm,
    create_online_experiment,
    get_online_experiment,
    list_online_experiments,
    record_outcomes,
    stop_online_experiment,
)
from cinefeat.types import Float64, Int64

T0 = datetime(2024, 3, 1, tzinfo=UTC)


@pytest.fixture
def services(store: FeatureStore) -> FeatureStore:
    user = Entity("user", ["user_id"])
    movie = Entity("movie", ["movie_id"])
    users = FeatureView(
        "user_stats",
        [user],
        [Field("user_id", Int64), Field("avg_rating", Float64), Field("rating_count", Int64)],
    )
    movies = FeatureView("movie_stats", [movie], [Field("movie_id", Int64), Field("pop", Float64)])
    store.apply(
        [
            user,
            movie,
            users,
            movies,
            FeatureService("ranker_a", [users[["avg_rating"]], movies]),
            FeatureService("ranker_b", [users[["rating_count"]], movies]),
            FeatureService("users_only", [users]),
        ]
    )
    return store


def spec(**changes: Any) -> OnlineExperiment:
    """An experiment without a registry, for the pure analysis."""
    base = OnlineExperiment(
        id="exp-000000000000",
        name="pure",
        control_service="a",
        treatment_service="b",
        salt="0" * 32,
        metric="mean",
        minimum_detectable_effect=0.2,
        baseline=1.0,
        alpha=0.05,
        power=0.8,
        treatment_share=0.5,
        unit_keys=("user_id",),
        required_control=393,
        required_treatment=393,
        created_at=T0,
    )
    return replace(base, **changes)


def pinned_experiment(store: FeatureStore, name: str) -> OnlineExperiment:
    """A "mean" experiment by user needing 16 outcomes per arm, its salt pinned so the arms
    are known (users 1..10: C T C C T C C C T T)."""
    created = create_online_experiment(
        store, name, "ranker_a", "ranker_b", metric="mean", minimum_detectable_effect=1.0,
        baseline=1.0, unit_keys=["user_id"],
    )  # fmt: skip
    pinned = replace(created, salt="0" * 32)
    store.registry.quality_records().put_document(
        "experiment", pinned.id, "spec", pinned.to_dict(), pinned.created_at
    )
    return pinned


def test_creation_sizes_stores_and_round_trips(services: FeatureStore) -> None:
    experiment = create_online_experiment(
        services,
        "ranker test",
        "ranker_a",
        "ranker_b",
        metric="mean",
        minimum_detectable_effect=0.2,
        baseline=1.0,
        unit_keys=["user_id"],
    )
    assert experiment.required_per_arm == {"control": 393, "treatment": 393}
    assert experiment.id.startswith("exp-") and len(experiment.id) == 16
    assert len(experiment.salt) == 32 and experiment.status == "running"
    assert get_online_experiment(services, experiment.id) == experiment
    assert OnlineExperiment.from_dict(experiment.to_dict()) == experiment
    document = services.registry.quality_records().get_document("experiment", experiment.id, "spec")
    assert document is not None and document.body["mode"] == "online"
    assert [e.id for e in list_online_experiments(services)] == [experiment.id]
    # Default unit: the control service's join keys (sorted); a new salt every time.
    other = create_online_experiment(
        services,
        "pairs",
        "ranker_a",
        "users_only",
        metric="proportion",
        minimum_detectable_effect=0.02,
        baseline=0.1,
    )
    assert other.unit_keys == ("movie_id", "user_id")
    assert other.required_per_arm == {"control": 3841, "treatment": 3841}
    assert other.salt != experiment.salt
    bare = create_online_experiment(
        services,
        "bare",
        "users_only",
        "ranker_b",
        metric="mean",
        minimum_detectable_effect=0.2,
        baseline=1.0,
        unit_keys="user_id",  # one key, not a list of its characters
    )
    assert bare.unit_keys == ("user_id",)
    assert [e.id for e in list_online_experiments(services)] == [bare.id, other.id, experiment.id]


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"name": " "}, "name: give a non-empty name"),
        ({"control_service": "nope"}, "control_service: feature service 'nope'"),
        ({"treatment_service": "ranker_a"}, "treatment_service: must differ"),
        ({"metric": "median"}, "metric: must be 'mean' or 'proportion'"),
        ({"minimum_detectable_effect": -0.1}, "minimum_detectable_effect: must be in"),
        ({"minimum_detectable_effect": math.nan}, "minimum_detectable_effect: must be a finite"),
        ({"baseline": 0}, "baseline: must be in"),
        ({"alpha": 1.0}, "alpha: must be in (0, 1)"),
        ({"power": True}, "power: must be a finite number"),
        ({"treatment_share": 0}, "treatment_share: must be in (0, 1)"),
        ({"unit_keys": ["title"]}, "unit_keys: ['title'] are not join keys"),
        ({"metric": "proportion", "baseline": 0.95}, "minimum_detectable_effect: baseline rate"),
    ],
)
def test_bad_settings_name_the_field(
    services: FeatureStore, changes: dict[str, Any], words: str
) -> None:
    arguments: dict[str, Any] = {
        "name": "x",
        "control_service": "ranker_a",
        "treatment_service": "ranker_b",
        "metric": "mean",
        "minimum_detectable_effect": 0.2,
        "baseline": 1.0,
        **changes,
    }
    with pytest.raises((ExperimentError, FeatureNotFoundError)) as caught:
        create_online_experiment(services, **arguments)
    assert words in str(caught.value)
    assert list_online_experiments(services) == []


def test_names_are_unique_across_both_modes(services: FeatureStore) -> None:
    kwargs: dict[str, Any] = {"metric": "mean", "minimum_detectable_effect": 0.2, "baseline": 1}
    create_online_experiment(services, "first", "ranker_a", "ranker_b", **kwargs)
    with pytest.raises(ExperimentError, match="'first' already exists"):
        create_online_experiment(services, "first", "ranker_b", "ranker_a", **kwargs)
    offline = {"mode": "offline", "name": "offline one", "created_at": T0.isoformat()}
    services.registry.quality_records().put_document(
        "experiment", "exp-aaaaaaaaaaaa", "spec", offline
    )
    with pytest.raises(ExperimentError, match="offline"):
        create_online_experiment(services, "offline one", "ranker_a", "ranker_b", **kwargs)
    with pytest.raises(ExperimentNotFoundError):  # an offline experiment is not online
        get_online_experiment(services, "exp-aaaaaaaaaaaa")


# -- assignment ---------------------------------------------------------------------------


def test_outcomes_are_stored_with_the_computed_arm(services: FeatureStore) -> None:
    experiment = create_online_experiment(
        services,
        "stored",
        "ranker_a",
        "ranker_b",
        metric="mean",
        minimum_detectable_effect=0.5,
        baseline=1.0,
        unit_keys=["user_id"],
    )
    assert experiment.required_per_arm == {"control": 63, "treatment": 63}
    rng = np.random.default_rng(11)
    start = experiment.created_at
    rows = [
        {
            "entity": {"user_id": u, "movie_id": 1},
            "value": float(rng.normal(3.0, 1.0)),
            "arm": "treatment",  # a client's arm is ignored
            "event_timestamp": (start + timedelta(seconds=u)).isoformat(),
        }
        for u in range(200)
    ]
    counts = record_outcomes(services, experiment.id, rows)
    stored = services.registry.quality_records().outcomes(experiment.id)
    assert len(stored) == 200 and counts["control"] + counts["treatment"] == 200
    assert counts["treatment"] == sum(o.arm == "treatment" for o in stored)
    assert all(o.arm == assign_arm(experiment, f"user_id={u}") for u, o in enumerate(stored))
    assert stored[5].entity_key == "user_id=5" and stored[5].at == start + timedelta(seconds=5)

    first = analyze_online_experiment(services, experiment.id)
    assert first.status == "complete" and first.control.analyzed == 63
    saved = services.registry.quality_records().get_document(
        "experiment", experiment.id, "analysis"
    )
    assert saved is not None and OnlineExperimentResult.from_dict(saved.body) == first
    # Later outcomes (even a huge effect) do not move a completed fixed-horizon result.
    later = (start + timedelta(hours=1)).isoformat()
    late = [
        {"entity": {"user_id": u}, "value": 100.0, "event_timestamp": later} for u in range(200)
    ]
    record_outcomes(services, experiment.id, late)
    again = analyze_online_experiment(services, experiment.id, save=False)
    assert (again.effect, again.p_value, again.decision) == (
        first.effect,
        first.p_value,
        first.decision,
    )

    stopped = stop_online_experiment(services, experiment.id)
    assert stopped.status == "stopped" and stopped.stopped_at is not None
    assert get_online_experiment(services, experiment.id).status == "stopped"
    with pytest.raises(ExperimentStoppedError):
        record_outcomes(services, experiment.id, rows[:1])
    assert analyze_online_experiment(services, experiment.id).experiment_status == "stopped"


@pytest.mark.parametrize(
    ("row", "words"),
    [
        ({"entity": {"user_id": 1}, "value": 0.5}, "outcomes[1].value: must be 0 or 1"),
        ({"entity": {"user_id": 1}, "value": math.inf}, "outcomes[1].value: must be 0 or 1"),
        ({"entity": {"user_id": 1}, "value": "1"}, "outcomes[1].value: must be a number"),
        ({"entity": {"user_id": 1}, "value": True}, "outcomes[1].value: must be a number"),
        ({"entity": {"movie_id": 1}, "value": 1}, "outcomes[1].entity: missing the unit key"),
        ({"entity": {"user_id": 1.5}, "value": 1}, "outcomes[1].entity.user_id: a unit key"),
        ({"entity": 3, "value": 1}, "outcomes[1].entity: give the entity's keys"),
        (
            {"entity": {"user_id": 1}, "value": 1, "event_timestamp": "soon"},
            "outcomes[1].event_timestamp: not an ISO 8601 time",
        ),
        (
            {"entity": {"user_id": 1}, "value": 1, "event_timestamp": "9999-12-31T23:59:59"},
            "outcomes[1].event_timestamp: 9999-12-31T23:59:59 is outside the times",
        ),
        (
            {"entity": {"user_id": 1}, "value": 1, "event_timestamp": "0001-01-01T00:00+01:00"},
            "outcomes[1].event_timestamp: 0001-01-01T00:00+01:00 is outside the times",
        ),
        (
            {"entity": {"user_id": 1}, "value": 1, "event_timestamp": "2024-03-01T00:00:00Z"},
            "outcomes[1].event_timestamp: 2024-03-01T00:00:00Z is outside the times",
        ),
    ],
)
def test_bad_outcomes_name_the_row_and_store_nothing(
    services: FeatureStore, row: dict[str, Any], words: str
) -> None:
    experiment = create_online_experiment(
        services,
        "clicks",
        "ranker_a",
        "ranker_b",
        metric="proportion",
        minimum_detectable_effect=0.05,
        baseline=0.2,
        unit_keys=["user_id"],
    )
    good = {"entity": {"user_id": 2}, "value": 1}
    with pytest.raises(ExperimentError) as caught:
        record_outcomes(services, experiment.id, [good, row])
    assert words in str(caught.value)
    assert services.registry.quality_records().outcomes(experiment.id) == []
    with pytest.raises(ExperimentNotFoundError, match="exp-nope"):
        record_outcomes(services, "exp-nope", [good])


def test_ab_test_framework_runs_online_experiments_too(services: FeatureStore) -> None:
    from cinefeat.quality import ABTestFramework

    ab = ABTestFramework(services)
    exp = ab.create_online_experiment(
        "facade", "ranker_a", "ranker_b", metric="proportion",
        minimum_detectable_effect=0.02, baseline=0.1,
    )  # fmt: skip
    assert exp.required_per_arm == {"control": 3_841, "treatment": 3_841}
    result = ab.analyze_online_experiment(exp.id)
    assert (result.status, result.decision) == ("collecting", "inconclusive")
    assert ab.stop_online_experiment(exp.id).status == "stopped"
    listed = {e.experiment_id: e for e in ab.list_experiments()}
    assert listed[exp.id].mode == "online" and listed[exp.id].decision == "inconclusive"


def test_outcome_values_and_times_are_bounded(services: FeatureStore) -> None:
    experiment = pinned_experiment(services, "bounds")
    created, now = experiment.created_at, datetime.now(UTC)
    inside = [created - timedelta(hours=23), now + timedelta(hours=23)]
    rows = [
        {"entity": {"user_id": 1}, "value": 1e12, "event_timestamp": inside[0].isoformat()},
        {"entity": {"user_id": 2}, "value": -1e12, "event_timestamp": inside[1]},
    ]
    assert record_outcomes(services, experiment.id, rows) == {"control": 1, "treatment": 1}
    value_error = r"outcomes\[0\]\.value: must be a finite number between -1e\+12 and 1e\+12"
    for value in (1.0000001e12, -2e12, 1.7e308):
        with pytest.raises(ExperimentError, match=value_error):
            record_outcomes(services, experiment.id, [{"entity": {"user_id": 1}, "value": value}])
    for moment in (created - timedelta(hours=25), now + timedelta(hours=25)):
        row = {"entity": {"user_id": 1}, "value": 1.0, "event_timestamp": moment.isoformat()}
        with pytest.raises(ExperimentError, match=r"outcomes\[0\]\.event_timestamp: .* outside"):
            record_outcomes(services, experiment.id, [row])
    assert len(services.registry.quality_records().outcomes(experiment.id)) == 2


def test_huge_values_stored_before_the_bound_still_analyse_to_json(
    services: FeatureStore,
) -> None:
    experiment = pinned_experiment(services, "overflow")
    records = services.registry.quality_records()
    at = experiment.created_at
    huge = [("control", f"user_id={u}", 1.7e308, at) for u in range(20)]
    records.add_outcomes(experiment.id, [*huge, *[("treatment", "user_id=0", 2.0, at)] * 20])
    result = analyze_online_experiment(services, experiment.id)  # stored: JSON, so no inf
    assert result.status == "complete" and result.decision == "inconclusive"
    assert (result.control.mean, result.control.std) == (None, None)
    assert (result.treatment.mean, result.treatment.std) == (2.0, 0.0)
    assert (result.effect, result.p_value, result.statistic) == (None, None, None)
    assert any("too large: a mean or variance overflows" in m for m in result.messages)
    saved = records.get_document("experiment", experiment.id, "analysis")
    assert saved is not None and OnlineExperimentResult.from_dict(saved.body) == result
