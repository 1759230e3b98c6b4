"""movie_temporal: release date parts, release windows and ages measured from each row's own
snapshot, checked against dates worked out by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from cinefeat.transforms.movie_temporal import movie_temporal, movie_temporal_features
from tests.transforms.movies_fixture import S1, S2, S3, SNAPSHOTS, canonical, movies_frame

WINDOWS = [
    "is_winter_release",
    "is_spring_release",
    "is_summer_release",
    "is_fall_release",
    "is_holiday_release",
]

# movie_id -> (year, month, quarter, day of year, decade, the window flag that is True,
#              days from release to S1's date 2024-03-01)
EXPECTED: dict[int, tuple[int, int, int, int, int, str, int]] = {
    # 2010-06-16: 13 years with 3 leap days = 4748, then Jun 16 -> Mar 1 = 259.
    1: (2010, 6, 2, 167, 2010, "is_summer_release", 5007),
    # 2019-05-30: 4 years with 1 leap day = 1461, then May 30 -> Mar 1 = 276.
    2: (2019, 5, 2, 150, 2010, "is_spring_release", 1737),
    # 2001-07-20: 22 years with 5 leap days = 8035, then Jul 20 -> Mar 1 = 225.
    3: (2001, 7, 3, 201, 2000, "is_summer_release", 8260),
    # 2000-02-11 (a leap year): 23 years with 6 leap days = 8401, + 365, + Feb 11 -> Mar 1 = 19.
    4: (2000, 2, 1, 42, 2000, "is_winter_release", 8785),
    # 1979-06-15: 44 years with 11 leap days = 16071, then Jun 15 -> Mar 1 = 260.
    5: (1979, 6, 2, 166, 1970, "is_summer_release", 16331),
    # 1968-04-02 (leap year, so day 31+29+31+2): 55 years with 13 leap days = 20088, + 334.
    6: (1968, 4, 2, 93, 1960, "is_spring_release", 20422),
    # 2031-12-19, in the future: Mar 1 2024 -> Mar 1 2031 = 2556, + 293 to Dec 19.
    8: (2031, 12, 4, 353, 2030, "is_holiday_release", -2849),
    # 2002-10-12: 21 years with 5 leap days = 7670, then Oct 12 -> Mar 1 = 141.
    9: (2002, 10, 4, 285, 2000, "is_fall_release", 7811),
}
# Days from S1's date to each snapshot's UTC date (S2 is at noon on Mar 4; S3 is Mar 6).
SNAPSHOT_OFFSET = {S1: 0, S2: 3, S3: 5}


def _rows(frame: pl.DataFrame) -> dict[tuple[int, Any], dict[str, Any]]:
    return {(r["movie_id"], r["event_timestamp"]): r for r in frame.iter_rows(named=True)}


def test_every_feature_matches_the_hand_computed_values() -> None:
    rows = _rows(movie_temporal_features(movies_frame()))
    assert len(rows) == len(SNAPSHOTS)
    for movie_id, snapshot in SNAPSHOTS:
        row = rows[(movie_id, snapshot)]
        if movie_id == 7:  # no release date: every feature is null
            assert all(row[f] is None for f in movie_temporal.feature_names), row
            continue
        year, month, quarter, day, decade, window, days_at_s1 = EXPECTED[movie_id]
        days = days_at_s1 + SNAPSHOT_OFFSET[snapshot]
        assert row["release_year"] == year
        assert row["release_month"] == month
        assert row["release_quarter"] == quarter
        assert row["release_day_of_year"] == day
        assert row["release_decade"] == decade
        assert {w for w in WINDOWS if row[w]} == {window}
        assert row["days_since_release"] == days
        assert row["years_since_release"] == pytest.approx(days / 365.25, rel=1e-12)
        assert row["is_future_release"] is (movie_id == 8)


def test_ages_grow_with_the_snapshot_not_the_clock() -> None:
    rows = _rows(movie_temporal_features(movies_frame()))
    assert [rows[(1, s)]["days_since_release"] for s in (S1, S2, S3)] == [5007, 5010, 5012]
    assert rows[(8, S1)]["years_since_release"] == pytest.approx(-2849 / 365.25)


@pytest.mark.parametrize(
    ("month", "window"),
    [
        (1, "is_winter_release"),
        (2, "is_winter_release"),
        (3, "is_spring_release"),
        (4, "is_spring_release"),
        (5, "is_spring_release"),
        (6, "is_summer_release"),
        (7, "is_summer_release"),
        (8, "is_summer_release"),
        (9, "is_fall_release"),
        (10, "is_fall_release"),
        (11, "is_holiday_release"),
        (12, "is_holiday_release"),
    ],
)
def test_release_windows_partition_the_year(month: int, window: str) -> None:
    movies = canonical([{"movie_id": 1, "release_date": date(2020, month, 15)}])
    row = movie_temporal_features(movies).row(0, named=True)
    assert {w for w in WINDOWS if row[w]} == {window}


def test_release_on_the_snapshot_day_is_not_future_and_is_zero_days_old() -> None:
    release = date(2024, 3, 4)
    movies = canonical(
        [
            {"movie_id": 1, "release_date": release, "snapshot_ts": S1},  # 3 days before
            {"movie_id": 1, "release_date": release, "snapshot_ts": S2},  # that day, at noon
            {"movie_id": 1, "release_date": release, "snapshot_ts": S3},  # 2 days after
        ]
    )
    result = movie_temporal_features(movies)
    assert result["days_since_release"].to_list() == [-3, 0, 2]
    assert result["is_future_release"].to_list() == [True, False, False]


def test_decade_and_day_of_year_edges() -> None:
    movies = canonical(
        [
            {"movie_id": 1, "release_date": date(1999, 12, 31)},
            {"movie_id": 2, "release_date": date(2000, 1, 1)},
            {"movie_id": 3, "release_date": date(2020, 12, 31)},  # leap year: day 366
        ]
    )
    result = movie_temporal_features(movies)
    assert result["release_decade"].to_list() == [1990, 2000, 2020]
    assert result["release_day_of_year"].to_list() == [365, 1, 366]
    assert result["release_quarter"].to_list() == [4, 1, 4]


def test_the_snapshot_date_is_its_utc_date_whatever_the_input_time_zone() -> None:
    # 23:30 UTC on Mar 1 is already Mar 2 in Tokyo; the age uses the UTC date.
    late = datetime(2024, 3, 1, 23, 30, tzinfo=UTC)
    movies = canonical(
        [{"movie_id": 1, "release_date": date(2024, 3, 2), "snapshot_ts": late}]
    ).with_columns(pl.col("snapshot_ts").dt.convert_time_zone("Asia/Tokyo"))
    assert late.astimezone(ZoneInfo("Asia/Tokyo")).date() == date(2024, 3, 2)
    row = movie_temporal_features(movies).row(0, named=True)
    assert row["days_since_release"] == -1
    assert row["is_future_release"] is True
    assert row["event_timestamp"] == late
    assert movie_temporal_features(movies).schema["event_timestamp"] == pl.Datetime("us", "UTC")
