"""The entities of the movie domain, the managed views that hold loaded raw data, and the
request data that recommendation-time features read.

`datasets load` writes accepted movies to `tmdb_movies` (one row per movie per snapshot) and
ratings to `rating_events`; feature groups are computed from these.
"""

from __future__ import annotations

import polars as pl

from cinefeat.definitions import Entity, FeatureView, Field, RequestSource
from cinefeat.types import Array, Bool, Float64, Int64, String, UnixTimestamp

__all__ = [
    "MOVIE",
    "RECOMMENDATION_REQUEST",
    "USER",
    "rating_events",
    "source_views",
    "tmdb_movie_rows",
    "tmdb_movies",
]

MOVIE = Entity("movie", ["movie_id"], description="A TMDB movie, by its TMDB id")
USER = Entity("user", ["user_id"], description="A person who rates movies")

# Online: a `request_ts` in each entity row; offline: a column of the entity dataframe,
# usually equal to its event_timestamp.
RECOMMENDATION_REQUEST = RequestSource(
    "request", [Field("request_ts", UnixTimestamp, "When the recommendation is requested")]
)

tmdb_movies = FeatureView(
    "tmdb_movies",
    [MOVIE],
    [
        Field("movie_id", Int64, "TMDB movie id"),
        Field("title", String, "Title, in the crawl's language"),
        Field("original_title", String, "Title in the original language"),
        Field("original_language", String, "ISO 639-1 code of the original language"),
        Field("release_date", UnixTimestamp, "Release date (midnight UTC); null when unknown"),
        Field("genre_ids", Array(Int64), "TMDB genre ids"),
        Field("popularity", Float64, "TMDB popularity score at the snapshot"),
        Field("vote_average", Float64, "Mean TMDB vote (0-10) at the snapshot"),
        Field("vote_count", Int64, "Number of TMDB votes at the snapshot"),
        Field("adult", Bool, "Adult content flag"),
        Field("overview", String, "Plot summary"),
        Field("runtime", Int64, "Minutes; null when unknown"),
        Field("budget", Int64, "USD; null when unknown"),
        Field("revenue", Int64, "USD; null when unknown"),
    ],
    timestamp_field="snapshot_ts",
    online=False,
    description="Raw TMDB movie records, one row per movie per crawl snapshot",
    tags={"layer": "raw"},
)

rating_events = FeatureView(
    "rating_events",
    [USER, MOVIE],
    [
        Field("user_id", Int64, "Rating user"),
        Field("movie_id", Int64, "Rated movie (TMDB id where known)"),
        Field("rating", Float64, "The rating, 0.5 to 5 stars"),
    ],
    online=False,
    description="Raw rating events, one row per rating",
    tags={"layer": "raw"},
)


def source_views() -> list[FeatureView]:
    return [tmdb_movies, rating_events]


def tmdb_movie_rows(movies: pl.DataFrame) -> pl.DataFrame:
    """Canonical movies (MOVIES_SCHEMA) as rows of `tmdb_movies`."""
    # Feature views have no date type: a release date is midnight UTC of that day.
    return movies.with_columns(pl.col("release_date").cast(pl.Datetime("us", "UTC")))
