"""Where raw data comes from: loaders (TMDB JSON, TMDB-5000 CSV, MovieLens) into canonical
shapes with quarantine, the seeded synthetic generator, and the views raw data is stored in."""

from cinefeat.sources._schema import (
    MOVIES_SCHEMA,
    QUARANTINE_SCHEMA,
    RATINGS_SCHEMA,
    TMDB_GENRES,
    LoadResult,
    empty_quarantine,
)
from cinefeat.sources._views import MOVIE, USER, rating_events, source_views, tmdb_movies
from cinefeat.sources.synthetic import SyntheticConfig, generate_rating_events

__all__ = [
    "MOVIE",
    "MOVIES_SCHEMA",
    "QUARANTINE_SCHEMA",
    "RATINGS_SCHEMA",
    "TMDB_GENRES",
    "USER",
    "LoadResult",
    "SyntheticConfig",
    "empty_quarantine",
    "generate_rating_events",
    "rating_events",
    "source_views",
    "tmdb_movies",
]
