"""/metrics (Prometheus text), /health, cache stats and the read-only registry endpoints."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient

from cinefeat.server import create_app

READ = {
    "features": ["user_stats:rating_count", "movie_stats:title"],
    "entities": {"user_id": [1], "movie_id": [100]},
}


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the exposition text."""
    for line in text.splitlines():
        if not line.startswith(name + "{" if labels else name + " "):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split(" ")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no sample {name} {labels} in:\n{text}")


def test_metrics_count_requests_cache_reads_and_freshness(client: TestClient) -> None:
    for _ in range(3):
        assert client.post("/get-online-features", json=READ).status_code == 200
    client.post("/get-online-features", json={"features": ["nope:x"], "entities": {"user_id": [1]}})
    text = client.get("/metrics").text
    count = "cinefeat_http_request_duration_seconds_count"
    assert sample(text, count, endpoint="/get-online-features", status="200", method="POST") == 3
    assert sample(text, count, endpoint="/get-online-features", status="404") == 1
    # The first read missed the cache for both views; the next two hit it.
    assert sample(text, "cinefeat_online_cache_misses_total") == 2
    assert sample(text, "cinefeat_online_cache_hits_total") == 4
    reads = "cinefeat_online_store_read_seconds_count"
    assert sample(text, reads, feature_view="user_stats") == 1
    assert sample(text, reads, feature_view="movie_stats") == 1
    freshness = sample(text, "cinefeat_feature_freshness_seconds", feature_view="user_stats")
    assert 0 <= freshness < 600  # materialized up to "now" when the fixture ran
    assert 'le="0.001"' in text  # millisecond buckets


def test_a_path_with_a_name_is_labelled_by_its_template(client: TestClient) -> None:
    client.get("/api/v1/feature-views/user_stats")
    client.get("/no/such/path")
    text = client.get("/metrics").text
    count = "cinefeat_http_request_duration_seconds_count"
    assert sample(text, count, endpoint="/api/v1/feature-views/{name}", status="200") == 1
    assert sample(text, count, endpoint="unmatched", status="404") == 1


def test_health_and_cache_stats(client: TestClient) -> None:
    health = client.get("/health").json()
    assert health["status"] == "ok" and health["project"] == "served"
    client.post("/get-online-features", json=READ)
    client.post("/get-online-features", json=READ)
    stats = client.get("/api/v1/cache/stats").json()
    assert stats["enabled"] is True
    assert (stats["hits"], stats["misses"]) == (2, 2)


def test_registry_endpoints(client: TestClient) -> None:
    assert [e["name"] for e in client.get("/api/v1/entities").json()] == ["movie", "user"]
    views = {v["name"]: v for v in client.get("/api/v1/feature-views").json()}
    assert set(views) == {"movie_stats", "user_stats"}
    user_stats = client.get("/api/v1/feature-views/user_stats").json()
    assert user_stats["version"] == 1
    assert user_stats["owner"] == "recsys@example.com"
    assert user_stats["tags"] == {"team": "recsys"}
    assert user_stats["join_keys"] == ["user_id"]
    assert user_stats["ttl_seconds"] == 2 * 86400
    assert user_stats["features"][0] == {
        "name": "rating_count",
        "dtype": "Int64",
        "description": "ratings so far",
        "tags": {},
    }
    assert [f["name"] for f in user_stats["features"]] == ["rating_count", "avg_rating", "genres"]
    assert user_stats["versions"] == [
        {"version": 1, "features": ["rating_count", "avg_rating", "genres"]}
    ]
    services = client.get("/api/v1/feature-services").json()
    assert [s["name"] for s in services] == ["ranker"]
    ranker = client.get("/api/v1/feature-services/ranker").json()
    assert ranker["feature_refs"] == ["user_stats:rating_count", "movie_stats:title"]
    assert client.get("/api/v1/feature-services/nope").status_code == 404
    odfvs = client.get("/api/v1/on-demand-feature-views").json()
    assert [o["name"] for o in odfvs] == ["boosted"]


def test_openapi_and_docs_are_served(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert {"/get-online-features", "/push", "/metrics", "/api/v1/feature-views/{name}"} <= set(
        spec["paths"]
    )
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert client.get("/docs").status_code == 200


def test_one_store_round_trip_per_view_even_for_on_demand_inputs(
    make_repo: Callable[[str], Path],
) -> None:
    """boosted_vote reads movie_stats' vote_average, which is also asked for directly: the
    store is still read once per view and request (the cache is off, so every read counts)."""
    with TestClient(create_app(make_repo("cache: {enabled: false}\n"))) as client:
        body = {
            "features": ["movie_stats:vote_average", "boosted:boosted_vote", "movie_stats:title"],
            "entities": {"movie_id": [100, 200], "boost": [2.0, 1.0]},
        }
        answer = client.post("/get-online-features", json=body).json()
        assert answer["metadata"]["feature_names"] == [
            "movie_id",
            "vote_average",
            "boosted_vote",
            "title",
        ]
        assert [r["values"] for r in answer["results"][1:]] == [
            [8.0, 7.5],
            [16.0, 7.5],
            ["Alien", "Heat"],
        ]
        text = client.get("/metrics").text
    reads = "cinefeat_online_store_read_seconds_count"
    assert sample(text, reads, feature_view="movie_stats") == 1


def test_metrics_export_the_latest_quality_monitoring(client: TestClient) -> None:
    # The fixture's materialization ran the monitoring checks: user 2 has no avg_rating.
    text = client.get("/metrics").text
    nulls = "cinefeat_quality_feature_metric"
    labels = {"feature_view": "user_stats", "metric": "null_rate"}
    assert sample(text, nulls, feature="avg_rating", **labels) == 0.5
    assert sample(text, nulls, feature="rating_count", **labels) == 0.0
    fresh = sample(
        text, "cinefeat_quality_view_metric", feature_view="movie_stats", metric="freshness_seconds"
    )
    assert 3600 <= fresh < 4200  # the newest event is an hour old
    assert 0 < sample(text, "cinefeat_quality_score", feature_view="user_stats") < 100
    assert "cinefeat_quality_alerts_firing{" not in text  # no limit on avg_rating's nulls


def test_metrics_count_firing_alerts(make_repo: Callable[[str], Path]) -> None:
    repo = make_repo("quality: {monitoring: {max_null_rate: 0.05}}\n")
    with TestClient(create_app(repo)) as client:
        text = client.get("/metrics").text
    firing = "cinefeat_quality_alerts_firing"
    assert sample(text, firing, feature_view="user_stats", rule="null_rate") == 1


def test_a_removed_view_leaves_the_quality_metrics(make_repo: Callable[[str], Path]) -> None:
    from cinefeat import FeatureStore
    from tests.server.conftest import BOOSTED, MOVIE, MOVIES

    repo = make_repo("quality: {monitoring: {max_null_rate: 0.05}}\n")
    with FeatureStore(repo) as store:
        store.apply([MOVIE, MOVIES, BOOSTED], prune=True)  # user_stats and its service go
    with TestClient(create_app(repo)) as client:
        text = client.get("/metrics").text
    assert 'feature_view="user_stats"' not in text.split("cinefeat_quality_score", 1)[1]
    assert sample(text, "cinefeat_quality_score", feature_view="movie_stats") > 0
    assert "cinefeat_quality_alerts_firing{" not in text
