"""The built-in movie-domain definitions and how to compute their rows, in one place."""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from cinefeat.definitions import Entity, FeatureService, FeatureView, OnDemandFeatureView
from cinefeat.sources import MOVIE, USER, source_views
from cinefeat.transforms.movie_basic import movie_basic, movie_basic_features
from cinefeat.transforms.movie_statistical import movie_statistical, movie_statistical_features
from cinefeat.transforms.movie_temporal import movie_temporal, movie_temporal_features
from cinefeat.transforms.movie_text import movie_text, movie_text_features
from cinefeat.transforms.user_activity import user_activity
from cinefeat.transforms.user_movie import user_movie
from cinefeat.transforms.user_recency import user_recency

__all__ = ["MOVIE_GROUPS", "builtin_definitions", "movie_features", "recommender_v1"]

MovieTransform = Callable[[pl.DataFrame | pl.LazyFrame], pl.DataFrame]

# Feature groups computed from canonical TMDB movie snapshots.
MOVIE_GROUPS: dict[str, tuple[FeatureView, MovieTransform]] = {
    "movie_basic": (movie_basic, movie_basic_features),
    "movie_temporal": (movie_temporal, movie_temporal_features),
    "movie_statistical": (movie_statistical, movie_statistical_features),
    "movie_text": (movie_text, movie_text_features),
}

recommender_v1 = FeatureService(
    "recommender_v1",
    [
        movie_basic[["popularity", "vote_average", "vote_count", "genre_count", "rating_tier"]],
        movie_statistical[["weighted_rating", "popularity_pct_rank", "popularity_slope_7d"]],
        movie_temporal[["days_since_release", "is_future_release"]],
        user_activity[["rating_count_30d", "rating_mean_all"]],
        user_recency,
        user_movie,
    ],
    description="Features of a first rating-prediction / ranking model",
)


def movie_features(movies: pl.DataFrame | pl.LazyFrame) -> dict[str, pl.DataFrame]:
    """Every movie feature group's rows for canonical movies (MOVIES_SCHEMA)."""
    frame = movies.collect() if isinstance(movies, pl.LazyFrame) else movies
    return {name: transform(frame) for name, (_, transform) in MOVIE_GROUPS.items()}


def builtin_definitions() -> list[Entity | FeatureView | OnDemandFeatureView | FeatureService]:
    """Entities, raw views, feature groups, the on-demand views and a service."""
    groups = [view for view, _ in MOVIE_GROUPS.values()]
    on_demand = [user_recency, user_movie]
    return [MOVIE, USER, *source_views(), *groups, user_activity, *on_demand, recommender_v1]
