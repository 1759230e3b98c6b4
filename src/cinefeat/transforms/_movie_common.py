"""What the four movie feature groups share: input checks, the view skeleton and the final
select-and-cast that makes a transform's output match its FeatureView exactly.

Every movie transform takes canonical movies (MOVIES_SCHEMA: one row per movie per crawl
snapshot) and returns one row per input row, in input order, stamped with the row's
`snapshot_ts` as `event_timestamp`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta

import polars as pl

from cinefeat.definitions import DEFAULT_EVENT_TIMESTAMP, FeatureView, Field
from cinefeat.errors import FrameTypeError, SchemaMismatchError
from cinefeat.sources._schema import MOVIES_SCHEMA
from cinefeat.sources._views import MOVIE
from cinefeat.types import Array, DType, Int64

__all__ = [
    "EVENT_TS",
    "MOVIE_FEATURE_TTL",
    "SNAPSHOT_TS",
    "finish",
    "movie_input",
    "movie_view",
    "polars_dtype",
    "view_polars_schema",
]

EVENT_TS = DEFAULT_EVENT_TIMESTAMP
SNAPSHOT_TS = "snapshot_ts"
# Crawls are daily; a month without a fresh snapshot means the movie left the crawl, and its
# features should stop being served rather than go on looking current.
MOVIE_FEATURE_TTL = timedelta(days=30)

_SCALAR_POLARS: dict[str, pl.DataType] = {
    "Int32": pl.Int32(),
    "Int64": pl.Int64(),
    "Float32": pl.Float32(),
    "Float64": pl.Float64(),
    "String": pl.String(),
    "Bool": pl.Boolean(),
    "UnixTimestamp": pl.Datetime("us", "UTC"),
}


def polars_dtype(dtype: DType | Array) -> pl.DataType:
    """The Polars dtype a column of this feature dtype has in a transform's output."""
    if isinstance(dtype, Array):
        return pl.List(polars_dtype(dtype.inner))
    return _SCALAR_POLARS[dtype.name]


def view_polars_schema(view: FeatureView) -> pl.Schema:
    """The exact output schema of a movie transform: the view's fields, then event_timestamp."""
    columns = {f.name: polars_dtype(f.dtype) for f in view.schema}
    columns[view.event_timestamp_column] = pl.Datetime("us", "UTC")
    return pl.Schema(columns)


def movie_view(name: str, group: str, description: str, features: Sequence[Field]) -> FeatureView:
    """A managed view keyed by movie_id, stamped with the crawl snapshot time."""
    return FeatureView(
        name,
        [MOVIE],
        [Field("movie_id", Int64, "TMDB movie id"), *features],
        ttl=MOVIE_FEATURE_TTL,
        description=description,
        tags={"group": group},
    )


def movie_input(movies: pl.DataFrame | pl.LazyFrame, needed: Iterable[str]) -> pl.LazyFrame:
    """The columns a transform reads (movie_id, snapshot_ts in UTC microseconds, `needed`) as a
    LazyFrame, after checking them against MOVIES_SCHEMA.

    Raises FrameTypeError for anything but a Polars frame and SchemaMismatchError naming each
    missing or mistyped column, so a wrong frame fails here rather than deep inside a plan.
    """
    if not isinstance(movies, pl.DataFrame | pl.LazyFrame):
        raise FrameTypeError(
            f"movie features: expected a Polars DataFrame or LazyFrame of canonical movies, "
            f"got {type(movies).__name__}"
        )
    lazy = movies.lazy()
    schema = lazy.collect_schema()
    columns = list(dict.fromkeys(("movie_id", SNAPSHOT_TS, *needed)))
    problems: list[str] = []
    for name in columns:
        expected = MOVIES_SCHEMA[name]
        if name not in schema:
            problems.append(f"{name!r} is missing (expected {expected})")
        elif name == SNAPSHOT_TS:
            actual = schema[name]
            # Any time zone is accepted and converted; naive times would be ambiguous.
            if not isinstance(actual, pl.Datetime) or actual.time_zone is None:
                problems.append(f"{name!r} is {actual}, expected a time-zone-aware Datetime")
        elif schema[name] != expected:
            problems.append(f"{name!r} is {schema[name]}, expected {expected}")
    if problems:
        raise SchemaMismatchError(
            "movie features: the input is not canonical movies (MOVIES_SCHEMA): "
            + "; ".join(problems)
        )
    # Only the columns read, so extra input columns can never clash with feature names.
    return lazy.select(columns).with_columns(
        pl.col(SNAPSHOT_TS).dt.convert_time_zone("UTC").dt.cast_time_unit("us")
    )


def finish(frame: pl.LazyFrame, view: FeatureView) -> pl.DataFrame:
    """Select the view's columns in schema order (event_timestamp last), cast to its dtypes."""
    schema = view_polars_schema(view)
    exprs = [
        (pl.col(SNAPSHOT_TS) if name == EVENT_TS else pl.col(name)).cast(dtype).alias(name)
        for name, dtype in schema.items()
    ]
    return frame.select(exprs).collect()
