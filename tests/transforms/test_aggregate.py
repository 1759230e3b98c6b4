"""Aggregations compiled to DuckDB: hand-computed values at every day boundary."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cinefeat import Aggregation, DefinitionError, Entity, FeatureView, Field
from cinefeat.transforms.aggregate import aggregate_events
from cinefeat.types import Float64, Int64, UnixTimestamp


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2024, 1, day, hour, tzinfo=UTC)


VIEW = FeatureView(
    "acts",
    [Entity("user", ["user_id"])],
    [
        Field("user_id", Int64),
        Field("rating_count_7d", Int64),
        Field("rating_mean_7d", Float64),
        Field("rating_sum_all", Float64),
        Field("rating_std_all", Float64),
        Field("rating_min_7d", Float64),
        Field("rating_max_all", Float64),
        Field("movie_id_count_distinct_all", Int64),
        Field("last", UnixTimestamp),
    ],
    aggregations=[
        Aggregation("rating", "count", timedelta(days=7)),
        Aggregation("rating", "mean", timedelta(days=7)),
        Aggregation("rating", "sum"),
        Aggregation("rating", "std"),
        Aggregation("rating", "min", timedelta(days=7)),
        Aggregation("rating", "max"),
        Aggregation("movie_id", "count_distinct"),
        Aggregation("event_timestamp", "max", name="last"),
    ],
)

EVENTS = pl.DataFrame(
    {
        "user_id": [1, 1, 1, 1, 2],
        "movie_id": [10, 11, 10, 12, 10],
        "rating": [4.0, 2.0, 5.0, 3.0, 1.0],
        "event_timestamp": [at(1), at(1, 20), at(3), at(12), at(5)],
    }
)


def test_values_at_every_boundary() -> None:
    rows = aggregate_events(EVENTS, VIEW).sort("user_id", "event_timestamp")
    user1 = rows.filter(pl.col("user_id") == 1)
    # Boundaries: day ends with events (Jan 2, 4, 13) and the days they leave the 7-day window
    # (Jan 9, 11); Jan 20 (when Jan 12 would leave) is after the data, so it is not emitted.
    assert user1["event_timestamp"].to_list() == [
        datetime(2024, 1, d, tzinfo=UTC) for d in (2, 4, 9, 11, 13)
    ]
    assert user1["rating_count_7d"].to_list() == [2, 3, 1, 0, 1]
    assert user1["rating_mean_7d"].to_list() == [3.0, 11 / 3, 5.0, None, 3.0]
    assert user1["rating_min_7d"].to_list() == [2.0, 2.0, 5.0, None, 3.0]
    assert user1["rating_sum_all"].to_list() == [6.0, 11.0, 11.0, 11.0, 14.0]
    std = user1["rating_std_all"].to_list()
    assert std[0] == pytest.approx(2**0.5) and std[4] == pytest.approx(1.2909944)
    assert user1["rating_max_all"].to_list() == [4.0, 5.0, 5.0, 5.0, 5.0]
    assert user1["movie_id_count_distinct_all"].to_list() == [2, 2, 2, 2, 3]
    assert user1["last"].to_list() == [at(1, 20), at(3), at(3), at(3), at(12)]
    user2 = rows.filter(pl.col("user_id") == 2)
    # Its Jan 5 rating leaves the 7-day window on Jan 13, within the data's last boundary.
    assert user2["event_timestamp"].dt.day().to_list() == [6, 13]
    assert user2["rating_count_7d"].to_list() == [1, 0]
    assert user2["rating_std_all"].to_list() == [None, None]  # one rating: no sample deviation
    assert rows.columns == [f.name for f in VIEW.schema] + ["event_timestamp"]
    assert rows.schema["rating_count_7d"] == pl.Int64


def test_since_and_until_select_boundaries() -> None:
    rows = aggregate_events(
        EVENTS,
        VIEW,
        since=datetime(2024, 1, 9, tzinfo=UTC),
        until=datetime(2024, 1, 20, tzinfo=UTC),
    ).sort("user_id", "event_timestamp")
    user1 = rows.filter(pl.col("user_id") == 1)
    assert user1["event_timestamp"].dt.day().to_list() == [9, 11, 13, 20]
    # Windows still see the events before `since`: the Jan 9 row counts the Jan 3 rating.
    assert user1["rating_count_7d"].to_list() == [1, 0, 1, 0]
    # A min cannot subtract the days before the grid: they must be read again.
    assert user1["rating_min_7d"].to_list() == [5.0, None, 3.0, None]
    full = aggregate_events(EVENTS, VIEW, until=datetime(2024, 1, 20, tzinfo=UTC))
    expected = full.filter(pl.col("event_timestamp").dt.day() >= 9).sort(
        "user_id", "event_timestamp"
    )
    assert_frame_equal(rows, expected)


def test_point_in_time_join_of_aggregates_is_exact(store: object) -> None:
    from cinefeat import FeatureStore

    assert isinstance(store, FeatureStore)
    store.apply([VIEW])
    store.write_offline("acts", aggregate_events(EVENTS, VIEW))
    entity = pl.DataFrame(
        {"user_id": [1, 1, 1], "event_timestamp": [at(3, 23), at(10, 0), at(11, 0)]}
    )
    job = store.get_historical_features(entity, ["acts:rating_count_7d", "acts:rating_sum_all"])
    result = job.to_polars()
    # At Jan 3 23:00 only Jan 1's day is complete (Jan 3's ratings count from Jan 4 on).
    assert result["rating_count_7d"].to_list() == [2, 1, 0]
    assert result["rating_sum_all"].to_list() == [6.0, 11.0, 11.0]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"column": "x", "function": "median"}, "unknown function"),
        ({"column": "x", "function": "sum", "window": timedelta(hours=5)}, "whole number of days"),
        (
            {"column": "x", "function": "count_distinct", "window": timedelta(days=7)},
            "only supported over all time",
        ),
    ],
)
def test_aggregation_errors(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(DefinitionError, match=message):
        Aggregation(**kwargs)  # type: ignore[arg-type]


def test_every_aggregation_needs_a_field() -> None:
    with pytest.raises(DefinitionError, match="aggregation 'rating_sum_all' has no field"):
        FeatureView(
            "v",
            [Entity("u", ["u"])],
            [Field("u", Int64), Field("x", Int64)],
            aggregations=[Aggregation("rating", "sum")],
        )


def test_grouped_sums_of_integer_columns() -> None:
    """Integer sums come back from DuckDB as 128-bit integers unless cast: they must still scatter
    into grouped columns and keep running totals, and values past 2**53 must not overflow."""
    view = FeatureView(
        "runtime_by_genre",
        [Entity("user", ["user_id"])],
        [
            Field("user_id", Int64),
            Field("runtime_sum_7d_drama", Int64),
            Field("runtime_sum_7d_comedy", Float64),
            Field("runtime_sum_all", Float64),
        ],
        aggregations=[
            Aggregation(
                "runtime",
                "sum",
                timedelta(days=7),
                group_by="genre_ids",
                groups={18: "drama", 35: "comedy"},
            ),
            Aggregation("runtime", "sum"),
        ],
    )
    events = pl.DataFrame(
        {
            "user_id": [1, 1, 1, 2],
            "runtime": [100, 50, 7, 2**62],
            "genre_ids": [[18], [18, 35], [35], [18]],
            "event_timestamp": [at(1), at(1, 20), at(3), at(1)],
        }
    )
    rows = aggregate_events(events, view).sort("user_id", "event_timestamp")
    user1 = rows.filter(pl.col("user_id") == 1)
    assert user1["runtime_sum_7d_drama"].to_list()[:2] == [150, 150]
    assert user1["runtime_sum_7d_comedy"].to_list()[:2] == [50.0, 57.0]
    assert user1["runtime_sum_all"].to_list()[:2] == [150.0, 157.0]
    assert rows.filter(pl.col("user_id") == 2)["runtime_sum_all"][0] == float(2**62)


def test_keys_and_columns_named_like_short_sql_aliases() -> None:
    """Internal columns start with '__' (reserved), so short user names cannot collide."""
    view = FeatureView(
        "short_names",
        [Entity("b", ["b"])],
        [Field("b", Int64), Field("v_count_all_x", Int64), Field("v_sum_7d", Float64)],
        aggregations=[
            Aggregation("v", "count", group_by="grp", groups={1: "x"}),
            Aggregation("v", "sum", timedelta(days=7)),
        ],
    )
    events = pl.DataFrame(
        {"b": [1, 1], "v": [2.0, 3.0], "grp": [1, 2], "event_timestamp": [at(1), at(2)]}
    )
    rows = aggregate_events(events, view).sort("event_timestamp")
    assert rows["v_count_all_x"].to_list()[:2] == [1, 1]
    assert rows["v_sum_7d"].to_list()[:2] == [2.0, 5.0]
