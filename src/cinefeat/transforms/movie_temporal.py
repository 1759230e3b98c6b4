"""Release-date features of a movie, with ages measured from the row's own snapshot.

Every time-relative feature is relative to the row's `snapshot_ts`, never the wall clock: a
clock-based age would leak the training run's date into historical rows (DESIGN.md, "Time in
features"). Nothing here reads the clock. Definitions:

- The snapshot date is the UTC calendar date of `snapshot_ts`; `release_date` is a date.
- `release_decade` is the year rounded down to a multiple of ten (1999 -> 1990).
- Release windows partition the year, following the film industry's release calendar rather
  than astronomical seasons, so exactly one of the five flags is True for a dated movie:
  winter = January-February, spring = March-May, summer = June-August, fall =
  September-October, holiday = November-December.
- `days_since_release` = snapshot date - release date in whole days: 0 on release day and
  negative for a release after the snapshot (it tells how far ahead the release is).
  `years_since_release` = days_since_release / 365.25, signed the same way.
- `is_future_release` is True when the release date is after the snapshot date (a movie
  released on the snapshot day has been released).

A null `release_date` gives null for every feature here, `is_future_release` included.
"""

from __future__ import annotations

import polars as pl

from cinefeat.definitions import Field
from cinefeat.transforms._movie_common import SNAPSHOT_TS, finish, movie_input, movie_view
from cinefeat.types import Bool, Float64, Int32

__all__ = ["DAYS_PER_YEAR", "RELEASE_WINDOWS", "movie_temporal", "movie_temporal_features"]

DAYS_PER_YEAR = 365.25
# feature -> release months; together they cover each month exactly once.
RELEASE_WINDOWS: dict[str, tuple[int, ...]] = {
    "is_winter_release": (1, 2),
    "is_spring_release": (3, 4, 5),
    "is_summer_release": (6, 7, 8),
    "is_fall_release": (9, 10),
    "is_holiday_release": (11, 12),
}

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _window_description(months: tuple[int, ...]) -> str:
    return f"Released {_MONTHS[months[0] - 1]}-{_MONTHS[months[-1] - 1]} (null if undated)"


movie_temporal = movie_view(
    "movie_temporal",
    "temporal",
    "Release date parts, release windows and age at the snapshot (never the wall clock)",
    [
        Field("release_year", Int32, "Year of release_date"),
        Field("release_month", Int32, "Month of release_date, 1-12"),
        Field("release_quarter", Int32, "Quarter of release_date, 1-4"),
        Field("release_day_of_year", Int32, "Day of the year of release_date, 1-366"),
        Field("release_decade", Int32, "Release year rounded down to a multiple of 10"),
        *(
            Field(name, Bool, _window_description(months))
            for name, months in RELEASE_WINDOWS.items()
        ),
        Field(
            "days_since_release",
            Int32,
            "UTC snapshot date minus release_date in days; negative before release",
        ),
        Field(
            "years_since_release",
            Float64,
            f"days_since_release / {DAYS_PER_YEAR}; negative before release",
        ),
        Field("is_future_release", Bool, "release_date is after the UTC snapshot date"),
    ],
)


def movie_temporal_features(movies: pl.DataFrame | pl.LazyFrame) -> pl.DataFrame:
    """movie_temporal's columns (movie_id, its features, event_timestamp = snapshot_ts), one
    row per input row in input order."""
    frame = movie_input(movies, ("release_date",))
    release = pl.col("release_date")
    month = release.dt.month()
    days = (pl.col(SNAPSHOT_TS).dt.date() - release).dt.total_days()
    return finish(
        frame.with_columns(
            release.dt.year().alias("release_year"),
            month.alias("release_month"),
            release.dt.quarter().alias("release_quarter"),
            release.dt.ordinal_day().alias("release_day_of_year"),
            (release.dt.year() // 10 * 10).alias("release_decade"),
            *(month.is_in(months).alias(name) for name, months in RELEASE_WINDOWS.items()),
            days.alias("days_since_release"),
            (days / DAYS_PER_YEAR).alias("years_since_release"),
            (days < 0).alias("is_future_release"),
        ),
        movie_temporal,
    )
