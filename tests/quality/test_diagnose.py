"""FeatureQualityChecker.diagnose finds every planted problem, in plain words, and nothing in
clean columns."""

from __future__ import annotations

import numpy as np
import polars as pl

from cinefeat.compat import FeatureQualityChecker as CompatChecker
from cinefeat.quality import FeatureQualityChecker


def planted() -> pl.DataFrame:
    rng = np.random.default_rng(0)
    n = 10_000
    popularity = rng.lognormal(1.0, 0.5, n)
    runtime = rng.normal(110, 15, n)
    runtime[:50] = 99_999  # a sentinel, 0.5% of rows
    ratio = rng.normal(1.0, 0.1, n)
    ratio[:3], ratio[3:5] = np.nan, np.inf
    return pl.DataFrame(
        {
            "popularity": popularity,  # clean
            "genre": rng.choice(["drama", "comedy"], n),  # clean
            "budget": pl.Series([None] * 2_000 + list(rng.normal(1e7, 1e6, n - 2_000))),
            "adult": [False] * n,
            "revenue": pl.Series([None] * n, dtype=pl.Float64),
            "runtime": runtime,
            "ratio": ratio,
            "title": [f"Movie {i}" for i in range(n)],
        }
    )


def test_every_planted_problem_is_found_and_nothing_else() -> None:
    diagnosis = FeatureQualityChecker().diagnose(planted())
    problems = {(f.column, f.problem) for f in diagnosis.findings}
    assert problems == {
        ("budget", "missing"),
        ("adult", "constant"),
        ("revenue", "empty"),
        ("runtime", "sentinel"),
        ("ratio", "not finite"),
        ("title", "id-like"),
    }
    text = str(diagnosis)
    assert "budget: 20.0% of values are null (2,000 rows)" in text
    assert "ratio: 3 NaN and 2 infinite values" in text
    assert "runtime: 50 values are 99999.0, beyond 3 IQRs of the quartiles" in text
    assert "adult: every non-null value is False" in text


def test_many_far_values_are_extreme() -> None:
    rng = np.random.default_rng(3)
    values = rng.normal(100, 10, 1_000)
    values[:50] = rng.uniform(10_000, 20_000, 50)  # 5%: cents mixed with dollars, say
    (finding,) = FeatureQualityChecker().diagnose(pl.DataFrame({"price": values})).findings
    assert (finding.column, finding.problem) == ("price", "extreme")
    assert finding.detail.startswith("50 values lie beyond 3 IQRs")


def test_a_clean_frame_is_healthy() -> None:
    frame = planted().select("popularity", "genre")
    diagnosis = FeatureQualityChecker().diagnose(frame.to_pandas())
    assert diagnosis.healthy and str(diagnosis) == "10,000 rows: no problems found"


def test_the_original_name_is_importable_from_compat() -> None:
    assert CompatChecker is FeatureQualityChecker
