"""Point-in-time joins (`get_historical_features`), checked value by value on small data.

The semantics (DESIGN.md, "Semantics that must be exact"):
- entity timestamp column: `event_timestamp`, else the single datetime column, else an error;
- candidates: same join keys, feature.ts <= entity.ts and, with a non-zero ttl,
  feature.ts >= entity.ts - ttl (both inclusive);
- winner: latest feature.ts, ties broken by the latest created timestamp;
- every entity row is kept, in order, with its own columns; no match gives null;
- naive timestamps are UTC.

Tests taking the `backend` fixture run twice: on a managed (Delta) view and on a FileSource view
holding the same rows.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

from cinefeat import (
    EntityDataFrameError,
    FeatureNameCollisionError,
    FeatureService,
    FeatureStore,
    FeatureView,
    Field,
)
from cinefeat.definitions import Entity
from cinefeat.types import Float64, Int64, String

if TYPE_CHECKING:
    from tests.offline.conftest import ViewBackend

T0 = datetime(2024, 1, 1, tzinfo=UTC)
US = timedelta(microseconds=1)
LONG_TTL = timedelta(days=3650)

USER = Entity("user", ["user_id"])
MOVIE = Entity("movie", ["movie_id"])


def at(hours: float = 0, minutes: float = 0, seconds: float = 0, micros: int = 0) -> datetime:
    """A UTC time on 2024-01-01."""
    return T0 + timedelta(hours=hours, minutes=minutes, seconds=seconds, microseconds=micros)


def values(job: Any, column: str) -> list[Any]:
    return list(job.to_arrow().column(column).to_pylist())


def entity_frame(user_ids: list[Any], times: list[datetime], **extra: list[Any]) -> pd.DataFrame:
    return pd.DataFrame({"user_id": user_ids, "event_timestamp": times, **extra})


def apply_user_view(backend: ViewBackend, **kwargs: Any) -> FeatureView:
    view = backend.view("user_stats", USER, **kwargs)
    backend.store.apply([USER, view])
    return view


# -- entity timestamp column ----------------------------------------------------------------


@pytest.fixture
def simple(backend: ViewBackend) -> ViewBackend:
    """user 1: x=1.0 at 10:00, x=2.0 at 12:00."""
    apply_user_view(backend)
    backend.write(
        "user_stats", {"user_id": [1, 1], "x": [1.0, 2.0], "event_timestamp": [at(10), at(12)]}
    )
    return backend


def test_event_timestamp_column_is_preferred_over_other_datetime_columns(
    simple: ViewBackend,
) -> None:
    entity = pd.DataFrame(
        {
            "user_id": [1, 1],
            "signup": [at(13), at(9)],  # would give other answers if used
            "event_timestamp": [at(11), at(12)],
        }
    )
    job = simple.store.get_historical_features(entity, ["user_stats:x"])
    assert values(job, "x") == [1.0, 2.0]
    assert job.to_df().columns.tolist() == ["user_id", "signup", "event_timestamp", "x"]


def test_single_datetime_column_is_used_when_there_is_no_event_timestamp(
    simple: ViewBackend,
) -> None:
    entity = pd.DataFrame({"user_id": [1, 1, 1], "ts": [at(9), at(11), at(12)], "n": [1, 2, 3]})
    job = simple.store.get_historical_features(entity, ["user_stats:x"])
    result = job.to_df()
    assert result.columns.tolist() == ["user_id", "ts", "n", "x"]
    assert values(job, "x") == [None, 1.0, 2.0]
    assert job.entity_timestamp_column == "ts"


def test_entity_df_without_datetime_column_is_refused(simple: ViewBackend) -> None:
    entity = pd.DataFrame({"user_id": [1], "when": ["2024-01-01T12:00:00"]})
    with pytest.raises(EntityDataFrameError, match="event_timestamp"):
        simple.store.get_historical_features(entity, ["user_stats:x"]).to_df()


def test_several_datetime_columns_without_event_timestamp_are_refused(
    simple: ViewBackend,
) -> None:
    entity = pd.DataFrame({"user_id": [1], "a": [at(11)], "b": [at(12)]})
    with pytest.raises(EntityDataFrameError, match="several timestamp columns"):
        simple.store.get_historical_features(entity, ["user_stats:x"]).to_df()


def test_event_timestamp_that_is_not_a_datetime_is_refused(simple: ViewBackend) -> None:
    entity = pd.DataFrame({"user_id": [1], "event_timestamp": ["2024-01-01 12:00"]})
    with pytest.raises(EntityDataFrameError, match="event_timestamp"):
        simple.store.get_historical_features(entity, ["user_stats:x"]).to_df()


def test_entity_df_without_the_join_key_is_refused(simple: ViewBackend) -> None:
    entity = pd.DataFrame({"uid": [1], "event_timestamp": [at(12)]})
    with pytest.raises(EntityDataFrameError, match="user_id"):
        simple.store.get_historical_features(entity, ["user_stats:x"]).to_df()


@pytest.mark.parametrize(
    "feature_ts",
    [
        pytest.param("2024-01-01 12:00:00.000001", id="after-1970"),
        pytest.param("1969-12-31 23:59:59.999999", id="before-1970"),
    ],
)
def test_nanosecond_entity_timestamps_compare_exactly(
    backend: ViewBackend, feature_ts: str
) -> None:
    """Features are stored in microseconds; an entity time 1 ns before one must not see it."""
    apply_user_view(backend, ttl=timedelta(hours=1))
    ts = pd.Timestamp(feature_ts, tz="UTC")
    backend.write("user_stats", {"user_id": [1], "x": [1.0], "event_timestamp": [ts]})
    ns = pd.Timedelta(nanoseconds=1)
    times = pd.Series([ts - ns, ts, ts + ns], dtype="datetime64[ns, UTC]")
    entity = pd.DataFrame({"user_id": [1, 1, 1], "event_timestamp": times})
    job = backend.store.get_historical_features(entity, ["user_stats:x"])
    assert values(job, "x") == [None, 1.0, 1.0]


# -- ttl ------------------------------------------------------------------------------------


def test_ttl_window_is_inclusive_at_both_ends(backend: ViewBackend) -> None:
    apply_user_view(backend, ttl=timedelta(hours=1))
    backend.write(
        "user_stats",
        {
            "user_id": [1, 2, 2],
            "x": [1.0, 5.0, 6.0],
            "event_timestamp": [at(12), at(10), at(12)],
        },
    )
    cases = [
        (1, at(12), 1.0),  # feature.ts == entity.ts: included
        (1, at(12) - US, None),  # the feature is 1 us in the future
        (1, at(13), 1.0),  # exactly ttl old: included
        (1, at(13) + US, None),  # 1 us older than ttl
        (2, at(11), 5.0),  # exactly ttl old
        (2, at(11) + US, None),  # 10:00 expired, 12:00 not yet happened
        (2, at(12, 30), 6.0),
        (2, at(13) + US, None),  # the latest expired: no fall back to an older row
    ]
    entity = entity_frame([c[0] for c in cases], [c[1] for c in cases])
    job = backend.store.get_historical_features(entity, ["user_stats:x"])
    assert values(job, "x") == [c[2] for c in cases]


@pytest.mark.parametrize(
    "ttl",
    [
        pytest.param(timedelta(hours=1, microseconds=1), id="1h+1us"),
        pytest.param(timedelta(days=25, microseconds=1), id="25d+1us"),
    ],
)
def test_ttl_with_microseconds_is_exact(backend: ViewBackend, ttl: timedelta) -> None:
    apply_user_view(backend, ttl=ttl)
    backend.write("user_stats", {"user_id": [1], "x": [1.0], "event_timestamp": [at(12)]})
    entity = entity_frame([1, 1], [at(12) + ttl, at(12) + ttl + US])
    job = backend.store.get_historical_features(entity, ["user_stats:x"])
    assert values(job, "x") == [1.0, None]


@pytest.mark.parametrize("ttl", [timedelta(0), 0, None], ids=["timedelta0", "int0", "None"])
def test_zero_ttl_means_no_age_limit(backend: ViewBackend, ttl: Any) -> None:
    apply_user_view(backend, ttl=ttl)
    backend.write(
        "user_stats",
        {"user_id": [1], "x": [1.0], "event_timestamp": [datetime(2000, 1, 1, 0, 0, tzinfo=UTC)]},
    )
    entity = entity_frame([1, 1, 2], [at(12), datetime(1999, 12, 31, 23, 59, tzinfo=UTC), at(12)])
    job = backend.store.get_historical_features(entity, ["user_stats:x"])
    assert values(job, "x") == [1.0, None, None]


def test_each_view_uses_its_own_ttl(backend: ViewBackend) -> None:
    """A ttl=0 view (no limit) and a 1 h view in one call; one view's ttl never applies to the
    other."""
    unlimited = backend.view("user_unlimited", USER, ttl=None, features=["u"])
    hourly = backend.view("user_hourly", USER, ttl=timedelta(hours=1), features=["h"])
    backend.store.apply([USER, unlimited, hourly])
    old = datetime(2000, 1, 1, tzinfo=UTC)
    backend.write("user_unlimited", {"user_id": [1], "u": [1.0], "event_timestamp": [old]})
    backend.write("user_hourly", {"user_id": [1], "h": [2.0], "event_timestamp": [at(11)]})
    entity = entity_frame([1, 1, 1], [at(11, 30), at(12), at(12) + US])
    job = backend.store.get_historical_features(entity, ["user_unlimited:u", "user_hourly:h"])
    assert values(job, "u") == [1.0, 1.0, 1.0]
    assert values(job, "h") == [2.0, 2.0, None]


# -- the winner -----------------------------------------------------------------------------


def test_latest_event_before_the_entity_time_wins(backend: ViewBackend) -> None:
    apply_user_view(backend)
    backend.write(
        "user_stats",
        {
            "user_id": [1, 1, 1, 2],
            "x": [12.0, 10.0, 11.0, 99.0],
            "event_timestamp": [at(12), at(10), at(11), at(11, 30)],
            "created_timestamp": [at(12), at(10), at(11), at(11, 30)],
        },
    )
    times = [at(9, 59), at(10), at(10, 59), at(11), at(11, 30), at(12), at(23)]
    job = backend.store.get_historical_features(entity_frame([1] * 7, times), ["user_stats:x"])
    assert values(job, "x") == [None, 10.0, 10.0, 11.0, 11.0, 12.0, 12.0]


@pytest.mark.parametrize("later_created_first", [True, False])
def test_equal_event_times_are_broken_by_latest_created_in_one_write(
    backend: ViewBackend, later_created_first: bool
) -> None:
    apply_user_view(backend)
    rows = [
        {"user_id": 1, "x": 1.0, "event_timestamp": at(10), "created_timestamp": at(10, 5)},
        {"user_id": 1, "x": 2.0, "event_timestamp": at(10), "created_timestamp": at(10, 10)},
        {"user_id": 1, "x": 3.0, "event_timestamp": at(10), "created_timestamp": at(10, 1)},
    ]
    if later_created_first:
        rows.reverse()
    backend.write("user_stats", pd.DataFrame(rows))
    entity = entity_frame([1, 1], [at(10), at(11)])
    job = backend.store.get_historical_features(entity, ["user_stats:x"])
    assert values(job, "x") == [2.0, 2.0]


@pytest.mark.parametrize("later_created_written_first", [True, False])
def test_equal_event_times_are_broken_by_latest_created_across_writes(
    backend: ViewBackend, later_created_written_first: bool
) -> None:
    apply_user_view(backend)
    early = {"user_id": [1], "x": [1.0], "event_timestamp": [at(10)], "created_timestamp": [at(11)]}
    late = {"user_id": [1], "x": [2.0], "event_timestamp": [at(10)], "created_timestamp": [at(12)]}
    for rows in [late, early] if later_created_written_first else [early, late]:
        backend.write("user_stats", rows)
    entity = entity_frame([1, 1], [at(10), at(20)])
    job = backend.store.get_historical_features(entity, ["user_stats:x"])
    assert values(job, "x") == [2.0, 2.0]


def test_later_event_beats_later_created(backend: ViewBackend) -> None:
    apply_user_view(backend)
    backend.write(
        "user_stats",
        {
            "user_id": [1, 1],
            "x": [1.0, 2.0],
            "event_timestamp": [at(10), at(11)],
            "created_timestamp": [at(20), at(11)],  # the older event was created later
        },
    )
    entity = entity_frame([1, 1], [at(10, 30), at(11)])
    job = backend.store.get_historical_features(entity, ["user_stats:x"])
    assert values(job, "x") == [1.0, 2.0]


def test_created_timestamp_only_breaks_ties_and_never_filters(backend: ViewBackend) -> None:
    """A row created after the entity time (a late backfill) is still a candidate."""
    apply_user_view(backend)
    backend.write(
        "user_stats",
        {"user_id": [1], "x": [1.0], "event_timestamp": [at(10)], "created_timestamp": [at(30)]},
    )
    job = backend.store.get_historical_features(entity_frame([1], [at(11)]), ["user_stats:x"])
    assert values(job, "x") == [1.0]


def test_without_created_timestamp_the_later_write_wins_a_tie(pit_store: FeatureStore) -> None:
    """Managed views fill the created timestamp with the write time."""
    view = FeatureView("user_stats", [USER], _user_fields(), ttl=LONG_TTL)
    pit_store.apply([USER, view])
    for x in (1.0, 2.0, 3.0):
        pit_store.write_offline(
            "user_stats", entity_frame([1], [at(10)]).assign(x=[x], user_id=[1])
        )
    job = pit_store.get_historical_features(entity_frame([1], [at(10)]), ["user_stats:x"])
    assert values(job, "x") == [3.0]


def _user_fields() -> list[Field]:
    return [Field("user_id", Int64), Field("x", Float64)]


# -- entity rows ----------------------------------------------------------------------------


def test_every_entity_row_is_kept_in_order_with_its_own_columns(backend: ViewBackend) -> None:
    apply_user_view(backend)
    backend.write(
        "user_stats",
        {
            "user_id": [1, 2, 1],  # not sorted
            "x": [2.0, 20.0, 1.0],
            "event_timestamp": [at(12), at(11), at(10)],
        },
    )
    entity = pd.DataFrame(
        {
            "label": ["a", "b", "c", "d", "b", "e", "f", "g"],
            "user_id": [2, 1, 1, 9, 1, 1, 2, 1],
            "event_timestamp": [
                at(12),
                at(11),
                at(9),  # before any feature row
                at(12),  # unknown user
                at(11),  # duplicate of row 1
                at(12),
                at(11) - US,
                at(13),
            ],
            "weight": [0.5, 1.5, 2.5, 3.5, 1.5, 4.5, 5.5, 6.5],
        }
    )
    original = entity.copy()
    result = backend.store.get_historical_features(entity, ["user_stats:x"]).to_df()
    assert result.columns.tolist() == ["label", "user_id", "event_timestamp", "weight", "x"]
    pd.testing.assert_frame_equal(result.drop(columns="x"), original, check_dtype=False)
    assert result["event_timestamp"].tolist() == original["event_timestamp"].tolist()
    expected = [20.0, 1.0, None, None, 1.0, 2.0, None, 2.0]
    assert [None if pd.isna(v) else v for v in result["x"]] == expected
    pd.testing.assert_frame_equal(entity, original)  # the caller's frame is not modified


def test_view_without_rows_gives_nulls(backend: ViewBackend) -> None:
    apply_user_view(backend)  # a managed view never written / a FileSource folder with no file
    job = backend.store.get_historical_features(
        entity_frame([1, 2], [at(1), at(2)]), ["user_stats:x"]
    )
    assert values(job, "x") == [None, None]
    assert job.to_arrow().schema.field("x").type == pa.float64()


def test_empty_entity_df_gives_empty_result_with_feature_columns(simple: ViewBackend) -> None:
    entity = entity_frame([1], [at(12)]).iloc[:0]
    result = simple.store.get_historical_features(entity, ["user_stats:x"]).to_arrow()
    assert result.num_rows == 0
    assert result.column_names == ["user_id", "event_timestamp", "x"]


# -- several views --------------------------------------------------------------------------


@pytest.fixture
def two_views(backend: ViewBackend) -> ViewBackend:
    """user_stats(x) keyed by an Int64 user_id, movie_stats(x, y) keyed by a String movie_id."""
    users = backend.view("user_stats", USER)
    movies = backend.view("movie_stats", MOVIE, key_dtype=String, features=["x", "y"])
    backend.store.apply([USER, MOVIE, users, movies])
    backend.write(
        "user_stats",
        {"user_id": [1, 1, 2], "x": [1.0, 2.0, 3.0], "event_timestamp": [at(10), at(12), at(11)]},
    )
    backend.write(
        "movie_stats",
        {
            "movie_id": ["m1", "m1", "m2"],
            "x": [100.0, 200.0, 300.0],
            "y": [-1.0, -2.0, -3.0],
            "event_timestamp": [at(11), at(13), at(9)],
        },
    )
    return backend


def _ratings() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "user_id": [1, 1, 2, 3, 1],
            "movie_id": ["m1", "m2", "m1", "m2", "m3"],
            "event_timestamp": [at(11), at(12), at(13), at(10), at(9)],
            "rating": [4.0, 3.5, 5.0, 1.0, 2.0],
        }
    )


USER_X = [1.0, 2.0, 3.0, None, None]
MOVIE_X = [100.0, 300.0, 200.0, 300.0, None]
MOVIE_Y = [-1.0, -3.0, -2.0, -3.0, None]


def test_two_views_on_different_entities_with_full_feature_names(two_views: ViewBackend) -> None:
    job = two_views.store.get_historical_features(
        _ratings(),
        ["user_stats:x", "movie_stats:y", "movie_stats:x"],
        full_feature_names=True,
    )
    assert job.feature_names == ["user_stats__x", "movie_stats__y", "movie_stats__x"]
    result = job.to_df()
    assert result.columns.tolist() == [
        "user_id",
        "movie_id",
        "event_timestamp",
        "rating",
        "user_stats__x",
        "movie_stats__y",
        "movie_stats__x",
    ]
    assert result["rating"].tolist() == [4.0, 3.5, 5.0, 1.0, 2.0]
    assert values(job, "user_stats__x") == USER_X
    assert values(job, "movie_stats__x") == MOVIE_X
    assert values(job, "movie_stats__y") == MOVIE_Y


def test_two_views_without_full_names(two_views: ViewBackend) -> None:
    job = two_views.store.get_historical_features(_ratings(), ["user_stats:x", "movie_stats:y"])
    assert job.feature_names == ["x", "y"]
    assert values(job, "x") == USER_X
    assert values(job, "y") == MOVIE_Y


def test_same_feature_name_in_two_views_collides_without_full_names(
    two_views: ViewBackend,
) -> None:
    with pytest.raises(FeatureNameCollisionError):
        two_views.store.get_historical_features(
            _ratings(), ["user_stats:x", "movie_stats:x"]
        ).to_df()


def test_feature_named_like_an_entity_column_collides(two_views: ViewBackend) -> None:
    entity = _ratings().rename(columns={"rating": "y"})
    with pytest.raises(FeatureNameCollisionError):
        two_views.store.get_historical_features(entity, ["movie_stats:y"]).to_df()
    # with full names there is no clash, and the entity's own `y` is kept unchanged
    job = two_views.store.get_historical_features(
        entity, ["movie_stats:y"], full_feature_names=True
    )
    assert values(job, "y") == [4.0, 3.5, 5.0, 1.0, 2.0]
    assert values(job, "movie_stats__y") == MOVIE_Y


def test_feature_service_as_features(two_views: ViewBackend) -> None:
    users = two_views.store.get_feature_view("user_stats")
    movies = two_views.store.get_feature_view("movie_stats")
    service = FeatureService("ranker", [users, movies[["y"]]])
    two_views.store.apply([service])
    for features in (service, "ranker", two_views.store.get_feature_service("ranker")):
        job = two_views.store.get_historical_features(_ratings(), features)
        assert job.feature_names == ["x", "y"]
        assert values(job, "x") == USER_X
        assert values(job, "y") == MOVIE_Y
    job = two_views.store.get_historical_features(_ratings(), "ranker", full_feature_names=True)
    assert job.feature_names == ["user_stats__x", "movie_stats__y"]
    assert values(job, "user_stats__x") == USER_X


# -- time zones -----------------------------------------------------------------------------


def test_naive_entity_timestamps_are_utc(two_views: ViewBackend) -> None:
    aware = _ratings()
    naive = aware.assign(event_timestamp=aware["event_timestamp"].dt.tz_localize(None))
    paris = aware.assign(event_timestamp=aware["event_timestamp"].dt.tz_convert("Europe/Paris"))
    refs = ["user_stats:x", "movie_stats:y"]
    results = [two_views.store.get_historical_features(df, refs) for df in (aware, naive, paris)]
    for job in results:
        assert values(job, "x") == USER_X
        assert values(job, "y") == MOVIE_Y
    naive_out = results[1].to_df()["event_timestamp"]
    assert naive_out.tolist() == naive["event_timestamp"].tolist()  # returned as given


def test_naive_feature_timestamps_are_utc(backend: ViewBackend) -> None:
    aware_view = backend.view("aware", USER)
    naive_view = backend.view("naive", USER)
    backend.store.apply([USER, aware_view, naive_view])
    rows = {
        "user_id": [1, 1],
        "x": [1.0, 2.0],
        "event_timestamp": [at(10), at(12)],
        "created_timestamp": [at(10), at(12)],
    }
    backend.write("aware", rows)
    backend.write(
        "naive",
        {
            **rows,
            "event_timestamp": [datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 12)],
            "created_timestamp": [datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 12)],
        },
    )
    entity = entity_frame([1, 1, 1, 1], [at(9, 59), at(10), at(12) - US, at(12)])
    job = backend.store.get_historical_features(
        entity, ["aware:x", "naive:x"], full_feature_names=True
    )
    assert values(job, "naive__x") == [None, 1.0, 1.0, 2.0]
    assert values(job, "aware__x") == [None, 1.0, 1.0, 2.0]


@pytest.fixture
def local_time_zone_new_york() -> Iterator[None]:
    """Run with the process's local time zone set to America/New_York (UTC-5 in January)."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        yield
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


def test_naive_timestamps_are_utc_whatever_the_local_time_zone(
    backend: ViewBackend, local_time_zone_new_york: None
) -> None:
    apply_user_view(backend, ttl=timedelta(hours=2))
    naive = [datetime(2024, 1, 1, 10), datetime(2024, 1, 1, 12)]
    backend.write(
        "user_stats",
        {"user_id": [1, 1], "x": [1.0, 2.0], "event_timestamp": naive, "created_timestamp": naive},
    )
    times = [at(9, 59), at(10), at(12) - US, at(12), at(14), at(14) + US]
    expected = [None, 1.0, 1.0, 2.0, 2.0, None]
    aware = entity_frame([1] * 6, times)
    local = aware.assign(event_timestamp=aware["event_timestamp"].dt.tz_localize(None))
    for entity in (aware, local):
        job = backend.store.get_historical_features(entity, ["user_stats:x"])
        assert values(job, "x") == expected


# -- entity frame kinds ---------------------------------------------------------------------


def test_pandas_polars_and_arrow_entity_frames_give_identical_results(
    two_views: ViewBackend,
) -> None:
    ratings = _ratings()
    frames = {
        "pandas": ratings,
        "polars": pl.from_pandas(ratings),
        "arrow": pa.Table.from_pandas(ratings, preserve_index=False),
        "polars-naive-ms": pl.from_pandas(ratings).with_columns(
            pl.col("event_timestamp").dt.replace_time_zone(None).dt.cast_time_unit("ms")
        ),
    }
    refs = ["user_stats:x", "movie_stats:x"]
    tables = {}
    for kind, frame in frames.items():
        job = two_views.store.get_historical_features(frame, refs, full_feature_names=True)
        assert values(job, "user_stats__x") == USER_X, kind
        assert values(job, "movie_stats__x") == MOVIE_X, kind
        polars_out = job.to_polars()
        assert polars_out["movie_stats__x"].to_list() == MOVIE_X
        assert polars_out["rating"].to_list() == ratings["rating"].tolist()
        assert polars_out["movie_id"].to_list() == ratings["movie_id"].tolist()
        tables[kind] = job.to_arrow().select(["user_stats__x", "movie_stats__x"])
    for kind, table in tables.items():
        assert table.equals(tables["pandas"]), kind


# -- managed vs FileSource ------------------------------------------------------------------


def test_file_source_and_managed_view_agree_on_the_same_rows(
    pit_store: FeatureStore, tmp_path: Any
) -> None:
    from tests.offline.conftest import ViewBackend

    managed = ViewBackend(pit_store, "managed", tmp_path)
    files = ViewBackend(pit_store, "file", tmp_path)
    views = [
        managed.view("m_view", USER, ttl=timedelta(hours=3)),
        files.view("f_view", USER, ttl=timedelta(hours=3)),
    ]
    pit_store.apply([USER, *views])
    batches = [
        {
            "user_id": [1, 1, 2, 3],
            "x": [1.0, 2.0, 3.0, 4.0],
            "event_timestamp": [at(10), at(10), at(8), at(12)],
            "created_timestamp": [at(11), at(10, 30), at(8), at(12)],
        },
        {
            "user_id": [1, 2, 3],
            "x": [5.0, 6.0, 7.0],
            "event_timestamp": [at(10), at(9), at(12)],
            "created_timestamp": [at(10, 45), at(20), at(12, 1)],
        },
    ]
    for batch in batches:
        managed.write("m_view", batch)
        files.write("f_view", batch)
    entity = entity_frame(
        [1, 2, 3, 1, 2, 3, 4, 2],
        [at(10), at(9), at(12), at(13), at(11), at(15), at(12), at(12) + US],
    )
    job = pit_store.get_historical_features(
        entity, ["m_view:x", "f_view:x"], full_feature_names=True
    )
    assert values(job, "m_view__x") == [1.0, 6.0, 7.0, 1.0, 6.0, 7.0, None, None]
    result = job.to_arrow()
    assert result.column("m_view__x").equals(result.column("f_view__x"))


# -- pinning --------------------------------------------------------------------------------


def test_table_versions_rebuild_an_earlier_training_set_exactly(pit_store: FeatureStore) -> None:
    views = [
        FeatureView("user_stats", [USER], _user_fields(), ttl=LONG_TTL),
        FeatureView(
            "movie_stats",
            [MOVIE],
            [Field("movie_id", Int64), Field("x", Float64)],
            ttl=timedelta(hours=2),
        ),
    ]
    pit_store.apply([USER, MOVIE, *views])
    pit_store.write_offline(
        "user_stats",
        entity_frame([1, 2], [at(10), at(10)]).assign(x=[1.0, 2.0]),
    )
    pit_store.write_offline(
        "movie_stats",
        pd.DataFrame({"movie_id": [7], "x": [70.0], "event_timestamp": [at(9)]}),
    )
    entity = pd.DataFrame(
        {"user_id": [1, 2, 3], "movie_id": [7, 7, 8], "event_timestamp": [at(11), at(12), at(11)]}
    )
    refs = ["user_stats:x", "movie_stats:x"]
    first = pit_store.get_historical_features(entity, refs, full_feature_names=True)
    before = first.to_df()
    pinned_versions = dict(first.table_versions)
    assert set(pinned_versions) == {"user_stats__v1", "movie_stats__v1"}
    assert values(first, "user_stats__x") == [1.0, 2.0, None]
    assert values(first, "movie_stats__x") == [70.0, None, None]  # 12:00 is past the ttl

    # New rows that change every answer: a newer event, a tie won by a later write, a new key.
    pit_store.write_offline(
        "user_stats", entity_frame([1, 2, 3], [at(10, 30), at(10), at(10)]).assign(x=[10, 20, 30])
    )
    pit_store.write_offline(
        "movie_stats",
        pd.DataFrame({"movie_id": [7, 8], "x": [71.0, 80.0], "event_timestamp": [at(11), at(10)]}),
    )
    latest = pit_store.get_historical_features(entity, refs, full_feature_names=True)
    assert values(latest, "user_stats__x") == [10.0, 20.0, 30.0]
    assert values(latest, "movie_stats__x") == [71.0, 71.0, 80.0]
    assert latest.table_versions != pinned_versions

    again = pit_store.get_historical_features(
        entity, refs, full_feature_names=True, table_versions=pinned_versions
    )
    assert again.table_versions == pinned_versions
    pd.testing.assert_frame_equal(again.to_df(), before)
