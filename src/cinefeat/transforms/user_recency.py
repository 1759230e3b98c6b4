"""user_recency: how long ago a user last rated, measured at request time (on demand).

A stored "days since" would be stale as soon as it was written, and would stop changing once a
user goes idle and user_activity stops emitting rows; so it is computed from user_activity's
`last_rated_at` and the request's `request_ts`, online and offline alike.
"""

from __future__ import annotations

import polars as pl

from cinefeat.definitions import Field, OnDemandFeatureView
from cinefeat.sources import RECOMMENDATION_REQUEST
from cinefeat.transforms.user_activity import user_activity
from cinefeat.types import Float64

__all__ = ["user_recency", "user_recency_features"]


def user_recency_features(inputs: pl.DataFrame) -> pl.DataFrame:
    # Stored in the registry and re-run from source (see OnDemandFeatureView for what it may use).
    elapsed = pl.col("request_ts") - pl.col("user_activity__last_rated_at")
    return inputs.select(
        (elapsed.dt.total_microseconds() / 86_400_000_000).alias("days_since_last_rating")
    )


user_recency = OnDemandFeatureView(
    name="user_recency",
    sources=[user_activity[["last_rated_at"]], RECOMMENDATION_REQUEST],
    schema=[
        Field(
            "days_since_last_rating",
            Float64,
            "Days from the user's latest rating (known at request time) to the request",
        )
    ],
    udf=user_recency_features,
    description="How long ago the user last rated, at request time",
    tags={"group": "user_recency"},
)
