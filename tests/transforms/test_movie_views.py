"""What the four movie feature groups share: their views, output schemas that equal the views,
input handling, and independence from the wall clock."""

from __future__ import annotations

import datetime as dt
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cinefeat.definitions import FeatureView
from cinefeat.errors import FrameTypeError, SchemaMismatchError
from cinefeat.sources._schema import MOVIES_SCHEMA
from cinefeat.sources._views import MOVIE
from cinefeat.transforms.movie_basic import movie_basic, movie_basic_features
from cinefeat.transforms.movie_statistical import movie_statistical, movie_statistical_features
from cinefeat.transforms.movie_temporal import movie_temporal, movie_temporal_features
from cinefeat.transforms.movie_text import movie_text, movie_text_features
from tests.transforms.movies_fixture import movies_frame

Transform = Callable[[pl.DataFrame | pl.LazyFrame], pl.DataFrame]
GROUPS: list[tuple[FeatureView, Transform, str]] = [
    (movie_basic, movie_basic_features, "basic"),
    (movie_temporal, movie_temporal_features, "temporal"),
    (movie_statistical, movie_statistical_features, "statistical"),
    (movie_text, movie_text_features, "text"),
]
IDS = [view.name for view, _, _ in GROUPS]
# The Polars dtype each feature dtype is written as (UnixTimestamp: microseconds, UTC).
POLARS: dict[str, pl.DataType] = {
    "Int32": pl.Int32(),
    "Int64": pl.Int64(),
    "Float32": pl.Float32(),
    "Float64": pl.Float64(),
    "String": pl.String(),
    "Bool": pl.Boolean(),
    "UnixTimestamp": pl.Datetime("us", "UTC"),
}


@pytest.mark.parametrize(("view", "transform", "group"), GROUPS, ids=IDS)
def test_views_are_managed_movie_views(view: FeatureView, transform: Transform, group: str) -> None:
    assert view.entities == (MOVIE,)
    assert view.schema[0].name == "movie_id" and str(view.schema[0].dtype) == "Int64"
    assert view.is_managed
    assert view.event_timestamp_column == "event_timestamp"
    assert view.ttl_delta == timedelta(days=30)
    assert view.tags == {"group": group}
    assert view.description
    for field in view.features:
        assert field.description, field.name
        assert str(field.dtype) in POLARS, field.name


@pytest.mark.parametrize(("view", "transform", "group"), GROUPS, ids=IDS)
def test_output_schema_equals_the_view_schema(
    view: FeatureView, transform: Transform, group: str
) -> None:
    expected = pl.Schema(
        {
            **{field.name: POLARS[str(field.dtype)] for field in view.schema},
            "event_timestamp": pl.Datetime("us", "UTC"),
        }
    )
    movies = movies_frame()
    for frame in (movies, movies.lazy(), movies.head(0)):
        result = transform(frame)
        assert result.schema == expected
        assert result.height == (frame.height if isinstance(frame, pl.DataFrame) else 14)
    # A LazyFrame gives the same rows as the DataFrame it came from.
    assert_frame_equal(transform(movies.lazy()), transform(movies))


@pytest.mark.parametrize(("view", "transform", "group"), GROUPS, ids=IDS)
def test_one_row_per_input_row_in_input_order(
    view: FeatureView, transform: Transform, group: str
) -> None:
    movies = movies_frame().with_row_index("position")
    shuffled = movies.sample(fraction=1.0, shuffle=True, seed=2)
    result = transform(shuffled.drop("position"))
    assert result["movie_id"].to_list() == shuffled["movie_id"].to_list()
    assert result["event_timestamp"].to_list() == shuffled["snapshot_ts"].to_list()
    # The same rows as from the ordered input, only reordered.
    in_order = transform(movies.drop("position"))
    assert_frame_equal(
        result.with_columns(shuffled["position"]).sort("position").drop("position"), in_order
    )


@pytest.mark.parametrize(("view", "transform", "group"), GROUPS, ids=IDS)
def test_a_wrong_input_is_reported_by_column(
    view: FeatureView, transform: Transform, group: str
) -> None:
    movies = movies_frame()
    with pytest.raises(SchemaMismatchError, match="'snapshot_ts' is missing"):
        transform(movies.drop("snapshot_ts"))
    with pytest.raises(SchemaMismatchError, match="'movie_id' is String, expected Int64"):
        transform(movies.with_columns(pl.col("movie_id").cast(pl.String)))
    with pytest.raises(SchemaMismatchError, match="time-zone-aware"):
        transform(movies.with_columns(pl.col("snapshot_ts").dt.replace_time_zone(None)))
    with pytest.raises(FrameTypeError, match="got dict"):
        transform(movies.to_dict())  # type: ignore[arg-type]


_REAL_DATETIME, _REAL_DATE = dt.datetime, dt.date


class _FrozenDatetime(dt.datetime):
    moment = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> _FrozenDatetime:
        return cls.fromtimestamp(cls.moment.timestamp(), tz)

    @classmethod
    def utcnow(cls) -> _FrozenDatetime:
        return cls.fromtimestamp(cls.moment.timestamp(), dt.UTC).replace(tzinfo=None)

    @classmethod
    def today(cls) -> _FrozenDatetime:
        return cls.now()


class _FrozenDate(dt.date):
    moment = dt.date(2000, 1, 1)

    @classmethod
    def today(cls) -> _FrozenDate:
        return cls(cls.moment.year, cls.moment.month, cls.moment.day)


def _freeze_clocks(monkeypatch: pytest.MonkeyPatch, moment: dt.datetime) -> None:
    """Every Python-level clock cinefeat could read says `moment`: time.time/time_ns, and
    datetime.now/utcnow/today and date.today through the names cinefeat modules imported.
    (The `datetime` module itself is left alone: Polars caches how it converts Python types
    the first time it meets them, and a fake class there would break later tests.)"""
    monkeypatch.setattr(_FrozenDatetime, "moment", moment)
    monkeypatch.setattr(_FrozenDate, "moment", moment.date())
    monkeypatch.setattr(time, "time", lambda: moment.timestamp())
    monkeypatch.setattr(time, "time_ns", lambda: int(moment.timestamp()) * 1_000_000_000)
    for name, module in list(sys.modules.items()):
        if not name.startswith("cinefeat"):
            continue
        if getattr(module, "datetime", None) is _REAL_DATETIME:
            monkeypatch.setattr(module, "datetime", _FrozenDatetime)
        if getattr(module, "date", None) is _REAL_DATE:
            monkeypatch.setattr(module, "date", _FrozenDate)


@pytest.mark.parametrize(("view", "transform", "group"), GROUPS, ids=IDS)
def test_features_do_not_depend_on_the_wall_clock(
    monkeypatch: pytest.MonkeyPatch, view: FeatureView, transform: Transform, group: str
) -> None:
    movies = movies_frame()
    results = []
    for moment in (dt.datetime(1999, 1, 1, tzinfo=dt.UTC), dt.datetime(2041, 7, 9, tzinfo=dt.UTC)):
        with monkeypatch.context() as patch:
            _freeze_clocks(patch, moment)
            assert time.time() == moment.timestamp()  # the fake clock is in force
            results.append(transform(movies))
    assert_frame_equal(results[0], results[1])
    assert_frame_equal(results[0], transform(movies))


@pytest.mark.parametrize(("view", "transform", "group"), GROUPS, ids=IDS)
def test_extra_input_columns_are_ignored(
    view: FeatureView, transform: Transform, group: str
) -> None:
    movies = movies_frame()
    # Columns that share a computed feature's name must not leak into (or clash with) it.
    extra = movies.with_columns(
        [pl.lit("stale").alias(name) for name in view.feature_names if name not in MOVIES_SCHEMA]
        + [pl.lit(0).alias("event_timestamp")]
    )
    assert_frame_equal(transform(extra), transform(movies))
