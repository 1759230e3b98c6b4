"""user_activity: what each user has rated, as of each day boundary, point-in-time correct.

Rating count, mean and standard deviation over the last 7, 30 and 90 days and all time;
distinct movies rated; when the user last rated (how long ago is computed at request time, by
user_recency); the share of the user's ratings per TMDB genre and the user's mean rating per
genre; the mean log-popularity of the movies rated. Each rating sees its movie's genres and
popularity as crawled at or before the rating. All of it is declared as Aggregations and
compiled to DuckDB (cinefeat.transforms.aggregate).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from cinefeat.definitions import Aggregation, FeatureView, Field
from cinefeat.sources import TMDB_GENRE_SLUGS, TMDB_GENRES, USER
from cinefeat.transforms.aggregate import aggregate_events
from cinefeat.types import Float32, Float64, Int32, Int64, UnixTimestamp

__all__ = ["user_activity", "user_activity_features"]

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
            # Ratings have two significant digits: Float32 keeps them and halves the memory.
            dtype = Int32 if function == "count" else Float32
            fields.append(Field(name, dtype, f"{text} {_window_text(label)}"))
    aggregations += [
        Aggregation("movie_id", "count_distinct", None, "distinct_movies"),
        Aggregation("event_timestamp", "max", None, "last_rated_at"),
        Aggregation("log_popularity", "mean", None, "mean_log_popularity"),
    ]
    fields += [
        Field("distinct_movies", Int32, "Distinct movies rated, all time"),
        Field("last_rated_at", UnixTimestamp, "Time of the user's latest rating"),
        Field(
            "mean_log_popularity",
            Float64,
            "Mean log1p(popularity) of the movies rated, each as crawled at or before the rating",
        ),
    ]
    # One output per TMDB genre; the genre query runs in long format (see aggregate.py).
    aggregations += [
        Aggregation("rating", "share", None, "genre_share", "genre_ids", TMDB_GENRE_SLUGS),
        Aggregation("rating", "mean", None, "genre_mean_rating", "genre_ids", TMDB_GENRE_SLUGS),
    ]
    for gid, slug in TMDB_GENRE_SLUGS.items():
        share, mean = f"genre_share_{slug}", f"genre_mean_rating_{slug}"
        fields += [
            Field(share, Float32, f"Share of the user's ratings on {TMDB_GENRES[gid]} movies"),
            Field(mean, Float32, f"Mean rating the user gave {TMDB_GENRES[gid]} movies"),
        ]
    return aggregations, fields


_AGGREGATIONS, _FIELDS = _definition()

user_activity = FeatureView(
    "user_activity",
    [USER],
    _FIELDS,
    aggregations=_AGGREGATIONS,
    # No age limit: a row is emitted at every boundary where any window changes (also when
    # ratings drop out of one), so the latest row stays exact however long a user is idle.
    ttl=timedelta(0),
    description="What each user has rated, as of each day boundary (point-in-time correct)",
    tags={"group": "user_activity"},
)


# Each rating sees its movie as last crawled at or before the rating: a later crawl (new
# genres, higher popularity) must not leak into features of earlier days.
_EVENTS_SQL = """
SELECT r.user_id, r.movie_id, r.rating, r.event_timestamp,
       ln(1 + c.popularity) AS log_popularity, c.genre_ids
FROM cf_ratings r
ASOF LEFT JOIN (SELECT movie_id, snapshot_ts, popularity, genre_ids FROM cf_movies) c
  ON r.movie_id = c.movie_id AND r.event_timestamp >= c.snapshot_ts
"""


def user_activity_features(
    ratings: pl.DataFrame | pl.LazyFrame,
    movies: pl.DataFrame | pl.LazyFrame,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> pl.DataFrame:
    """The user_activity rows for `ratings` (RATINGS_SCHEMA), at every day boundary in
    [since, until]. `movies` (MOVIES_SCHEMA crawls) give each movie's genres and popularity as
    crawled at or before each rating; a rating of a movie not crawled yet counts in the totals
    but in no genre."""
    tables = {
        "cf_ratings": ratings.lazy().select("user_id", "movie_id", "rating", "event_timestamp"),
        "cf_movies": movies.lazy().select("movie_id", "snapshot_ts", "popularity", "genre_ids"),
    }
    rows = aggregate_events(
        f"({_EVENTS_SQL})",
        user_activity,
        since=since,
        until=until,
        tables={name: frame.collect() for name, frame in tables.items()},
    )
    return rows.select([f.name for f in user_activity.schema] + ["event_timestamp"])
