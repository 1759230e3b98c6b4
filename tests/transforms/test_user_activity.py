"""user_activity on a small fixture, computed by hand."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import polars as pl
import pytest

from cinefeat.sources import MOVIES_SCHEMA, RATINGS_SCHEMA
from cinefeat.transforms.user_activity import user_activity, user_activity_features


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=UTC)


def movies() -> pl.DataFrame:
    rows = [
        # movie 10: Drama + Comedy with popularity 9 on Jan 1; Drama only (listed twice, a
        # list repeat counts once) with popularity 99 from Jan 4
        (10, [18, 35], 9.0, at(1, 6)),
        (10, [18, 18], 99.0, at(4, 6)),
        # movie 20: Horror, crawled only on Jan 5 (after the Jan 2 rating: no popularity then)
        (20, [27], 3.0, at(5, 6)),
    ]
    frame = pl.DataFrame(
        {
            "movie_id": [r[0] for r in rows],
            "genre_ids": [r[1] for r in rows],
            "popularity": [r[2] for r in rows],
            "snapshot_ts": [r[3] for r in rows],
        }
    )
    defaults = {name: pl.lit(None, dtype) for name, dtype in MOVIES_SCHEMA.items()}
    return (
        frame.with_columns(**{k: v for k, v in defaults.items() if k not in frame.columns})
        .select(list(MOVIES_SCHEMA))
        .cast(pl.Schema(MOVIES_SCHEMA))
    )


def ratings() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": [1, 1, 1],
            "movie_id": [10, 20, 10],
            "rating": [4.0, 2.0, 5.0],
            "event_timestamp": [at(2), at(2, 18), at(6)],
        },
        schema=RATINGS_SCHEMA,
    )


def test_hand_computed_rows() -> None:
    rows = user_activity_features(ratings(), movies()).sort("event_timestamp")
    assert rows.columns == [f.name for f in user_activity.schema] + ["event_timestamp"]
    # Boundaries: Jan 3 and Jan 7 (day ends), Jan 10 / Feb 1 / Apr 1 would be window expiries
    # of the Jan 2 ratings but lie after the data's last boundary (Jan 7).
    assert rows["event_timestamp"].to_list() == [
        datetime(2024, 1, 3, tzinfo=UTC),
        datetime(2024, 1, 7, tzinfo=UTC),
    ]
    first, second = rows.row(0, named=True), rows.row(1, named=True)
    assert (first["rating_count_7d"], first["rating_mean_7d"]) == (2, 3.0)  # Float32 is exact
    assert first["rating_std_7d"] == pytest.approx(math.sqrt(2), rel=1e-6)
    assert second["rating_count_all"] == 3
    assert second["rating_mean_all"] == pytest.approx(11 / 3, rel=1e-6)
    assert second["distinct_movies"] == 2
    assert second["last_rated_at"] == at(6)
    # Genres as crawled at or before each rating: Jan 2 movie 10 is Drama + Comedy, Jan 6 it
    # is Drama only; movie 20 was not crawled by Jan 2 18:00, so that rating has no genre but
    # still counts in the denominator of the shares.
    assert first["genre_share_drama"] == pytest.approx(1 / 2)
    assert first["genre_share_horror"] == 0.0
    assert second["genre_share_drama"] == pytest.approx(2 / 3)
    assert second["genre_share_comedy"] == pytest.approx(1 / 3)
    assert second["genre_share_horror"] == 0.0
    assert second["genre_share_action"] == 0.0
    assert second["genre_mean_rating_drama"] == 4.5
    assert second["genre_mean_rating_comedy"] == 4.0
    assert second["genre_mean_rating_horror"] is None
    # Popularity as crawled at or before each rating: 9 (Jan 2), none yet (Jan 2 18:00), 99.
    expected = (math.log1p(9) + math.log1p(99)) / 2
    assert second["mean_log_popularity"] == pytest.approx(expected)


def test_features_do_not_read_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    first = user_activity_features(ratings(), movies()).sort("event_timestamp")
    monkeypatch.setattr(time, "time", lambda: 4_000_000_000.0)  # a different "now"
    second = user_activity_features(ratings(), movies()).sort("event_timestamp")
    assert first.equals(second)
