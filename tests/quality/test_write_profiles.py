"""Every offline commit stores a profile of what it wrote: write_offline, replace_offline
(with staged files) and push to the offline store; values computed by hand; large writes are
sampled but keep exact counts and moments; a failing profile never fails the write."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from cinefeat import FeatureStore, FeatureView
from cinefeat.offline import stage_rows
from cinefeat.quality import list_write_profiles, profile_frame
from tests.helpers import at


def rows(
    ids: list[int], counts: list[int | None], ratings: list[float], day: float
) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "user_id": ids,
            "rating_count": pl.Series(counts, dtype=pl.Int64),
            "avg_rating": ratings,
            "genres": [[1]] * len(ids),
            "event_timestamp": [at(day)] * len(ids),
        }
    )


def test_write_offline_stores_a_profile_of_the_rows_written(
    applied: FeatureStore, user_stats: FeatureView
) -> None:
    first = applied.write_offline(
        "user_stats", rows([1, 2, 3, 4], [1, None, 3, 3], [1, 2, 3, 6], 0)
    )
    second = applied.write_offline("user_stats", rows([5], [7], [4.0], 1))
    records = applied.registry.quality_records()
    profiles = list_write_profiles(records, "user_stats")
    assert [(p.delta_version, p.operation) for p in profiles] == [
        (second.delta_version, "write"),
        (first.delta_version, "write"),
    ]
    old = profiles[1].profile
    assert old.rows == 4 and old.sampled_rows is None
    count = old.columns["rating_count"]
    assert (count.null_count, count.null_rate, count.distinct) == (1, 0.25, 2)
    assert (count.min, count.max, count.mean) == (1.0, 3.0, pytest.approx(7 / 3))
    assert count.top == [(3, 2), (1, 1)]
    rating = old.columns["avg_rating"]
    assert rating.mean == 3.0 and rating.std == pytest.approx(np.std([1, 2, 3, 6], ddof=1))
    assert rating.quantiles["p50"] == 2.5
    assert "genres" not in old.columns  # lists are not profiled
    assert old.columns["event_timestamp"].min == at(0).isoformat()
    assert profiles[0].profile.rows == 1 and profiles[0].version == 1


def test_replace_and_push_store_profiles_too(
    applied: FeatureStore, user_stats: FeatureView, repo: Path
) -> None:
    applied.write_offline("user_stats", rows([1], [1], [1.0], 0))
    view = applied.get_feature_view("user_stats")
    staged = stage_rows(
        view, applied.offline_store.root, rows([2, 3], [2, 2], [2.0, 4.0], 0).to_arrow(), "run-x"
    )
    result = applied.replace_offline(
        "user_stats",
        rows([1], [10], [5.0], 0),
        lambda ids: ids.filter(pl.col("event_timestamp") == at(0)),
        [staged],
    )
    applied.push("user_stats", rows([9], [9], [9.0], 2), to="offline")
    profiles = list_write_profiles(applied.registry.quality_records(), "user_stats")
    assert [p.operation for p in profiles] == ["push", "replace", "write"]
    replaced = profiles[1]
    assert replaced.delta_version == result.delta_version
    # The replacement wrote its own row and the two staged ones.
    assert replaced.profile.rows == 3
    assert replaced.profile.columns["avg_rating"].mean == pytest.approx((5 + 2 + 4) / 3)
    assert profiles[0].profile.columns["rating_count"].max == 9.0


def test_large_writes_are_sampled_with_exact_counts_and_moments(
    repo: Path, applied: FeatureStore
) -> None:
    (repo / "cinefeat.yaml").write_text(
        "project: test_project\nquality: {profile_sample_rows: 1000}\n"
    )
    store = FeatureStore(repo)
    n = 20_000
    rng = np.random.default_rng(1)
    values = rng.normal(10, 2, n)
    frame = rows(list(range(n)), [i % 7 for i in range(n)], list(values), 0)
    store.write_offline("user_stats", frame)
    profile = list_write_profiles(store.registry.quality_records(), "user_stats")[0].profile
    exact = profile_frame(frame)
    assert profile.sampled_rows == 1000 and exact.sampled_rows is None
    got, want = profile.columns["avg_rating"], exact.columns["avg_rating"]
    assert (got.count, got.null_count, got.min, got.max) == (n, 0, want.min, want.max)
    assert got.mean == pytest.approx(want.mean, rel=1e-12)
    assert got.std == pytest.approx(want.std, rel=1e-12)
    assert got.quantiles["p50"] == pytest.approx(want.quantiles["p50"], abs=0.2)
    assert sum(got.histogram["counts"]) == pytest.approx(n, rel=0.01)
    assert got.distinct == pytest.approx(n, rel=0.05)  # HyperLogLog estimate
    assert dict(profile.columns["rating_count"].top)[0] == pytest.approx(n / 7, rel=0.05)
    store.close()


def test_profiling_can_be_switched_off(repo: Path, applied: FeatureStore) -> None:
    (repo / "cinefeat.yaml").write_text(
        "project: test_project\nquality: {profile_on_write: false}\n"
    )
    store = FeatureStore(repo)
    store.write_offline("user_stats", rows([1], [1], [1.0], 0))
    assert list_write_profiles(store.registry.quality_records(), "user_stats") == []
    store.close()


def test_a_failing_profile_leaves_the_write_in_place(
    applied: FeatureStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def explode(*args: object, **kwargs: object) -> None:
        raise OSError("registry is read-only")

    monkeypatch.setattr("cinefeat.quality.store_write_profile", explode)
    with caplog.at_level(logging.WARNING, logger="cinefeat.quality"):
        result = applied.write_offline("user_stats", rows([1], [1], [1.0], 0))
    assert result.rows == 1 and applied.read_offline("user_stats").num_rows == 1
    assert "could not store the profile of user_stats__v1" in caplog.text


def test_columns_named_like_internal_ones_are_profiled(applied: FeatureStore) -> None:
    frame = pl.DataFrame({"n": [1, 1, 2], "count": [3, 3, 3], "value": ["a", "a", "b"]})
    profile = profile_frame(frame)
    assert profile.columns["n"].top == [(1, 2), (2, 1)]
    assert profile.columns["count"].top == [(3, 3)]
    assert profile.columns["value"].top == [("a", 2), ("b", 1)]


def test_a_write_that_skips_stored_rows_profiles_only_the_new_ones(applied: FeatureStore) -> None:
    applied.write_offline("user_stats", rows([1, 2, 3], [1, 2, 3], [1.0, 2.0, 3.0], 0))
    again = rows([1, 2, 3, 4], [1, 2, 3, 40], [1.0, 2.0, 3.0, 4.0], 0)
    result = applied.write_offline("user_stats", again, skip_existing=True)
    assert result.rows == 1
    newest = list_write_profiles(applied.registry.quality_records(), "user_stats")[0]
    assert newest.delta_version == result.delta_version and newest.profile.rows == 1
    assert newest.profile.columns["rating_count"].min == 40.0
