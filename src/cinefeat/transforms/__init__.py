"""Feature engineering: raw movie snapshots and rating events in, feature rows out.

Each feature group is a FeatureView (schema and a description on every field) plus a
vectorised function computing its rows: movie_basic, movie_temporal, movie_statistical and
movie_text from canonical TMDB movies; user_activity from ratings (time-window Aggregations
compiled to DuckDB); user_recency and user_movie on demand, at request time.
"""

from cinefeat.transforms.aggregate import (
    CompiledAggregations,
    aggregate_events,
    compile_aggregations,
)
from cinefeat.transforms.catalog import (
    MOVIE_GROUPS,
    builtin_definitions,
    movie_features,
    recommender_v1,
)
from cinefeat.transforms.movie_basic import movie_basic, movie_basic_features
from cinefeat.transforms.movie_statistical import movie_statistical, movie_statistical_features
from cinefeat.transforms.movie_temporal import movie_temporal, movie_temporal_features
from cinefeat.transforms.movie_text import movie_text, movie_text_features
from cinefeat.transforms.rating_stats import daily_movie_stats, daily_user_stats
from cinefeat.transforms.user_activity import user_activity, user_activity_features
from cinefeat.transforms.user_movie import user_movie, user_movie_features
from cinefeat.transforms.user_recency import user_recency, user_recency_features

__all__ = [
    "MOVIE_GROUPS",
    "CompiledAggregations",
    "aggregate_events",
    "builtin_definitions",
    "compile_aggregations",
    "daily_movie_stats",
    "daily_user_stats",
    "movie_basic",
    "movie_basic_features",
    "movie_features",
    "movie_statistical",
    "movie_statistical_features",
    "movie_temporal",
    "movie_temporal_features",
    "movie_text",
    "movie_text_features",
    "recommender_v1",
    "user_activity",
    "user_activity_features",
    "user_movie",
    "user_movie_features",
    "user_recency",
    "user_recency_features",
]
