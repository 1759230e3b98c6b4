"""The error contract: bad input gets a 4xx with a JSON body that names the problem, and a
refused write writes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.conftest import FRESH, auth

GOOD_PUSH: dict[str, Any] = {
    "feature_view": "user_stats",
    "df": {
        "user_id": [7, 8],
        "rating_count": [1, 2],
        "avg_rating": [3.0, 4.0],
        "genres": [[1], [2]],
        "event_timestamp": [FRESH.isoformat()] * 2,
    },
}


def post(client: TestClient, path: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
    response = client.post(path, json=body, **kwargs)
    assert response.headers["content-type"].startswith("application/json")
    return response.status_code, response.json()


@pytest.mark.parametrize(
    ("features", "named"),
    [
        (["nope:x"], "feature view 'nope'"),
        (["user_stats:nope"], "no feature 'nope'"),
        ("no_service", "feature service 'no_service'"),
    ],
)
def test_unknown_names_are_404_naming_them(client: TestClient, features: Any, named: str) -> None:
    key = "feature_service" if isinstance(features, str) else "features"
    status, body = post(
        client, "/get-online-features", {key: features, "entities": {"user_id": [1]}}
    )
    assert status == 404
    assert named in body["detail"]


@pytest.mark.parametrize(
    ("body", "loc", "words"),
    [
        ({"features": ["user_stats:rating_count"]}, ["body", "entities"], "Field required"),
        (
            {"features": "user_stats:rating_count", "entities": {"user_id": [1]}},
            ["body", "features"],
            "list",
        ),
        (
            {"features": ["user_stats:rating_count"], "entities": {"user_id": 1}},
            ["body", "entities", "user_id"],
            "list",
        ),
        (
            {"features": ["user_stats:rating_count"], "entities": {}},
            ["body", "entities"],
            "at least one join key",
        ),
        (
            {
                "features": ["user_stats:rating_count"],
                "entities": {"user_id": [1], "movie_id": [1, 2]},
            },
            ["body", "entities"],
            "user_id has 1, movie_id has 2",
        ),
        (
            {"entities": {"user_id": [1]}},
            ["body"],
            "exactly one of `features` and `feature_service`",
        ),
        (
            {
                "features": ["user_stats:rating_count"],
                "entities": {"user_id": [1]},
                "full_feature_names": "maybe",
            },
            ["body", "full_feature_names"],
            "bool",
        ),
    ],
)
def test_malformed_bodies_are_422_with_the_field_path(
    client: TestClient, body: Any, loc: list[str], words: str
) -> None:
    status, answer = post(client, "/get-online-features", body)
    assert status == 422
    errors = answer["detail"]
    assert any(e["loc"][: len(loc)] == loc and words in e["msg"] for e in errors), errors


def test_not_json_is_422(client: TestClient) -> None:
    response = client.post(
        "/get-online-features", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["type"] == "json_invalid"


def test_a_wrongly_typed_entity_key_is_422(client: TestClient) -> None:
    status, body = post(
        client,
        "/get-online-features",
        {"features": ["user_stats:rating_count"], "entities": {"user_id": ["one"]}},
    )
    assert status == 422
    assert "entity key 'user_id' must be an integer, got 'one'" in body["detail"]


def test_a_missing_join_key_is_422(client: TestClient) -> None:
    status, body = post(
        client,
        "/get-online-features",
        {"features": ["user_stats:rating_count"], "entities": {"movie_id": [1]}},
    )
    assert status == 422
    assert "user_id" in body["detail"]


def test_missing_request_data_for_on_demand_features_is_422(client: TestClient) -> None:
    status, body = post(
        client,
        "/get-online-features",
        {"features": ["boosted:boosted_vote"], "entities": {"movie_id": [100]}},
    )
    assert status == 422
    assert "'boost'" in body["detail"]


def test_too_many_entities_is_413(client: TestClient) -> None:
    status, body = post(
        client,
        "/get-online-features",
        {"features": ["user_stats:rating_count"], "entities": {"user_id": list(range(51))}},
    )
    assert status == 413
    assert "at most 50" in body["detail"]
    status, _ = post(
        client,
        "/get-online-features",
        {"features": ["user_stats:rating_count"], "entities": {"user_id": list(range(50))}},
    )
    assert status == 200


def stored_users(client: TestClient) -> list[Any]:
    _, body = post(
        client,
        "/get-online-features",
        {"features": ["user_stats:rating_count"], "entities": {"user_id": [7, 8]}},
    )
    return list(body["results"][1]["values"])


@pytest.mark.parametrize(
    ("change", "status", "words"),
    [
        ({"rating_count": ["one", "two"]}, 422, "column 'rating_count': expected Int64"),
        ({"rating_count": [1, "two"]}, 422, "df.rating_count: the values do not share one type"),
        ({"event_timestamp": ["yesterday", "today"]}, 422, "df.event_timestamp: not an ISO 8601"),
        ({"extra_column": [1, 2]}, 422, "extra_column"),
        ({"rating_count": [1]}, 422, "same length"),
    ],
)
def test_a_push_that_does_not_match_the_view_writes_nothing(
    client: TestClient, change: dict[str, Any], status: int, words: str
) -> None:
    body = {**GOOD_PUSH, "df": {**GOOD_PUSH["df"], **change}}
    got, answer = post(client, "/push", body, headers=auth())
    assert got == status
    assert words in str(answer["detail"])
    assert stored_users(client) == [None, None]


def test_a_push_missing_a_column_writes_nothing(client: TestClient) -> None:
    df = {k: v for k, v in GOOD_PUSH["df"].items() if k != "avg_rating"}
    status, answer = post(client, "/push", {**GOOD_PUSH, "df": df}, headers=auth())
    assert status == 422
    assert "avg_rating" in answer["detail"]
    assert stored_users(client) == [None, None]


def test_a_push_to_an_unknown_view_is_404(client: TestClient) -> None:
    status, answer = post(client, "/push", {**GOOD_PUSH, "feature_view": "nope"}, headers=auth())
    assert status == 404
    assert "'nope'" in answer["detail"]


def test_a_push_names_exactly_one_target(client: TestClient) -> None:
    body = {**GOOD_PUSH, "push_source_name": "user_stats"}
    status, answer = post(client, "/push", body, headers=auth())
    assert status == 422
    assert "exactly one of `push_source_name` and `feature_view`" in str(answer["detail"])


def test_the_good_push_itself_is_accepted(client: TestClient) -> None:
    status, _ = post(client, "/push", GOOD_PUSH, headers=auth())
    assert status == 200
    assert stored_users(client) == [1, 2]


def test_unknown_paths_and_methods_are_json_4xx(client: TestClient) -> None:
    assert client.get("/nope").status_code == 404
    assert client.get("/nope").json() == {"detail": "Not Found"}
    assert client.get("/get-online-features").status_code == 405
    assert client.get("/api/v1/feature-views/nope").status_code == 404
    assert "'nope'" in client.get("/api/v1/feature-views/nope").json()["detail"]


@pytest.mark.parametrize("key", [2**63, -(2**63) - 1])
def test_an_entity_key_beyond_64_bits_is_422(client: TestClient, key: int) -> None:
    status, body = post(
        client,
        "/get-online-features",
        {"features": ["user_stats:rating_count"], "entities": {"user_id": [key]}},
    )
    assert status == 422
    assert "must fit in 64 bits" in body["detail"]


@pytest.mark.parametrize("boost", ["x", [[1]], 10**20])
def test_request_data_of_the_wrong_type_is_422(client: TestClient, boost: Any) -> None:
    status, body = post(
        client,
        "/get-online-features",
        {"features": ["boosted:boosted_vote"], "entities": {"movie_id": [100], "boost": [boost]}},
    )
    assert status == 422
    assert "boost" in str(body["detail"])  # by the body's schema, or by the view's dtype


@pytest.mark.parametrize(
    "raw",
    [
        b'{"features": ["user_stats:rating_count"], "entities": {"user_id": ["\\ud800"]}}',
        b'{"features": ["user_stats:\\ud800"], "entities": {"user_id": [1]}}',
    ],
)
def test_text_that_is_not_unicode_is_422(client: TestClient, raw: bytes) -> None:
    response = client.post(
        "/get-online-features", content=raw, headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "not valid Unicode" in response.text


def test_a_push_with_a_lone_surrogate_writes_nothing(client: TestClient) -> None:
    raw = (
        b'{"feature_view": "user_stats", "df": {"user_id": [7], "rating_count": [1],'
        b' "avg_rating": [1.0], "genres": [[1]], "event_timestamp": ["2026-01-01T00:00:00Z"],'
        b' "\\udc80": [1]}}'
    )
    response = client.post(
        "/push", content=raw, headers={"content-type": "application/json", **auth()}
    )
    assert response.status_code == 422
    assert stored_users(client) == [None, None]


@pytest.mark.parametrize("when", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_times_outside_the_years_1_to_9999_are_422(client: TestClient, when: str) -> None:
    df = {**GOOD_PUSH["df"], "event_timestamp": [when, when]}
    status, body = post(client, "/push", {**GOOD_PUSH, "df": df}, headers=auth())
    assert status == 422 and "years 1 to 9999" in body["detail"]
    assert stored_users(client) == [None, None]
    status, body = post(client, "/materialize-incremental", {"end_ts": when}, headers=auth())
    assert status == 422 and "end_ts" in body["detail"]
