"""movie_statistical: catalogue z-scores and percentile ranks per snapshot, the Bayesian
weighted rating and the popularity trend, checked against values worked out by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import polars as pl
import pytest

from cinefeat.transforms.movie_statistical import (
    movie_statistical,
    movie_statistical_features,
)
from tests.transforms.movies_fixture import S1, S2, S3, SNAPSHOTS, canonical, movies_frame

# Per-snapshot statistics of the fixture, by hand (population std, ddof 0).
# S1, nine movies. vote_average 9, 9.5, 9, 7, 9.5, 4.5, 0, 0, 5.5: mean 6, squared deviations
# 9 + 12.25 + 9 + 1 + 12.25 + 2.25 + 36 + 36 + 0.25 = 118.
# popularity 10, 50, 30, 5, 2, 20, 0.5, 1.5, 7: mean 14, squared deviations sum to 2216.5.
# vote_count 1000, 2000, 1000, 100, 5, 3000, 0, 0, 896: mean 889, squared deviations 8699952.
SD_S1 = {
    "vote_average": (6.0, math.sqrt(118 / 9)),
    "popularity": (14.0, math.sqrt(2216.5 / 9)),
    "vote_count": (889.0, math.sqrt(8699952 / 9)),
}
# S2, movies 1-3. vote_average 8.0, 8.6, 8.3: mean 8.3, squares 0.09 + 0.09 + 0.
# popularity 17, 40, 30: mean 29, squares 144 + 121 + 1. vote_count 1100, 2100, 1000: mean
# 1400, squares 90000 + 490000 + 160000.
SD_S2 = {
    "vote_average": (8.3, math.sqrt(0.18 / 3)),
    "popularity": (29.0, math.sqrt(266 / 3)),
    "vote_count": (1400.0, math.sqrt(740000 / 3)),
}
# (average rank - 1) / (n - 1). S1 ranks: vote_average 0,0 -> 1.5; 4.5 -> 3; 5.5 -> 4;
# 7 -> 5; 9,9 -> 6.5; 9.5,9.5 -> 8.5. popularity in order 7,8,5,4,9,1,6,3,2 -> 1..9.
# vote_count 0,0 -> 1.5; 5 -> 3; 100 -> 4; 896 -> 5; 1000,1000 -> 6.5; 2000 -> 8; 3000 -> 9.
PCT_S1: dict[str, dict[int, float]] = {
    "vote_average": {1: 5.5, 2: 7.5, 3: 5.5, 4: 4, 5: 7.5, 6: 2, 7: 0.5, 8: 0.5, 9: 3},
    "popularity": {7: 0, 8: 1, 5: 2, 4: 3, 9: 4, 1: 5, 6: 6, 3: 7, 2: 8},
    "vote_count": {7: 0.5, 8: 0.5, 5: 2, 4: 3, 9: 4, 1: 5.5, 3: 5.5, 2: 7, 6: 8},
}
PCT_S2: dict[str, dict[int, float]] = {
    "vote_average": {1: 0.0, 3: 0.5, 2: 1.0},
    "popularity": {1: 0.0, 3: 0.5, 2: 1.0},
    "vote_count": {3: 0.0, 1: 0.5, 2: 1.0},
}

# Weighted rating. S1: C = mean vote_average of the 7 voted movies = 54 / 7; m = the 0.75
# quantile of the 9 counts sorted 0,0,5,100,896,1000,1000,2000,3000 = element 6 = 1000.
C1, M1 = 54 / 7, 1000.0
# S2: C = (8.0 + 8.6 + 8.3) / 3 = 8.3; m = 0.75 quantile of 1000, 1100, 2100 = 1100 + 0.5 *
# 1000 = 1600. S3: C = (8.0 + 8.6) / 2 = 8.3; m = 1200 + 0.75 * 1000 = 1950.
C2, M2 = 8.3, 1600.0
C3, M3 = 8.3, 1950.0
M_BY_SNAPSHOT = {S1: (C1, M1), S2: (C2, M2), S3: (C3, M3)}

# Trend: (popularity_change, popularity_slope_7d). Snapshot times in days from S1: 0, 3.5, 5.
# Movie 1: popularity 10, 17, 20. At S2 the slope is 7 / 3.5 = 2. At S3, x = 0, 3.5, 5
# (S1 is 5 days back, inside the window), y = 10, 17, 20: Sxx = 37.25 - 8.5^2 / 3 = 79/6,
# Sxy = 159.5 - 8.5 * 47 / 3 = 79/3, slope 2.
# Movie 2: popularity 50, 40, 44: slope -10 / 3.5 at S2; at S3 Sxy = 360 - 8.5 * 134 / 3 =
# -59/3, slope (-59/3) / (79/6) = -118/79.
TREND: dict[tuple[int, datetime], tuple[float | None, float | None]] = {
    (1, S1): (None, None),
    (1, S2): (7.0, 2.0),
    (1, S3): (3.0, 2.0),
    (2, S1): (None, None),
    (2, S2): (-10.0, -10 / 3.5),
    (2, S3): (4.0, -118 / 79),
    (3, S1): (None, None),
    (3, S2): (0.0, 0.0),
}


def _rows(frame: pl.DataFrame) -> dict[tuple[int, Any], dict[str, Any]]:
    return {(r["movie_id"], r["event_timestamp"]): r for r in frame.iter_rows(named=True)}


@pytest.fixture(scope="module")
def rows() -> dict[tuple[int, Any], dict[str, Any]]:
    return _rows(movie_statistical_features(movies_frame()))


def test_feature_names() -> None:
    assert movie_statistical.feature_names == (
        "vote_average_zscore", "vote_average_pct_rank", "popularity_zscore",
        "popularity_pct_rank", "vote_count_zscore", "vote_count_pct_rank", "weighted_rating",
        "rating_confidence", "popularity_change", "popularity_slope_7d",
    )  # fmt: skip


@pytest.mark.parametrize("column", ["vote_average", "popularity", "vote_count"])
def test_zscores_and_percentile_ranks_within_each_snapshot(
    rows: dict[tuple[int, Any], dict[str, Any]], column: str
) -> None:
    index = {"vote_average": 1, "popularity": 0, "vote_count": 2}[column]
    for (movie_id, snapshot), values in SNAPSHOTS.items():
        row = rows[(movie_id, snapshot)]
        value = values[index]
        if snapshot == S3:  # two movies: the lower is -1 and 0, the higher +1 and 1
            high = movie_id == 2
            assert row[f"{column}_zscore"] == pytest.approx(1.0 if high else -1.0)
            assert row[f"{column}_pct_rank"] == (1.0 if high else 0.0)
            continue
        mean, std = (SD_S1 if snapshot == S1 else SD_S2)[column]
        expected_pct = PCT_S1[column][movie_id] / 8 if snapshot == S1 else PCT_S2[column][movie_id]
        assert row[f"{column}_zscore"] == pytest.approx((value - mean) / std, abs=1e-12)
        assert row[f"{column}_pct_rank"] == pytest.approx(expected_pct, abs=1e-12)


def test_weighted_rating_and_confidence(rows: dict[tuple[int, Any], dict[str, Any]]) -> None:
    for (movie_id, snapshot), (_, rating, votes) in SNAPSHOTS.items():
        row = rows[(movie_id, snapshot)]
        prior, m = M_BY_SNAPSHOT[snapshot]
        confidence = votes / (votes + m)
        assert row["rating_confidence"] == pytest.approx(confidence, rel=1e-12)
        expected = confidence * rating + (1 - confidence) * prior
        assert row["weighted_rating"] == pytest.approx(expected, rel=1e-12), movie_id
    # Spelled out for a few rows.
    assert rows[(1, S1)]["weighted_rating"] == pytest.approx(0.5 * 9 + 0.5 * 54 / 7)
    assert rows[(2, S1)]["rating_confidence"] == pytest.approx(2 / 3)
    assert rows[(5, S1)]["weighted_rating"] == pytest.approx((5 * 9.5 + 1000 * 54 / 7) / 1005)
    # Zero votes: no evidence, the snapshot's prior alone (not TMDB's 0.0 average).
    assert rows[(7, S1)]["rating_confidence"] == 0.0
    assert rows[(7, S1)]["weighted_rating"] == pytest.approx(54 / 7)
    assert rows[(3, S2)]["weighted_rating"] == pytest.approx(8.3)
    assert rows[(1, S3)]["weighted_rating"] == pytest.approx((1200 * 8 + 1950 * 8.3) / 3150)


def test_popularity_change_and_7_day_slope(rows: dict[tuple[int, Any], dict[str, Any]]) -> None:
    for key in SNAPSHOTS:
        change, slope = TREND.get(key, (None, None))
        row = rows[key]
        assert row["popularity_change"] == (
            None if change is None else pytest.approx(change, abs=1e-9)
        ), key
        assert row["popularity_slope_7d"] == (
            None if slope is None else pytest.approx(slope, abs=1e-9)
        ), key


def _one_movie(points: Sequence[tuple[float, float | None]]) -> pl.DataFrame:
    return canonical(
        [{"movie_id": 1, "popularity": y, "snapshot_ts": S1 + timedelta(days=x)} for x, y in points]
    )


def test_the_slope_window_excludes_a_snapshot_exactly_7_days_back() -> None:
    # Days 0, 7, 8: at day 7 the window (day 0, day 7] holds one point; at day 8, days 7 and 8.
    result = movie_statistical_features(_one_movie([(0, 1.0), (7, 8.0), (8, 11.0)]))
    assert result["popularity_slope_7d"].to_list() == [None, None, pytest.approx(3.0)]
    assert result["popularity_change"].to_list() == [None, 7.0, 3.0]


def test_the_slope_skips_null_popularity() -> None:
    # Day 1 has no popularity: at day 1 only day 0 is usable (null slope); at day 2 the points
    # are (0, 1) and (2, 5), slope 2. Changes next to the null are null.
    result = movie_statistical_features(_one_movie([(0, 1.0), (1, None), (2, 5.0)]))
    assert result["popularity_slope_7d"].to_list() == [None, None, pytest.approx(2.0)]
    assert result["popularity_change"].to_list() == [None, None, None]


def test_the_slope_uses_fractional_days_and_all_points_in_the_window() -> None:
    # Every 12 hours, popularity y = 3 + 4 * days: the slope is 4 per day from the 2nd point.
    points = [(i / 2, 3.0 + 2.0 * i) for i in range(20)]
    result = movie_statistical_features(_one_movie(points))
    slopes = result["popularity_slope_7d"].to_list()
    assert slopes[0] is None
    assert slopes[1:] == [pytest.approx(4.0, abs=1e-9)] * 19


def test_a_snapshot_with_no_votes_at_all_has_no_prior() -> None:
    # m floors at 1 vote (the 0.75 quantile is 0), so nothing divides by zero; with no voted
    # movie there is no prior C, so the weighted rating is null and the confidence 0.
    movies = canonical(
        [
            {"movie_id": i, "vote_count": 0, "vote_average": 0.0, "popularity": 2.0}
            for i in (1, 2, 3)
        ]
    )
    result = movie_statistical_features(movies)
    assert result["rating_confidence"].to_list() == [0.0, 0.0, 0.0]
    assert result["weighted_rating"].to_list() == [None, None, None]
    # Identical values: z-score 0 and the middle rank, not NaN.
    assert result["popularity_zscore"].to_list() == [0.0, 0.0, 0.0]
    assert result["popularity_pct_rank"].to_list() == [0.5, 0.5, 0.5]


def test_a_movie_alone_in_its_snapshot_and_null_inputs() -> None:
    movies = canonical(
        [
            {"movie_id": 1, "vote_count": 40, "vote_average": 7.0, "popularity": 3.0},
            {"movie_id": 2, "vote_count": None, "vote_average": None, "popularity": None},
        ]
    )
    lone, empty = movie_statistical_features(movies).iter_rows(named=True)
    assert lone["vote_average_zscore"] == 0.0
    assert lone["vote_average_pct_rank"] == 0.5
    # m = max(quantile of [40], 1) = 40: half weight on the movie's own 7.0, half on C = 7.0.
    assert lone["rating_confidence"] == 0.5
    assert lone["weighted_rating"] == 7.0
    for name in movie_statistical.feature_names:
        assert empty[name] is None, name


def test_matches_numpy_on_a_shuffled_random_catalogue() -> None:
    rng = np.random.default_rng(11)
    n_movies, days = 40, 12
    frame = canonical(
        [
            {
                "movie_id": movie,
                "popularity": float(rng.gamma(2.0, 10.0)),
                "vote_average": float(rng.uniform(1, 10)),
                "vote_count": int(rng.integers(0, 500)),
                "snapshot_ts": S1 + timedelta(days=day, hours=int(rng.integers(0, 3)) * 4),
            }
            for day in range(days)
            for movie in range(n_movies)
            if rng.random() < 0.8
        ]
    )
    shuffled = frame.sample(fraction=1.0, shuffle=True, seed=5)
    result = movie_statistical_features(shuffled)
    assert result["movie_id"].to_list() == shuffled["movie_id"].to_list()
    merged = shuffled.with_columns(result.drop("movie_id", "event_timestamp"))
    for (movie,), history in merged.sort("snapshot_ts").group_by("movie_id", maintain_order=True):
        times = history["snapshot_ts"].to_list()
        days_ = np.array([(t - S1).total_seconds() / 86400 for t in times])
        pops = history["popularity"].to_numpy()
        for i, t in enumerate(times):
            inside = [j for j in range(i + 1) if t - timedelta(days=7) < times[j]]
            got = history["popularity_slope_7d"][i]
            if len(inside) < 2:
                assert got is None
            else:
                want = np.polyfit(days_[inside], pops[inside], 1)[0]
                assert got == pytest.approx(want, rel=1e-8, abs=1e-9), (movie, i)
    for (_,), snapshot in merged.group_by("snapshot_ts"):
        values = snapshot["popularity"].to_numpy()
        want = (values - values.mean()) / values.std()
        assert snapshot["popularity_zscore"].to_numpy() == pytest.approx(want, abs=1e-9)
