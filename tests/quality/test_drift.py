"""Drift detection with known answers: hand-computed PSI and KS, injected shifts found, and
identical distributions flagged in at most 5% of seeds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import polars as pl
import pytest

from cinefeat import CinefeatError
from cinefeat.quality import DriftThresholds, detect_drift, psi


def test_psi_by_hand() -> None:
    # Two equal bins in the reference; the current sample puts 75% in the first.
    expected = 0.25 * math.log(0.75 / 0.5) + (-0.25) * math.log(0.25 / 0.5)
    assert psi(np.array([50, 50]), np.array([75, 25])) == pytest.approx(expected)
    assert psi(np.array([10, 10, 10]), np.array([3, 3, 3])) == pytest.approx(0.0)


def test_numeric_psi_uses_the_reference_quantiles() -> None:
    reference = pl.DataFrame({"x": list(range(100))})  # 2 bins: below / from the median
    current = pl.DataFrame({"x": [0] * 75 + [99] * 25})
    column = detect_drift(reference, current, thresholds=DriftThresholds(bins=2)).columns["x"]
    assert column.kind == "numeric" and column.test == "ks"
    assert column.psi == pytest.approx(0.25 * math.log(1.5) + 0.25 * math.log(2))


def test_ks_statistic_by_hand() -> None:
    report = detect_drift(pd.DataFrame({"x": [1, 2, 3, 4]}), pd.DataFrame({"x": [3, 4, 5, 6]}))
    assert report.columns["x"].statistic == pytest.approx(0.5)  # max gap of the two CDFs
    assert not report.columns["x"].drifted  # 4 values each: far from significant


def test_a_mean_shift_is_detected() -> None:
    rng = np.random.default_rng(0)
    reference = pl.DataFrame({"rating": rng.normal(3.5, 1.0, 5_000)})
    current = pl.DataFrame({"rating": rng.normal(4.0, 1.0, 5_000)})
    report = detect_drift(reference, current)
    column = report.columns["rating"]
    assert column.drifted and column.p_value < 1e-10 and column.psi > 0.1
    assert report.drifted_columns == ["rating"]


def test_a_tiny_shift_in_a_huge_sample_is_significant_but_not_material() -> None:
    rng = np.random.default_rng(1)
    reference = pl.DataFrame({"x": rng.normal(0.0, 1.0, 400_000)})
    current = pl.DataFrame({"x": rng.normal(0.02, 1.0, 400_000)})
    column = detect_drift(reference, current).columns["x"]
    assert column.p_value < 0.01  # KS alone would flag it
    assert column.psi < 0.01 and not column.drifted


def test_a_change_of_category_shares_is_detected() -> None:
    rng = np.random.default_rng(2)
    genres = ["drama", "comedy", "horror", "sci-fi"]
    reference = pl.DataFrame({"genre": rng.choice(genres, 4_000, p=[0.4, 0.3, 0.2, 0.1])})
    current = pl.DataFrame({"genre": rng.choice(genres, 4_000, p=[0.1, 0.2, 0.3, 0.4])})
    column = detect_drift(reference, current).columns["genre"]
    assert column.kind == "categorical" and column.test == "chi2"
    assert column.drifted and column.js_distance is not None and column.js_distance > 0.1


def test_a_new_category_counts() -> None:
    reference = pl.DataFrame({"language": ["en"] * 500 + ["fr"] * 500})
    current = pl.DataFrame({"language": ["en"] * 500 + ["ko"] * 500})
    column = detect_drift(reference, current).columns["language"]
    assert column.drifted and column.js_distance == pytest.approx(math.sqrt(0.5), abs=1e-9)


def test_identical_distributions_are_flagged_in_at_most_5_percent_of_seeds() -> None:
    flagged = 0
    seeds = 200
    for seed in range(seeds):
        rng = np.random.default_rng(1_000 + seed)
        frames = [
            pl.DataFrame(
                {
                    "popularity": rng.lognormal(1.0, 1.0, 2_000),
                    "votes": rng.poisson(30, 2_000),
                    "genre": rng.choice(["a", "b", "c"], 2_000, p=[0.5, 0.3, 0.2]),
                }
            )
            for _ in range(2)
        ]
        flagged += detect_drift(*frames).drifted
    assert flagged / seeds <= 0.05


def test_nulls_are_left_out_and_their_rates_reported() -> None:
    reference = pl.DataFrame({"x": [1.0, 2.0, None, 4.0]})
    current = pl.DataFrame({"x": [None, None, 3.0, 4.0]})
    column = detect_drift(reference, current).columns["x"]
    assert (column.reference_rows, column.current_rows) == (3, 2)
    assert (column.reference_null_rate, column.current_null_rate) == (0.25, 0.5)


def test_columns_default_to_the_shared_ones_and_unknown_ones_are_refused() -> None:
    reference = pl.DataFrame({"a": [1, 2], "b": [1, 2], "tags": [[1], [2]]})
    current = pl.DataFrame({"a": [1, 2], "c": [1, 2], "tags": [[1], [2]]})
    assert list(detect_drift(reference, current).columns) == ["a"]  # list columns skipped
    with pytest.raises(CinefeatError, match=r"\['b'\] are not in both frames"):
        detect_drift(reference, current, columns=["a", "b"])


def test_columns_named_like_internal_ones() -> None:
    from cinefeat.quality import FeatureQualityChecker

    rng = np.random.default_rng(0)
    names = ("n", "r", "c", "side", "value")
    same = pl.DataFrame({name: rng.choice(["x", "y"], 2_000) for name in names})
    shifted = pl.DataFrame({name: rng.choice(["x", "y"], 2_000, p=[0.9, 0.1]) for name in names})
    assert detect_drift(same, same).drifted_columns == []
    assert detect_drift(same, shifted).drifted_columns == list(names)
    sentinel = pl.DataFrame({"n": np.r_[rng.normal(size=1_000), [99_999.0] * 50]})
    assert "99999.0" in str(FeatureQualityChecker().diagnose(sentinel))


def test_a_side_without_finite_values_is_left_out() -> None:
    finite = pl.DataFrame({"x": [1.0, 2.0, 3.0], "y": [1.0, 2.0, 3.0]})
    broken = pl.DataFrame({"x": [float("nan"), float("inf"), None], "y": [1.0, 2.5, 3.0]})
    for reference, current in ((finite, broken), (broken, finite)):
        assert list(detect_drift(reference, current).columns) == ["y"]
