"""Statistical movie features: where a movie stands in its snapshot's catalogue, a Bayesian
weighted rating, and how its popularity moves across snapshots.

Catalogue statistics compare a movie with the other movies of the same crawl: rows whose
`snapshot_ts` is exactly equal form one snapshot, and each statistic reads only that snapshot,
so a row never sees a later crawl. Trend features read the same movie's earlier snapshots in
the input (never later ones). Definitions:

- `<col>_zscore` = (x - mean) / std over the snapshot's non-null values of the column, with
  the population std (ddof = 0); 0.0 when every value is the same (std 0).
- `<col>_pct_rank` = (rank - 1) / (n - 1), where rank is the average 1-based rank among the
  snapshot's n non-null values (ties share their mean rank): 0 for the lowest, 1 for the
  highest; 0.5 when the movie is the only one with a value.
- `weighted_rating` = v/(v+m)*R + m/(v+m)*C (IMDb's formula) with v = vote_count,
  R = vote_average, C = the snapshot's mean vote_average over movies with at least one vote
  (TMDB reports 0.0 for unvoted movies, which is no rating at all) and m = the snapshot's
  WEIGHTED_RATING_QUANTILE (linear interpolation) of vote_count, floored at 1 vote so that
  a snapshot where (nearly) every count is 0 never divides by zero. A movie with 0 votes gets
  C; when no movie in the snapshot has votes, C and so those ratings are null.
- `rating_confidence` = v/(v+m), the weight the movie's own votes get (0 to below 1).
- `popularity_change` = popularity - popularity at the movie's previous snapshot in the
  input (by snapshot_ts); null for its first snapshot or when either value is null.
- `popularity_slope_7d` = least-squares slope of popularity (per day) against snapshot time
  over the movie's snapshots in (snapshot_ts - 7 days, snapshot_ts], the current one
  included and one exactly 7 days earlier excluded; rows with null popularity are skipped;
  null with fewer than 2 points. Time is measured in days since SLOPE_EPOCH (not 1970) so
  the running sums stay small and the slope keeps about 10 significant digits.

Null inputs give null features. Rows are expected to be canonical: one per movie per snapshot.
"""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from cinefeat.definitions import Field
from cinefeat.transforms._movie_common import SNAPSHOT_TS, finish, movie_input, movie_view
from cinefeat.types import Float64

__all__ = [
    "SLOPE_EPOCH",
    "SLOPE_WINDOW",
    "WEIGHTED_RATING_QUANTILE",
    "movie_statistical",
    "movie_statistical_features",
]

WEIGHTED_RATING_QUANTILE = 0.75
SLOPE_WINDOW = "7d"
SLOPE_EPOCH = datetime(2020, 1, 1, tzinfo=UTC)

_RANKED = ("vote_average", "popularity", "vote_count")
_ROW = "__movie_stat_row"
_DAY_US = 86_400_000_000


def _catalogue_fields() -> list[Field]:
    fields: list[Field] = []
    for column in _RANKED:
        fields.append(
            Field(f"{column}_zscore", Float64, f"z-score of {column} within its snapshot (ddof 0)")
        )
        fields.append(
            Field(
                f"{column}_pct_rank",
                Float64,
                f"(average rank - 1) / (n - 1) of {column} within its snapshot, 0 lowest 1 highest",
            )
        )
    return fields


movie_statistical = movie_view(
    "movie_statistical",
    "statistical",
    "Catalogue z-scores and percentile ranks per snapshot, Bayesian rating, popularity trend",
    [
        *_catalogue_fields(),
        Field(
            "weighted_rating",
            Float64,
            "v/(v+m)*R + m/(v+m)*C; C = snapshot mean rating of voted movies, "
            f"m = max(q{WEIGHTED_RATING_QUANTILE:g} of snapshot vote_count, 1)",
        ),
        Field("rating_confidence", Float64, "v/(v+m): the weight of the movie's own votes"),
        Field(
            "popularity_change",
            Float64,
            "popularity minus the movie's previous snapshot's; null at its first",
        ),
        Field(
            "popularity_slope_7d",
            Float64,
            "Least-squares popularity slope per day over the movie's snapshots in the last 7 "
            "days (this one included); null under 2 points",
        ),
    ],
)


def _zscore(x: pl.Expr) -> pl.Expr:
    mean = x.mean().over(SNAPSHOT_TS)
    std = x.std(ddof=0).over(SNAPSHOT_TS)
    return pl.when(x.is_not_null() & (std == 0)).then(pl.lit(0.0)).otherwise((x - mean) / std)


def _pct_rank(x: pl.Expr) -> pl.Expr:
    rank = x.rank("average").over(SNAPSHOT_TS)
    n = x.count().over(SNAPSHOT_TS)
    lone = x.is_not_null() & (n == 1)
    return pl.when(lone).then(pl.lit(0.5)).otherwise((rank - 1) / (n - 1))


def _catalogue(frame: pl.LazyFrame) -> pl.LazyFrame:
    exprs: list[pl.Expr] = []
    for column in _RANKED:
        x = pl.col(column).cast(pl.Float64)
        exprs.append(_zscore(x).alias(f"{column}_zscore"))
        exprs.append(_pct_rank(x).alias(f"{column}_pct_rank"))
    votes = pl.col("vote_count").cast(pl.Float64)
    average = pl.col("vote_average")
    prior = average.filter(votes > 0).mean().over(SNAPSHOT_TS)
    m = pl.max_horizontal(
        votes.quantile(WEIGHTED_RATING_QUANTILE, "linear").over(SNAPSHOT_TS), pl.lit(1.0)
    )
    confidence = votes / (votes + m)
    # 0 votes: the average (0.0 from TMDB, or null) is no evidence, so the prior alone.
    weighted = (
        pl.when(votes == 0).then(prior).otherwise(confidence * average + (1.0 - confidence) * prior)
    )
    return frame.with_columns(
        *exprs,
        confidence.alias("rating_confidence"),
        weighted.alias("weighted_rating"),
    )


def _trend(frame: pl.LazyFrame) -> pl.LazyFrame:
    """popularity_change and popularity_slope_7d, with the row index, in input order."""
    y = pl.col("popularity")
    present = y.is_not_null()
    x = (pl.col(SNAPSHOT_TS) - pl.lit(SLOPE_EPOCH)).dt.total_microseconds() / _DAY_US
    # The row index breaks ties, so the order (and the row-by-row alignment below) is fixed.
    ordered = (
        frame.select(_ROW, "movie_id", SNAPSHOT_TS, "popularity")
        .sort("movie_id", SNAPSHOT_TS, _ROW)
        .with_columns(
            pl.when(pl.col("movie_id") == pl.col("movie_id").shift(1))
            .then(y - y.shift(1))
            .alias("popularity_change"),
            pl.when(present).then(x).otherwise(0.0).alias("__x"),
            y.fill_null(0.0).alias("__y"),
            present.cast(pl.Float64).alias("__n"),
        )
    )
    xs, ys = pl.col("__x"), pl.col("__y")
    sums = ordered.rolling(
        index_column=SNAPSHOT_TS, period=SLOPE_WINDOW, closed="right", group_by="movie_id"
    ).agg(
        pl.col("__n").sum().alias("__sn"),
        xs.sum().alias("__sx"),
        ys.sum().alias("__sy"),
        (xs * ys).sum().alias("__sxy"),
        (xs * xs).sum().alias("__sxx"),
    )
    n, sx, sy = pl.col("__sn"), pl.col("__sx"), pl.col("__sy")
    # Centred sums: Sxx = sum((x - mean x)^2), Sxy = sum((x - mean x)(y - mean y)).
    sxx = pl.col("__sxx") - sx * sx / n
    sxy = pl.col("__sxy") - sx * sy / n
    slope = pl.when((n >= 2) & (sxx > 0)).then(sxy / sxx).alias("popularity_slope_7d")
    # rolling() emits one row per input row in the same (sorted) order, so the two line up.
    return pl.concat(
        [ordered.select(_ROW, "popularity_change"), sums.select(slope)], how="horizontal"
    ).sort(_ROW)


def movie_statistical_features(movies: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """movie_statistical's columns (movie_id, its features, event_timestamp = snapshot_ts),
    one row per input row in input order."""
    frame = movie_input(movies, ("popularity", "vote_average", "vote_count")).with_row_index(_ROW)
    # Both halves are in input order with one row per input row, so they sit side by side.
    both = pl.concat([_catalogue(frame), _trend(frame).drop(_ROW)], how="horizontal")
    return finish(both, movie_statistical)
