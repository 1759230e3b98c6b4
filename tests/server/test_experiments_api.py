"""Online experiments over REST, in process: experiment-aware /get-online-features (each entity
row gets its arm's service), POST /experiments/{id}/outcomes, the experiment reads and every
error as a 4xx JSON answer. The experiment's salt is pinned so the arms are known."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cinefeat import FeatureService, FeatureStore
from cinefeat.quality import (
    OnlineExperiment,
    assign_arm,
    create_online_experiment,
    entity_key,
    stop_online_experiment,
)
from cinefeat.server import create_app
from tests.server.conftest import FRESH, MOVIES, TOKEN, USERS, auth

# With this salt and share 0.5, users 1..10 are: C T C C T C C C T T.
SALT = "0" * 32
SERVICE_B = FeatureService("ranker_b", [USERS[["avg_rating"]], MOVIES[["title"]]])
EPOCH = "1970-01-01T00:00:00Z"


@pytest.fixture
def ab_repo(make_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CINEFEAT_API_TOKEN", raising=False)
    # No spec caching in the server (cache_ttl 0): a stop is seen by the next request.
    return make_repo(
        f"server: {{api_token: {TOKEN}, max_entities: 50, max_push_rows: 5}}\n"
        "registry: {cache_ttl_seconds: 0}\n"
    )


@pytest.fixture
def experiment(ab_repo: Path) -> OnlineExperiment:
    with FeatureStore(ab_repo) as store:
        store.apply([SERVICE_B])
        store.push(
            "user_stats",
            {
                "user_id": [5],
                "rating_count": [7],
                "avg_rating": [3.0],
                "genres": [[18]],
                "event_timestamp": [FRESH],
            },
        )
        created = create_online_experiment(
            store,
            "ranker b",
            "ranker",
            "ranker_b",
            metric="mean",
            minimum_detectable_effect=0.5,
            baseline=1.0,
            unit_keys=["user_id"],
        )
        pinned = replace(created, salt=SALT)
        store.registry.quality_records().put_document(
            "experiment", pinned.id, "spec", pinned.to_dict(), pinned.created_at
        )
    return pinned


@pytest.fixture
def client(ab_repo: Path, experiment: OnlineExperiment) -> Iterator[TestClient]:
    with TestClient(create_app(ab_repo)) as test_client:
        yield test_client


def post(client: TestClient, path: str, body: Any, token: str | None = TOKEN) -> Any:
    response = client.post(path, json=body, headers=auth(token) if token else {})
    assert response.headers["content-type"] == "application/json"
    return response.status_code, response.json()


def test_the_pinned_arms_are_assign_arms(experiment: OnlineExperiment) -> None:
    arms = [assign_arm(experiment, entity_key({"user_id": u}, ["user_id"])) for u in (1, 2, 3, 5)]
    assert arms == ["control", "treatment", "control", "treatment"]


@pytest.mark.parametrize(("user", "service"), [(1, "ranker"), (2, "ranker_b")])
def test_a_single_entity_gets_exactly_its_arms_service(
    client: TestClient, experiment: OnlineExperiment, user: int, service: str
) -> None:
    entities = {"user_id": [user], "movie_id": [100]}
    status, body = post(
        client, "/get-online-features", {"experiment": experiment.id, "entities": entities}
    )
    assert status == 200, body
    _, direct = post(
        client, "/get-online-features", {"feature_service": service, "entities": entities}
    )
    arm = "control" if service == "ranker" else "treatment"
    assert body["metadata"] == {**direct["metadata"], "experiment_id": experiment.id, "arms": [arm]}
    assert body["results"] == direct["results"]


def test_a_batch_gets_each_rows_arm_and_the_union_of_features(
    client: TestClient, experiment: OnlineExperiment
) -> None:
    request = {
        "experiment": experiment.id,
        "entities": {"user_id": [1, 2, 5, 3], "movie_id": [100, 200, 100, 300]},
    }
    status, body = post(client, "/get-online-features", request)
    assert status == 200, body
    assert body["metadata"]["arms"] == ["control", "treatment", "treatment", "control"]
    assert body["metadata"]["feature_names"] == [
        "user_id",
        "movie_id",
        "rating_count",  # control's
        "title",  # both arms'
        "avg_rating",  # treatment's
    ]
    user_ids, movie_ids, counts, titles, ratings = body["results"]
    assert user_ids["values"] == [1, 2, 5, 3] and movie_ids["values"] == [100, 200, 100, 300]
    assert counts["values"] == [10, None, None, None]
    assert counts["statuses"] == ["PRESENT", "NOT_REQUESTED", "NOT_REQUESTED", "NOT_FOUND"]
    assert titles["values"] == ["Alien", "Heat", "Alien", None]
    assert titles["statuses"] == ["PRESENT", "PRESENT", "PRESENT", "NOT_FOUND"]
    # User 2's row is older than the view's ttl; user 5's was pushed fresh.
    assert ratings["values"] == [None, None, 3.0, None]
    assert ratings["statuses"] == ["NOT_REQUESTED", "OUTSIDE_MAX_AGE", "PRESENT", "NOT_REQUESTED"]
    assert ratings["event_timestamps"][0] == EPOCH and ratings["event_timestamps"][2] != EPOCH
    # Deterministic: the same request, the same answer.
    assert post(client, "/get-online-features", request)[1] == body


def test_a_stopped_experiment_serves_control_to_everyone(
    client: TestClient, ab_repo: Path, experiment: OnlineExperiment
) -> None:
    with FeatureStore(ab_repo) as store:
        stop_online_experiment(store, experiment.id)
    entities = {"user_id": [1, 2, 5], "movie_id": [100, 200, 100]}
    _, body = post(
        client, "/get-online-features", {"experiment": experiment.id, "entities": entities}
    )
    _, direct = post(
        client, "/get-online-features", {"feature_service": "ranker", "entities": entities}
    )
    assert body["metadata"]["arms"] == ["control"] * 3
    assert body["results"] == direct["results"]
    status, answer = post(
        client,
        f"/experiments/{experiment.id}/outcomes",
        {"outcomes": [{"entity": {"user_id": 1}, "value": 4.0}]},
    )
    assert status == 409 and "stopped" in answer["detail"]


@pytest.mark.parametrize(
    ("body", "status", "words"),
    [
        ({"experiment": "exp-nope", "entities": {"user_id": [1]}}, 404, "exp-nope"),
        ({"experiment": "{id}", "entities": {"movie_id": [1]}}, 422, "unit key(s) ['user_id']"),
        ({"experiment": "{id}", "entities": {"user_id": [1.5]}}, 422, "entities.user_id[0]"),
        ({"experiment": "{id}", "entities": {"user_id": list(range(51))}}, 413, "at most 50"),
    ],
)
def test_bad_experiment_reads_are_4xx_json(
    client: TestClient, experiment: OnlineExperiment, body: dict[str, Any], status: int, words: str
) -> None:
    body = {**body, "experiment": body["experiment"].replace("{id}", experiment.id)}
    got, answer = post(client, "/get-online-features", body)
    assert got == status and words in str(answer["detail"])


def test_experiment_and_a_feature_list_together_are_422(
    client: TestClient, experiment: OnlineExperiment
) -> None:
    body = {"experiment": experiment.id, "feature_service": "ranker", "entities": {"user_id": [1]}}
    status, answer = post(client, "/get-online-features", body)
    assert status == 422
    assert answer["detail"][0]["loc"] == ["body"]
    assert (
        "exactly one of `features` and `feature_service` (or an `experiment` id)"
        in (answer["detail"][0]["msg"])
    )


def test_outcomes_are_stored_with_the_server_computed_arm(
    client: TestClient, ab_repo: Path, experiment: OnlineExperiment
) -> None:
    earlier = (experiment.created_at - timedelta(hours=1)).isoformat()  # a client's clock
    outcomes = [
        {"entity": {"user_id": 1, "movie_id": 100}, "value": 4.5, "arm": "treatment"},
        {"entity": {"user_id": 2}, "value": 3, "event_timestamp": earlier},
        {"entity": {"user_id": 5}, "value": 2.5},
    ]
    status, answer = post(client, f"/experiments/{experiment.id}/outcomes", {"outcomes": outcomes})
    assert status == 200, answer
    assert answer == {
        "experiment_id": experiment.id,
        "recorded": 3,
        "arms": {"control": 1, "treatment": 2},
    }
    with FeatureStore(ab_repo) as store:
        stored = store.registry.quality_records().outcomes(experiment.id)
    by_key = {o.entity_key: (o.arm, o.value) for o in stored}
    # User 1 is control whatever the client said.
    assert by_key == {
        "user_id=1": ("control", 4.5),
        "user_id=2": ("treatment", 3.0),
        "user_id=5": ("treatment", 2.5),
    }
    assert stored[0].entity_key == "user_id=2"  # oldest first by event time

    listed = client.get("/experiments").json()
    assert [e["id"] for e in listed] == [experiment.id]
    assert listed[0]["required_per_arm"] == {"control": 63, "treatment": 63}
    detail = client.get(f"/experiments/{experiment.id}").json()
    assert detail["experiment"]["name"] == "ranker b"
    analysis = detail["analysis"]
    assert analysis["status"] == "collecting" and analysis["decision"] == "inconclusive"
    assert analysis["control"]["outcomes"] == 1 and analysis["treatment"]["outcomes"] == 2
    assert analysis["p_value"] is None


@pytest.mark.parametrize(
    ("outcomes", "status", "where"),
    [
        ([{"entity": {"user_id": 1}, "value": "4.5"}], 422, ["body", "outcomes", 0, "value"]),
        ([{"entity": {"user_id": 1}, "value": True}], 422, ["body", "outcomes", 0, "value"]),
        ([{"entity": {"user_id": 1}, "value": 10**400}], 422, ["body", "outcomes", 0, "value"]),
        ([{"entity": {"user_id": 1}}], 422, ["body", "outcomes", 0, "value"]),
        ([{"value": 1.0}], 422, ["body", "outcomes", 0, "entity"]),
        ([], 422, ["body", "outcomes"]),
        ([{"entity": {"movie_id": 1}, "value": 1.0}], 422, "outcomes[0].entity: missing"),
        ([{"entity": {"user_id": 1.5}, "value": 1.0}], 422, "outcomes[0].entity.user_id"),
        (
            [{"entity": {"user_id": 1}, "value": 1.0, "event_timestamp": "later"}],
            422,
            "outcomes[0].event_timestamp: not an ISO 8601 time",
        ),
        ([{"entity": {"user_id": u}, "value": 1.0} for u in range(6)], 413, "at most 5"),
        (
            [{"entity": {"user_id": 1}, "value": 1.0, "event_timestamp": "9999-12-31T23:59:59"}],
            422,
            "outcomes[0].event_timestamp: 9999-12-31T23:59:59 is outside the times this "
            "experiment takes",
        ),
        (
            [{"entity": {"user_id": 1}, "value": 1.0, "event_timestamp": "2024-03-01T12:00Z"}],
            422,
            "outcomes[0].event_timestamp: 2024-03-01T12:00Z is outside",
        ),
        (
            [{"entity": {"user_id": 1}, "value": 1.0}, {"entity": {"user_id": 2}, "value": 2e12}],
            422,
            "outcomes[1].value: must be a finite number between -1e+12 and 1e+12, "
            "got 2000000000000.0",
        ),
    ],
)
def test_bad_outcomes_are_4xx_json_naming_the_field(
    client: TestClient,
    ab_repo: Path,
    experiment: OnlineExperiment,
    outcomes: list[Any],
    status: int,
    where: Any,
) -> None:
    got, answer = post(client, f"/experiments/{experiment.id}/outcomes", {"outcomes": outcomes})
    assert got == status, answer
    if isinstance(where, list):
        assert any(e["loc"] == where for e in answer["detail"]), answer
    else:
        assert where in answer["detail"]
    with FeatureStore(ab_repo) as store:
        assert store.registry.quality_records().outcomes(experiment.id) == []


def test_non_finite_and_non_binary_outcomes_are_422(
    client: TestClient, ab_repo: Path, experiment: OnlineExperiment
) -> None:
    path = f"/experiments/{experiment.id}/outcomes"
    raw = '{"outcomes": [{"entity": {"user_id": 1}, "value": NaN}]}'  # Python's JSON extension
    response = client.post(
        path, content=raw, headers={**auth(), "content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "outcomes", 0, "value"]
    with FeatureStore(ab_repo) as store:
        clicks = create_online_experiment(
            store,
            "clicks",
            "ranker",
            "ranker_b",
            metric="proportion",
            minimum_detectable_effect=0.05,
            baseline=0.2,
            unit_keys=["user_id"],
        )
    body = {
        "outcomes": [
            {"entity": {"user_id": 1}, "value": 1},
            {"entity": {"user_id": 2}, "value": 0.5},
        ]
    }
    status, answer = post(client, f"/experiments/{clicks.id}/outcomes", body)
    assert status == 422 and "outcomes[1].value: must be 0 or 1" in answer["detail"]


def test_outcomes_need_the_token_and_a_known_experiment(
    client: TestClient, experiment: OnlineExperiment
) -> None:
    body = {"outcomes": [{"entity": {"user_id": 1}, "value": 4.0}]}
    path = f"/experiments/{experiment.id}/outcomes"
    assert post(client, path, body, token=None)[0] == 401
    assert post(client, path, body, token="wrong")[0] == 403
    status, answer = post(client, "/experiments/exp-000000000000/outcomes", body)
    assert status == 404 and "exp-000000000000" in answer["detail"]
    missing = client.get("/experiments/exp-000000000000")
    assert missing.status_code == 404 and "exp-000000000000" in missing.json()["detail"]


def test_experiment_reads_follow_auth_reads(
    make_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CINEFEAT_API_TOKEN", raising=False)
    repo = make_repo(f"server: {{api_token: {TOKEN}, auth_reads: true}}\n")
    with TestClient(create_app(repo)) as locked:
        assert locked.get("/experiments").status_code == 401
        assert locked.get("/experiments", headers=auth()).json() == []
        body = {"experiment": "exp-000000000000", "entities": {"user_id": [1]}}
        assert locked.post("/get-online-features", json=body).status_code == 401


def test_huge_outcomes_are_refused_and_the_analysis_stays_json(
    client: TestClient, ab_repo: Path, experiment: OnlineExperiment
) -> None:
    path = f"/experiments/{experiment.id}/outcomes"
    huge = {"outcomes": [{"entity": {"user_id": u}, "value": 1.7e308} for u in range(1, 5)]}
    status, answer = post(client, path, huge)
    assert status == 422 and answer["detail"].startswith("outcomes[0].value: must be a finite")
    bounded = {"outcomes": [{"entity": {"user_id": u}, "value": 1e12} for u in range(1, 5)]}
    assert post(client, path, bounded)[0] == 200
    analysis = client.get(f"/experiments/{experiment.id}").json()["analysis"]
    # Users 1..4 are C T C C: the control mean and std of three 1e12s are exact.
    assert (analysis["control"]["mean"], analysis["control"]["std"]) == (1e12, 0.0)
    assert analysis["treatment"]["outcomes"] == 1 and analysis["treatment"]["std"] is None
