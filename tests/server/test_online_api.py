"""/get-online-features and /push in Feast's shapes, with values known from the fixture."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.server.conftest import FRESH, STALE, auth

EPOCH = "1970-01-01T00:00:00Z"


def stamp(moment: Any) -> str:
    return str(moment.strftime("%Y-%m-%dT%H:%M:%SZ"))


def online(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/get-online-features", json=body)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def test_features_come_back_column_major_with_statuses_and_times(client: TestClient) -> None:
    body = online(
        client,
        features=["user_stats:rating_count", "user_stats:genres", "movie_stats:title"],
        entities={"user_id": [1, 2, 3], "movie_id": [100, 200, 300]},
    )
    assert body["metadata"]["feature_names"] == [
        "user_id",
        "movie_id",
        "rating_count",
        "genres",
        "title",
    ]
    user_ids, movie_ids, counts, genres, titles = body["results"]
    assert user_ids == {
        "values": [1, 2, 3],
        "statuses": ["PRESENT"] * 3,
        "event_timestamps": [EPOCH] * 3,
    }
    assert movie_ids["values"] == [100, 200, 300]
    # User 2's row is older than the view's 2-day ttl; user 3 has none.
    assert counts == {
        "values": [10, None, None],
        "statuses": ["PRESENT", "OUTSIDE_MAX_AGE", "NOT_FOUND"],
        "event_timestamps": [stamp(FRESH), stamp(STALE), EPOCH],
    }
    assert genres["values"] == [[18, 35], None, None]
    assert titles == {
        "values": ["Alien", "Heat", None],
        "statuses": ["PRESENT", "PRESENT", "NOT_FOUND"],
        "event_timestamps": [stamp(FRESH), stamp(FRESH), EPOCH],
    }


def test_a_null_value_is_null_value_not_missing(client: TestClient) -> None:
    # User 1 has an average rating; the fixture pushed None for user 2 (stale anyway), so push
    # a fresh null for user 5.
    push = {
        "feature_view": "user_stats",
        "df": {
            "user_id": [5],
            "rating_count": [3],
            "avg_rating": [None],
            "genres": [[12]],
            "event_timestamp": [stamp(FRESH)],
        },
    }
    assert client.post("/push", json=push, headers=auth()).status_code == 200
    body = online(client, features=["user_stats:avg_rating"], entities={"user_id": [1, 5]})
    assert body["results"][1]["values"] == [4.5, None]
    assert body["results"][1]["statuses"] == ["PRESENT", "NULL_VALUE"]


def test_a_feature_service_and_full_feature_names(client: TestClient) -> None:
    body = online(
        client,
        feature_service="ranker",
        entities={"user_id": [1], "movie_id": [200]},
        full_feature_names=True,
    )
    assert body["metadata"]["feature_names"] == [
        "user_id",
        "movie_id",
        "user_stats__rating_count",
        "movie_stats__title",
    ]
    assert [r["values"] for r in body["results"]] == [[1], [200], [10], ["Heat"]]


def test_on_demand_features_are_computed_from_request_data(client: TestClient) -> None:
    body = online(
        client,
        features=["boosted:boosted_vote"],
        entities={"movie_id": [100, 200], "boost": [2.0, 0.5]},
    )
    assert body["metadata"]["feature_names"] == ["movie_id", "boosted_vote"]
    assert body["results"][1]["values"] == [16.0, 3.75]
    assert body["results"][1]["statuses"] == ["PRESENT", "PRESENT"]


def test_timestamp_features_are_rfc3339(client: TestClient) -> None:
    body = online(client, features=["movie_stats:released"], entities={"movie_id": [100]})
    assert body["results"][1]["values"] == ["1979-05-25T00:00:00Z"]


def test_a_push_is_served_at_once_and_kept_offline(client: TestClient, served: Any) -> None:
    push = {
        "push_source_name": "movie_stats",  # Feast's key; cinefeat reads it as the view's name
        "to": "online_and_offline",
        "df": {
            "movie_id": [300],
            "title": ["Ran"],
            "vote_average": [8.2],
            "released": ["1985-06-01T00:00:00Z"],
            "event_timestamp": [stamp(FRESH)],
        },
    }
    response = client.post("/push", json=push, headers=auth())
    assert response.status_code == 200, response.text
    assert response.json() == {"feature_view": "movie_stats", "rows": 1, "to": "online_and_offline"}
    body = online(client, features=["movie_stats:title"], entities={"movie_id": [300]})
    assert body["results"][1]["values"] == ["Ran"]  # the cache did not hide the new row
    from cinefeat import FeatureStore

    with FeatureStore(served) as store:
        titles = store.read_offline("movie_stats").column("title").to_pylist()
    assert "Ran" in titles


def test_an_older_push_does_not_replace_a_newer_value(client: TestClient) -> None:
    push = {
        "feature_view": "movie_stats",
        "df": {
            "movie_id": [100],
            "title": ["Alien (old)"],
            "vote_average": [1.0],
            "released": ["1979-05-25T00:00:00Z"],
            "event_timestamp": [stamp(STALE)],
        },
    }
    assert client.post("/push", json=push, headers=auth()).status_code == 200
    body = online(client, features=["movie_stats:title"], entities={"movie_id": [100]})
    assert body["results"][1]["values"] == ["Alien"]


def test_a_push_lands_in_the_version_another_process_just_applied(
    client: TestClient, served: Any
) -> None:
    from cinefeat import FeatureStore, FeatureView, Field
    from cinefeat.types import Float64, Int64, UnixTimestamp

    online(client, features=["movie_stats:title"], entities={"movie_id": [100]})  # cached
    with FeatureStore(served) as other:  # a breaking change: titles become numbers
        view = other.get_feature_view("movie_stats")
        schema = [
            Field("movie_id", view.field("movie_id").dtype),
            Field("title", Int64),
            Field("vote_average", Float64),
            Field("released", UnixTimestamp),
        ]
        other.apply([FeatureView("movie_stats", list(view.entities), schema)])
    push = {
        "feature_view": "movie_stats",
        "to": "offline",
        "df": {
            "movie_id": [400],
            "title": [7],
            "vote_average": [8.1],
            "released": ["1952-10-09T00:00:00Z"],
            "event_timestamp": [stamp(FRESH)],
        },
    }
    response = client.post("/push", json=push, headers=auth())
    assert response.status_code == 200, response.text
    with FeatureStore(served) as fresh:
        assert fresh.get_feature_view("movie_stats").version == 2
        assert fresh.read_offline("movie_stats").column("title").to_pylist() == [7]
