"""user_activity: what each user has rated, as of each day boundary, point-in-time correct.

Rating count, mean and standard deviation over the last 7, 30 and 90 days and all time;
distinct movies rated; when the user last rated and how long ago that was (at the boundary);
the share of the user's ratings per TMDB genre and the user's mean rating per genre; the mean
log-popularity of the movies rated (each movie's popularity as crawled at or before the rating).
All of it is declared as Aggregations and compiled to DuckDB (cinefeat.transforms.aggregate).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from cinefeat.definitions import Aggregation, FeatureView, Field
from cinefeat.sources import TMDB_GENRE_SLUGS, TMDB_GENRES, USER
from cinefeat.transforms.aggregate import aggregate_events
from cinefeat.types import Float64, Int64, UnixTimestamp

__all__ = ["user_activity", "user_activity_events", "user_activity_features"]

_WINDOWS: dict[str, timedelta | None] = {
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
    "all": None,
}
_STATS = {"count": "Ratings", "mean": "Mean rating", "std": "Standard deviation of ratings"}


def _window_text(label: str) -> str:
    return "over all time" if label == "all" else f"over the last {label[:-1]} days"


def _definition() -> tuple[list[Aggregation], list[Field]]:
    aggregations: list[Aggregation] = []
    fields = [Field("user_id", Int64, "The user")]
    for label, window in _WINDOWS.items():
        for function, text in _STATS.items():
            name = f"rating_{function}_{label}"
            aggregations.append(Aggregation("rating", function, window, name))  # type: ignore[arg-type]
            dtype = Int64 if function == "count" else Float64
            fields.append(Field(name, dtype, f"{text} {_window_text(label)}"))
    aggregations += [
        Aggregation("movie_id", "count_distinct", None, "distinct_movies"),
        Aggregation("event_timestamp", "max", None, "last_rated_at"),
        Aggregation("log_popularity", "mean", None, "mean_log_popularity"),
    ]
    fields += [
        Field("distinct_movies", Int64, "Distinct movies rated, all time"),
        Field("last_rated_at", UnixTimestamp, "Time of the user's latest rating"),
        Field(
            "mean_log_popularity",
            Float64,
            "Mean log1p(popularity) of the movies rated, each as crawled at or before the rating",
        ),
    ]
    for gid, slug in TMDB_GENRE_SLUGS.items():
        share, mean = f"genre_share_{slug}", f"genre_mean_rating_{slug}"
        aggregations += [
            Aggregation(f"is_{slug}", "mean", None, share),
            Aggregation(f"rating_{slug}", "mean", None, mean),
        ]
        fields += [
            Field(share, Float64, f"Share of the user's ratings on {TMDB_GENRES[gid]} movies"),
            Field(mean, Float64, f"Mean rating the user gave {TMDB_GENRES[gid]} movies"),
        ]
    fields.append(
        Field(
            "days_since_last_rating",
            Float64,
            "Days from the latest rating to this row's time (a day boundary)",
        )
    )
    return aggregations, fields


_AGGREGATIONS, _FIELDS = _definition()

user_activity = FeatureView(
    "user_activity",
    [USER],
    _FIELDS,
    aggregations=_AGGREGATIONS,
    ttl=timedelta(0),  # rows are emitted whenever a window changes: the latest is always current
    description="What each user has rated, as of each day boundary (point-in-time correct)",
    tags={"group": "user_activity"},
)


def user_activity_events(
    ratings: pl.DataFrame | pl.LazyFrame, movies: pl.DataFrame | pl.LazyFrame
) -> pl.DataFrame:
    """Ratings (RATINGS_SCHEMA) with the columns the aggregations read: one 0/1 `is_<genre>`
    and one `rating_<genre>` (the rating, or null) per TMDB genre, and `log_popularity` of the
    movie at its latest crawl at or before the rating. A movie's genres are its latest known."""
    movies = movies.lazy()
    genres = movies.sort("snapshot_ts").group_by("movie_id").agg(pl.col("genre_ids").last())
    crawls = movies.select(
        "movie_id",
        pl.col("snapshot_ts").alias("crawled_at"),
        pl.col("popularity").log1p().alias("log_popularity"),
    ).sort("crawled_at")
    events = (
        ratings.lazy()
        .sort("event_timestamp")
        .join_asof(crawls, left_on="event_timestamp", right_on="crawled_at", by="movie_id")
        .join(genres, on="movie_id", how="left")
    )
    in_genre = {
        slug: pl.col("genre_ids").list.contains(gid).fill_null(False)
        for gid, slug in TMDB_GENRE_SLUGS.items()
    }
    return events.select(
        "user_id",
        "movie_id",
        "rating",
        "event_timestamp",
        "log_popularity",
        *(flag.cast(pl.Int8).alias(f"is_{slug}") for slug, flag in in_genre.items()),
        *(
            pl.when(flag).then(pl.col("rating")).alias(f"rating_{slug}")
            for slug, flag in in_genre.items()
        ),
    ).collect()


def user_activity_features(
    ratings: pl.DataFrame | pl.LazyFrame,
    movies: pl.DataFrame | pl.LazyFrame,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """The user_activity rows for `ratings`, at every day boundary in [since, until]."""
    events = user_activity_events(ratings, movies)
    rows = aggregate_events(events, user_activity, since=since, until=until)
    days = (pl.col("event_timestamp") - pl.col("last_rated_at")).dt.total_microseconds()
    derived = (days / 86_400_000_000).alias("days_since_last_rating")
    return rows.with_columns(derived).select(
        [f.name for f in user_activity.schema] + ["event_timestamp"]
    )
