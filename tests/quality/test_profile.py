"""Profiles with known answers on small frames."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest

from cinefeat.quality import FrameProfile, profile_frame


def test_a_numeric_column_by_hand() -> None:
    profile = profile_frame(pl.DataFrame({"x": [1, 2, 3, 4, None]}))
    x = profile.columns["x"]
    assert profile.rows == 5
    assert (x.count, x.null_count, x.null_rate, x.distinct) == (5, 1, 0.2, 4)
    assert (x.min, x.max, x.mean) == (1.0, 4.0, 2.5)
    assert x.std == pytest.approx(math.sqrt(5 / 3))  # sample standard deviation
    assert x.quantiles["p50"] == 2.5 and x.quantiles["p25"] == 1.75  # linear interpolation
    assert x.histogram["edges"][0] == 1.0 and x.histogram["edges"][-1] == 4.0
    # 10 bins of width 0.3: 1 -> bin 0, 2 -> bin 3, 3 -> bin 6, 4 -> the last, closed bin.
    assert x.histogram["counts"] == [1, 0, 0, 1, 0, 0, 1, 0, 0, 1]
    assert sorted(x.top) == [(1, 1), (2, 1), (3, 1), (4, 1)]


def test_categories_and_times() -> None:
    at = datetime(2024, 3, 1, tzinfo=UTC)
    frame = pl.DataFrame(
        {"genre": ["a", "b", "a", None], "ts": [at, at, None, datetime(2024, 3, 2, tzinfo=UTC)]}
    )
    profile = profile_frame(frame)
    genre, ts = profile.columns["genre"], profile.columns["ts"]
    assert genre.top == [("a", 2), ("b", 1)] and genre.distinct == 2 and genre.mean is None
    assert ts.min == "2024-03-01T00:00:00+00:00" and ts.max == "2024-03-02T00:00:00+00:00"


def test_nan_and_infinity_are_left_out_of_the_statistics() -> None:
    x = profile_frame(pl.DataFrame({"x": [1.0, float("nan"), float("inf"), 3.0]})).columns["x"]
    assert (x.min, x.max, x.mean, x.null_count) == (1.0, 3.0, 2.0, 0)


def test_mostly_unique_values_get_no_top_list() -> None:
    rng = np.random.default_rng(0)
    x = profile_frame(pl.DataFrame({"x": rng.normal(size=20_000)})).columns["x"]
    assert x.top == [] and x.distinct == 20_000
    assert sum(x.histogram["counts"]) == 20_000


def test_list_columns_are_skipped_and_profiles_round_trip() -> None:
    profile = profile_frame(pl.DataFrame({"x": [1, 2], "tags": [[1], [2]]}))
    assert list(profile.columns) == ["x"]
    assert FrameProfile.from_dict(profile.to_dict()) == profile
