"""user_recency: days since the user's latest rating, at request time, online and offline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from cinefeat import FeatureStore
from cinefeat.sources import MOVIES_SCHEMA, RATINGS_SCHEMA
from cinefeat.transforms import builtin_definitions, user_activity_features

LAST_RATING = datetime(2024, 1, 2, 12, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path) -> FeatureStore:
    (tmp_path / "cinefeat.yaml").write_text("project: recency\n")
    store = FeatureStore(tmp_path)
    store.apply(builtin_definitions())
    ratings = (
        pl.DataFrame(
            {"user_id": [1, 1], "movie_id": [10, 10], "rating": [4.0, 3.0]},
            schema={k: RATINGS_SCHEMA[k] for k in ("user_id", "movie_id", "rating")},
        )
        .with_columns(
            pl.Series(
                "event_timestamp", [LAST_RATING - timedelta(days=3), LAST_RATING]
            ).dt.cast_time_unit("us")
        )
        .select(list(RATINGS_SCHEMA))
        .cast(pl.Schema(RATINGS_SCHEMA))
    )
    movies = pl.DataFrame(schema=MOVIES_SCHEMA)
    store.write_offline(
        "user_activity",
        user_activity_features(ratings, movies, until=datetime(2024, 12, 31, tzinfo=UTC)),
    )
    return store


def test_keeps_counting_while_the_user_is_idle(store: FeatureStore) -> None:
    # user_activity's last row is the Apr 1 expiry of the 90-day window; the recency must not
    # stop there.
    asked = [LAST_RATING + timedelta(days=d) for d in (0.5, 89.5, 200)]
    entity = pl.DataFrame({"user_id": [1, 1, 1, 2], "event_timestamp": [*asked, asked[0]]})
    entity = entity.with_columns(pl.col("event_timestamp").alias("request_ts"))
    got = store.get_historical_features(entity, ["user_recency:days_since_last_rating"])
    # Jan 3 00:00 is the first boundary after the last rating: at +0.5 days it is visible.
    assert got.to_polars()["days_since_last_rating"].to_list() == [0.5, 89.5, 200.0, None]


def test_online_matches_offline(store: FeatureStore) -> None:
    store.materialize_incremental(datetime(2025, 1, 1, tzinfo=UTC))
    request_ts = datetime(2024, 7, 1, tzinfo=UTC)
    online = store.get_online_features(
        ["user_recency:days_since_last_rating"], [{"user_id": 1, "request_ts": request_ts}]
    ).to_dict()
    assert online["days_since_last_rating"] == [(request_ts - LAST_RATING) / timedelta(days=1)]
