"""Daily rating statistics per user and per movie: one snapshot row per entity per active day.

A day's row is stamped at the end of that day (next midnight UTC): that is when the day's
ratings are all known, so a point-in-time join never sees a day before it is over.
"""

from __future__ import annotations

import polars as pl

__all__ = ["daily_movie_stats", "daily_user_stats"]


def _daily(events: pl.DataFrame, key: str) -> pl.DataFrame:
    day_end = (pl.col("event_timestamp").dt.truncate("1d") + pl.duration(days=1)).alias("day_end")
    per_day = (
        events.lazy()
        .with_columns(day_end)
        .group_by(key, "day_end")
        .agg(
            pl.len().alias("day_count"),
            pl.col("rating").sum().alias("day_sum"),
            pl.col("rating").max().alias("day_max"),
        )
        .sort(key, "day_end")
    )
    count = pl.col("day_count").cum_sum().over(key)
    total = pl.col("day_sum").cum_sum().over(key)
    return (
        per_day.with_columns(
            count.cast(pl.Int64).alias("rating_count"),
            (total / count).alias("avg_rating"),
            pl.col("day_count").cast(pl.Int64).alias("ratings_1d"),
            (pl.col("day_sum") / pl.col("day_count")).alias("avg_rating_1d"),
            pl.col("day_max").cum_max().over(key).alias("max_rating"),
        )
        .select(
            key,
            "rating_count",
            "avg_rating",
            "ratings_1d",
            "avg_rating_1d",
            "max_rating",
            pl.col("day_end").alias("event_timestamp"),
        )
        .collect()
    )


def daily_user_stats(events: pl.DataFrame) -> pl.DataFrame:
    """user_id, rating_count, avg_rating (all time to date), ratings_1d, avg_rating_1d (that day),
    max_rating, event_timestamp (end of the day)."""
    return _daily(events, "user_id")


def daily_movie_stats(events: pl.DataFrame) -> pl.DataFrame:
    """movie_id with the same statistics as daily_user_stats, over the movie's ratings."""
    return _daily(events, "movie_id")
