"""Where raw data comes from: loaders (TMDB JSON, TMDB-5000 CSV, MovieLens) into canonical
shapes with quarantine, the seeded synthetic generator, and the views raw data is stored in."""

from cinefeat.sources._movielens import load_movielens
from cinefeat.sources._schema import (
    MOVIES_SCHEMA,
    QUARANTINE_SCHEMA,
    RATINGS_SCHEMA,
    TMDB_GENRE_SLUGS,
    TMDB_GENRES,
    LoadResult,
)
from cinefeat.sources._tmdb import SnapshotTime, load_tmdb, load_tmdb_lines, snapshot_time
from cinefeat.sources._tmdb5000 import load_tmdb5000
from cinefeat.sources._views import (
    MOVIE,
    RECOMMENDATION_REQUEST,
    USER,
    rating_events,
    source_views,
    tmdb_movie_rows,
    tmdb_movies,
)
from cinefeat.sources.synthetic import SyntheticConfig, generate_rating_events

__all__ = [
    "MOVIE",
    "MOVIES_SCHEMA",
    "QUARANTINE_SCHEMA",
    "RATINGS_SCHEMA",
    "RECOMMENDATION_REQUEST",
    "TMDB_GENRES",
    "TMDB_GENRE_SLUGS",
    "USER",
    "LoadResult",
    "SnapshotTime",
    "SyntheticConfig",
    "generate_rating_events",
    "load_movielens",
    "load_tmdb",
    "load_tmdb5000",
    "load_tmdb_lines",
    "rating_events",
    "snapshot_time",
    "source_views",
    "tmdb_movie_rows",
    "tmdb_movies",
]
