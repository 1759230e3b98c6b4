"""user_movie: how a user and a movie fit, computed at request time (an OnDemandFeatureView).

- genre_affinity: the user's genre shares (user_activity) dotted with the movie's genre flags
  (movie_basic): the share of the user's past ratings on genres this movie has, summed.
- rating_bias: the user's mean rating (1-5 stars) minus the movie's TMDB vote average / 2
  (rescaled from 0-10): positive when the user rates more generously than the crowd did.
- popularity_match: exp(-|user's mean log-popularity of rated movies - movie log-popularity|),
  1 when the movie is as popular as what the user usually rates.
- is_new_release_for_user: the movie came out after the user's latest rating and by the
  request time: the user cannot have rated it yet.

The request carries `request_ts` (online: in each entity row; offline: a column of the entity
dataframe, usually equal to its event_timestamp). Nulls in, null out.
"""

from __future__ import annotations

import polars as pl

from cinefeat.definitions import Field, OnDemandFeatureView
from cinefeat.sources import RECOMMENDATION_REQUEST, TMDB_GENRE_SLUGS
from cinefeat.transforms.movie_basic import movie_basic
from cinefeat.transforms.movie_temporal import movie_temporal
from cinefeat.transforms.user_activity import user_activity
from cinefeat.types import Bool, Float64

__all__ = ["user_movie", "user_movie_features"]


def user_movie_features(inputs: pl.DataFrame) -> pl.DataFrame:
    # Stored in the registry and re-run from source (see OnDemandFeatureView for what it may use).
    shares = sorted(c for c in inputs.columns if c.startswith("user_activity__genre_share_"))
    affinity = pl.sum_horizontal(
        pl.col(share).cast(pl.Float64)
        * pl.col("movie_basic__genre_" + share.removeprefix("user_activity__genre_share_")).cast(
            pl.Float64
        )
        for share in shares
    )
    has_genres = pl.col("movie_basic__genre_drama").is_not_null()
    has_user = pl.col("user_activity__rating_count_all").is_not_null()
    released = pl.date(pl.col("movie_temporal__release_year"), 1, 1).cast(
        pl.Datetime("us", "UTC")
    ) + pl.duration(days=pl.col("movie_temporal__release_day_of_year") - 1)
    distance = (
        pl.col("user_activity__mean_log_popularity").cast(pl.Float64)
        - pl.col("movie_basic__log_popularity")
    ).abs()
    return inputs.select(
        pl.when(has_genres & has_user).then(affinity).alias("genre_affinity"),
        (
            pl.col("user_activity__rating_mean_all").cast(pl.Float64)
            - pl.col("movie_basic__vote_average") / 2
        ).alias("rating_bias"),
        (-distance).exp().alias("popularity_match"),
        (
            (released > pl.col("user_activity__last_rated_at")) & (released <= pl.col("request_ts"))
        ).alias("is_new_release_for_user"),
    )


user_movie = OnDemandFeatureView(
    name="user_movie",
    sources=[
        user_activity[
            [f"genre_share_{slug}" for slug in TMDB_GENRE_SLUGS.values()]
            + ["rating_count_all", "rating_mean_all", "mean_log_popularity", "last_rated_at"]
        ],
        movie_basic[
            [f"genre_{slug}" for slug in TMDB_GENRE_SLUGS.values()]
            + ["vote_average", "log_popularity"]
        ],
        movie_temporal[["release_year", "release_day_of_year"]],
        RECOMMENDATION_REQUEST,
    ],
    schema=[
        Field("genre_affinity", Float64, "Share of the user's ratings on this movie's genres"),
        Field("rating_bias", Float64, "User mean rating minus the movie's vote average / 2"),
        Field("popularity_match", Float64, "exp(-|user mean log-popularity - movie's|)"),
        Field(
            "is_new_release_for_user",
            Bool,
            "Released after the user's latest rating and by the request time",
        ),
    ],
    udf=user_movie_features,
    description="How a user and a movie fit, computed at request time",
    tags={"group": "user_movie"},
)
