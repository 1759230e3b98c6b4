"""Shared fixtures: a fresh repo per test and the small user/movie definitions most tests use."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from cinefeat import Entity, FeatureService, FeatureStore, FeatureView, Field
from cinefeat.types import Array, Float64, Int64, String


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    (path / "cinefeat.yaml").write_text("project: test_project\n", encoding="utf-8")
    return path


@pytest.fixture
def store(repo: Path) -> Iterator[FeatureStore]:
    feature_store = FeatureStore(repo)
    yield feature_store
    feature_store.close()


@pytest.fixture
def user() -> Entity:
    return Entity("user", ["user_id"], description="a user")


@pytest.fixture
def movie() -> Entity:
    return Entity("movie", ["movie_id"], description="a movie")


@pytest.fixture
def user_stats(user: Entity) -> FeatureView:
    return FeatureView(
        "user_stats",
        [user],
        [
            Field("user_id", Int64),
            Field("rating_count", Int64),
            Field("avg_rating", Float64),
            Field("genres", Array(Int64)),
        ],
        ttl=timedelta(days=2),
    )


@pytest.fixture
def movie_stats(movie: Entity) -> FeatureView:
    return FeatureView(
        "movie_stats",
        [movie],
        [Field("movie_id", Int64), Field("title", String), Field("rating_count", Int64)],
    )


@pytest.fixture
def service(user_stats: FeatureView, movie_stats: FeatureView) -> FeatureService:
    return FeatureService("ranker", [user_stats[["rating_count"]], movie_stats[["title"]]])


@pytest.fixture
def applied(
    store: FeatureStore,
    user: Entity,
    movie: Entity,
    user_stats: FeatureView,
    movie_stats: FeatureView,
    service: FeatureService,
) -> FeatureStore:
    store.apply([user, movie, user_stats, movie_stats, service])
    return store
