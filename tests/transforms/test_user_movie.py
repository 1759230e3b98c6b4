"""user_movie on a synthetic world: the same values online and offline, and hand-checked."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import polars as pl
import pytest

from cinefeat import FeatureStore
from cinefeat.sources import TMDB_GENRE_SLUGS
from cinefeat.sources.synthetic import WorldConfig, generate_world
from cinefeat.transforms import builtin_definitions, movie_features, user_activity_features

GENRES = list(TMDB_GENRE_SLUGS.values())


@pytest.fixture(scope="module")
def world_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[FeatureStore, pl.DataFrame]:
    repo = tmp_path_factory.mktemp("repo")
    (repo / "cinefeat.yaml").write_text("project: um\n")
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    world = generate_world(
        WorldConfig(movies=300, users=200, days=20, start=today - timedelta(days=21), seed=3)
    )
    store = FeatureStore(repo)
    store.apply(builtin_definitions())
    for name, frame in movie_features(world.snapshots).items():
        store.write_offline(name, frame)
    store.write_offline("user_activity", user_activity_features(world.ratings, world.snapshots))
    store.materialize_incremental(datetime.now(UTC))
    return store, world.ratings


def test_online_equals_offline(world_store: tuple[FeatureStore, pl.DataFrame]) -> None:
    store, ratings = world_store
    pairs = ratings.select("user_id", "movie_id").unique().sort("user_id", "movie_id").head(40)
    now = datetime.now(UTC)
    features = [
        "user_movie:genre_affinity",
        "user_movie:rating_bias",
        "user_movie:popularity_match",
        "user_movie:is_new_release_for_user",
    ]
    rows = [{**row, "request_ts": now} for row in pairs.to_dicts()]
    online = store.get_online_features(features, rows).to_dict()
    entity = pairs.with_columns(
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("event_timestamp"),
        pl.lit(now).cast(pl.Datetime("us", "UTC")).alias("request_ts"),
    )
    offline = store.get_historical_features(entity, features).to_polars()
    for name in ("genre_affinity", "rating_bias", "popularity_match", "is_new_release_for_user"):
        assert offline[name].to_list() == online[name], name
    assert sum(v is not None for v in online["genre_affinity"]) == len(rows)


def test_values_by_hand(world_store: tuple[FeatureStore, pl.DataFrame]) -> None:
    store, ratings = world_store
    row = ratings.select("user_id", "movie_id").row(0, named=True)
    now = datetime.now(UTC)
    got = store.get_online_features(
        ["user_movie:rating_bias", "user_movie:popularity_match", "user_movie:genre_affinity"],
        [{**row, "request_ts": now}],
    ).to_dict()
    user = store.get_online_features(
        ["user_activity:rating_mean_all", "user_activity:mean_log_popularity"]
        + [f"user_activity:genre_share_{g}" for g in GENRES],
        [row],
    ).to_dict()
    movie = store.get_online_features(
        ["movie_basic:vote_average", "movie_basic:log_popularity"]
        + [f"movie_basic:genre_{g}" for g in GENRES],
        [row],
    ).to_dict()
    expected_bias = user["rating_mean_all"][0] - movie["vote_average"][0] / 2
    assert got["rating_bias"][0] == pytest.approx(expected_bias)
    distance = abs(user["mean_log_popularity"][0] - movie["log_popularity"][0])
    assert got["popularity_match"][0] == pytest.approx(math.exp(-distance))
    affinity = sum(user[f"genre_share_{g}"][0] * movie[f"genre_{g}"][0] for g in GENRES)
    assert got["genre_affinity"][0] == pytest.approx(affinity)
    assert 0 < affinity <= 1 + 1e-6  # the user rated this movie, so some share is its genres


def test_udf_on_hand_built_inputs() -> None:
    from cinefeat.transforms import user_movie_features

    day = datetime(2024, 3, 10, tzinfo=UTC)
    base: dict[str, list[object]] = {
        f"user_activity__genre_share_{g}": [0.0, 0.0, None] for g in GENRES
    } | {f"movie_basic__genre_{g}": [False, False, None] for g in GENRES}
    base["user_activity__genre_share_drama"] = [0.5, 0.5, None]
    base["user_activity__genre_share_comedy"] = [0.25, 0.25, None]
    base["movie_basic__genre_drama"] = [True, False, None]
    base["movie_basic__genre_comedy"] = [True, True, None]
    inputs = pl.DataFrame(
        {
            **base,
            "user_activity__rating_count_all": [4, 4, None],
            "user_activity__rating_mean_all": [4.0, 4.0, None],
            "user_activity__mean_log_popularity": [2.0, 2.0, None],
            "user_activity__last_rated_at": [day, day, None],
            "movie_basic__vote_average": [7.0, 9.0, 5.0],
            "movie_basic__log_popularity": [2.0, 3.0, 1.0],
            # released 2024-03-15 (day 75) and 2024-03-01 (day 61)
            "movie_temporal__release_year": [2024, 2024, 2024],
            "movie_temporal__release_day_of_year": [75, 61, 61],
            "request_ts": [datetime(2024, 3, 20, tzinfo=UTC)] * 3,
        }
    )
    out = user_movie_features(inputs)
    assert out["genre_affinity"].to_list() == [0.75, 0.25, None]
    assert out["rating_bias"].to_list() == [0.5, -0.5, None]
    assert out["popularity_match"].to_list()[:2] == [1.0, pytest.approx(math.exp(-1))]
    assert out["popularity_match"][2] is None
    # Mar 15 is after the last rating (Mar 10) and before the request: new for the user.
    assert out["is_new_release_for_user"].to_list() == [True, False, None]
