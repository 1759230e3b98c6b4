"""FeatureValidator: rules catch every planted violation and nothing else, with counts and
samples; a view adds dtype checks; bad data never raises."""

from __future__ import annotations

import numpy as np
import pandera.polars as pa
import polars as pl

from cinefeat import Entity, FeatureView, Field
from cinefeat.quality import (
    AllowedValues,
    Custom,
    FeatureValidator,
    InRange,
    Matches,
    NotNull,
    Unique,
)
from cinefeat.types import Float64, Int64, String

HUNDREDS = pl.col("votes") % 100 == 0
RULES = [
    NotNull("rating"),
    NotNull("budget", max_null_rate=0.10),
    InRange("rating", 0.0, 10.0),
    InRange("votes", min=0),
    AllowedValues("language", ("en", "fr", "ja")),
    Matches("imdb_id", r"^tt\d{7}$"),
    Unique("movie_id"),
    Custom(
        "votes",
        "votes are whole hundreds",
        pa.Check(lambda d: d.lazyframe.select(pl.col("votes") % 100 == 0)),
    ),
]


def clean(n: int = 1_000) -> pl.DataFrame:
    rng = np.random.default_rng(0)
    return pl.DataFrame(
        {
            "movie_id": np.arange(n),
            "rating": rng.uniform(0, 10, n),
            "budget": pl.Series([None] * 50 + list(rng.uniform(1e6, 1e8, n - 50))),
            "votes": rng.integers(0, 50, n) * 100,
            "language": rng.choice(["en", "fr", "ja"], n),
            "imdb_id": [f"tt{i:07d}" for i in range(n)],
        }
    )


def test_a_clean_frame_passes_every_rule() -> None:
    report = FeatureValidator(RULES).validate_features(clean())
    assert report.passed and report.score == 100.0
    assert len(report.results) == len(RULES)
    assert all(r.failing_rows == 0 for r in report.results)


def test_every_planted_violation_is_caught_and_nothing_else() -> None:
    frame = clean().with_columns(
        rating=pl.when(pl.col("movie_id") == 3)
        .then(None)
        .when(pl.col("movie_id").is_in([4, 5]))
        .then(11.0)
        .otherwise(pl.col("rating")),
        votes=pl.when(pl.col("movie_id") == 6)
        .then(-100)
        .when(pl.col("movie_id") == 7)
        .then(150)
        .otherwise(pl.col("votes")),
        language=pl.when(pl.col("movie_id") == 8).then(pl.lit("xx")).otherwise(pl.col("language")),
        imdb_id=pl.when(pl.col("movie_id") == 9).then(pl.lit("nm123")).otherwise(pl.col("imdb_id")),
        movie_id=pl.when(pl.col("movie_id") == 10).then(11).otherwise(pl.col("movie_id")),
    )
    report = FeatureValidator(RULES).validate_features(frame)
    failed = {r.rule: (r.failing_rows, r.samples) for r in report.failed()}
    assert failed == {
        "rating is not null": (1, []),
        "rating in [0.0, 10.0]": (2, ["11.0", "11.0"]),  # failing values, as text
        "votes in [0, None]": (1, ["-100"]),
        "language in ['en', 'fr', 'ja']": (1, ["xx"]),
        "imdb_id matches /^tt\\d{7}$/": (1, ["nm123"]),
        "movie_id is unique": (2, ["11", "11"]),
        "votes: votes are whole hundreds": (1, ["150"]),
    }
    assert not report.passed
    assert 99.0 < report.score < 100.0  # a few rows of 1,000 per failing rule


def test_a_null_rate_over_its_allowance_fails() -> None:
    frame = clean().with_columns(budget=pl.lit(None, pl.Float64))
    (result,) = [
        r for r in FeatureValidator(RULES).validate_features(frame).results if r.column == "budget"
    ]
    assert not result.passed and result.message == "1,000 null values (100.00%)"


def test_a_view_adds_dtype_checks_and_missing_columns_fail() -> None:
    movie = Entity("movie", ["movie_id"])
    view = FeatureView(
        "movies",
        [movie],
        [Field("movie_id", Int64), Field("rating", Float64), Field("language", String)],
    )
    frame = clean().with_columns(pl.col("rating").cast(pl.Float32))
    report = FeatureValidator([NotNull("title")]).validate_features(frame, view)
    failed = {r.rule: r.message for r in report.failed()}
    assert failed == {
        "rating is Float64": "rating is Float32, expected Float64",
        "title is not null": "no such column",
    }
