"""Online experiments in the registry (creation, sizing, validation, unique names, stop),
the hash assignment (canonical keys, pinned arms, the share over 100k keys, other processes)
and the outcomes' intake and analysis through the store."""

from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
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
    assign_arms,
    create_online_experiment,
    entity_key,
    get_online_experiment,
    list_online_experiments,
    record_outcomes,
    stop_online_experiment,
)
from cinefeat.types import Float64, Int64
from tests.helpers import run_python

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


def test_the_canonical_entity_key() -> None:
    assert entity_key({"user_id": 1, "movie_id": 550}, ["user_id", "movie_id"]) == (
        "movie_id=550&user_id=1"
    )
    assert entity_key({"user_id": 7, "extra": 3.5}, ["user_id"]) == "user_id=7"
    assert entity_key({"user_id": "a&b=c é"}, ["user_id"]) == "user_id=a%26b%3Dc%20%C3%A9"
    for bad in (True, 1.0, None, [1]):
        with pytest.raises(ExperimentError, match="entity.user_id: a unit key must be"):
            entity_key({"user_id": bad}, ["user_id"])
    with pytest.raises(ExperimentError, match=r"missing the unit key\(s\) \['user_id'\]"):
        entity_key({"movie_id": 1}, ["user_id"])


def test_assignment_is_the_documented_hash_and_stable() -> None:
    experiment = spec()
    # The formula by hand: first 8 bytes of sha256("<salt>:<key>") / 2^64 < share.
    digest = hashlib.sha256(("0" * 32 + ":user_id=2").encode()).digest()
    assert int.from_bytes(digest[:8], "big") / 2**64 == pytest.approx(0.4923613)
    keys = [f"user_id={u}" for u in range(1, 11)]
    expected = ["control", "treatment", "control", "control", "treatment"]
    expected += ["control", "control", "control", "treatment", "treatment"]
    assert [assign_arm(experiment, key) for key in keys] == expected
    assert assign_arms(experiment, keys).tolist() == [arm == "treatment" for arm in expected]
    # Another process (another hash seed) assigns the same arms.
    code = (
        "from tests.quality.test_online_experiments import spec\n"
        "from cinefeat.quality import assign_arm\n"
        "print([assign_arm(spec(), f'user_id={u}') for u in range(1, 11)])"
    )
    result = run_python(code, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(expected)


@pytest.mark.parametrize("share", [0.5, 0.2])
def test_the_treatment_share_holds_over_100k_keys(share: float) -> None:
    experiment = spec(treatment_share=share, salt="5eed" * 8)
    keys = [f"user_id={u}" for u in range(100_000)]
    treated = assign_arms(experiment, keys)
    # Binomial sd at 100k keys is at most 0.0016: 0.005 is three of them.
    assert abs(treated.mean() - share) < 0.005
    assert np.array_equal(treated, assign_arms(experiment, keys))
    sample = [assign_arm(experiment, key) == "treatment" for key in keys[:2_000]]
    assert sample == treated[:2_000].tolist()


# -- through the registry -----------------------------------------------------------------


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
    rows = [
        {
            "entity": {"user_id": u, "movie_id": 1},
            "value": float(rng.normal(3.0, 1.0)),
            "arm": "treatment",  # a client's arm is ignored
            "event_timestamp": (T0 + timedelta(minutes=u)).isoformat(),
        }
        for u in range(200)
    ]
    counts = record_outcomes(services, experiment.id, rows)
    stored = services.registry.quality_records().outcomes(experiment.id)
    assert len(stored) == 200 and counts["control"] + counts["treatment"] == 200
    assert counts["treatment"] == sum(o.arm == "treatment" for o in stored)
    assert all(o.arm == assign_arm(experiment, f"user_id={u}") for u, o in enumerate(stored))
    assert stored[5].entity_key == "user_id=5" and stored[5].at == T0 + timedelta(minutes=5)

    first = analyze_online_experiment(services, experiment.id)
    assert first.status == "complete" and first.control.analyzed == 63
    saved = services.registry.quality_records().get_document(
        "experiment", experiment.id, "analysis"
    )
    assert saved is not None and OnlineExperimentResult.from_dict(saved.body) == first
    # Later outcomes (even a huge effect) do not move a completed fixed-horizon result.
    late = [
        {"entity": {"user_id": u}, "value": 100.0, "event_timestamp": "2024-04-01T00:00:00"}
        for u in range(200)
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
