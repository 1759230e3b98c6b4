"""A served repo with known online values: two users and two movies pushed online (one user
row older than its view's ttl), a feature service, and an on-demand view with request data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from fastapi.testclient import TestClient

from cinefeat import Entity, FeatureService, FeatureStore, FeatureView, Field
from cinefeat.definitions import OnDemandFeatureView, RequestSource
from cinefeat.server import create_app
from cinefeat.types import Array, Float64, Int64, String, UnixTimestamp

TOKEN = "s3cret-token-for-tests"
NOW = datetime.now(UTC).replace(microsecond=0)
FRESH = NOW - timedelta(hours=1)
STALE = NOW - timedelta(days=10)
USER, MOVIE = Entity("user", ["user_id"]), Entity("movie", ["movie_id"])
USERS = FeatureView(
    "user_stats",
    [USER],
    [
        Field("user_id", Int64),
        Field("rating_count", Int64, description="ratings so far"),
        Field("avg_rating", Float64),
        Field("genres", Array(Int64)),
    ],
    ttl=timedelta(days=2),
    owner="recsys@example.com",
    tags={"team": "recsys"},
)
MOVIES = FeatureView(
    "movie_stats",
    [MOVIE],
    [
        Field("movie_id", Int64),
        Field("title", String),
        Field("vote_average", Float64),
        Field("released", UnixTimestamp),
    ],
)
REQUEST = RequestSource("request", [Field("boost", Float64)])


def boosted(inputs: pl.DataFrame) -> pl.DataFrame:
    return inputs.select(
        (pl.col("movie_stats__vote_average") * pl.col("boost")).alias("boosted_vote")
    )


BOOSTED = OnDemandFeatureView(
    "boosted", [MOVIES[["vote_average"]], REQUEST], [Field("boosted_vote", Float64)], boosted
)
SERVICE = FeatureService("ranker", [USERS[["rating_count"]], MOVIES[["title"]]])


# A movie the fixture does not have, as a Feast client pushes it (times as ISO 8601 text).
RAN_PUSH: dict[str, Any] = {
    "feature_view": "movie_stats",
    "df": {
        "movie_id": [300],
        "title": ["Ran"],
        "vote_average": [8.2],
        "released": ["1985-06-01T00:00:00Z"],
        "event_timestamp": [FRESH.isoformat()],
    },
}


def populate(repo: Path) -> None:
    with FeatureStore(repo) as store:
        store.apply([USER, MOVIE, USERS, MOVIES, BOOSTED, SERVICE])
        store.push(
            "user_stats",
            {
                "user_id": [1, 2],
                "rating_count": [10, 20],
                "avg_rating": [4.5, None],
                "genres": [[18, 35], []],
                "event_timestamp": [FRESH, STALE],
            },
            to="online_and_offline",
        )
        store.push(
            "movie_stats",
            {
                "movie_id": [100, 200],
                "title": ["Alien", "Heat"],
                "vote_average": [8.0, 7.5],
                "released": [datetime(1979, 5, 25, tzinfo=UTC), datetime(1995, 12, 15, tzinfo=UTC)],
                "event_timestamp": [FRESH, FRESH],
            },
            to="online_and_offline",
        )
        store.materialize_incremental(NOW)  # watermarks: the views' freshness


@pytest.fixture
def make_repo(tmp_path: Path) -> Callable[[str], Path]:
    def make(config: str = "") -> Path:
        repo = tmp_path / "repo"
        repo.mkdir()
        (repo / "cinefeat.yaml").write_text("project: served\n" + config)
        populate(repo)
        return repo

    return make


@pytest.fixture
def served(make_repo: Callable[[str], Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CINEFEAT_API_TOKEN", raising=False)
    return make_repo(f"server: {{api_token: {TOKEN}, max_entities: 50}}\n")


@pytest.fixture
def client(served: Path) -> Iterator[TestClient]:
    with TestClient(create_app(served)) as test_client:
        yield test_client


def auth(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
