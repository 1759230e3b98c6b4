"""The drift report on the repo of test_report.py (its two writes differ in popularity and in
missing languages), on features whose names clash with counting columns, and the category
counts the report's charts share with the chi-square drift test."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
from scipy import stats

import cinefeat.quality._report_drift as report_drift
from cinefeat import FeatureStore, FeatureView, Field
from cinefeat.errors import CinefeatError
from cinefeat.quality import DriftThresholds, detect_drift, drift_report
from cinefeat.quality._category_counts import category_counts
from cinefeat.quality._report_html import number
from cinefeat.quality._report_plots import category_shares_figure
from cinefeat.types import Int64, String
from tests.quality.test_report import DAY, MOVIE, build_report_repo, check


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> FeatureStore:
    path = tmp_path_factory.mktemp("report_drift") / "repo"
    build_report_repo(path, models=False)
    return FeatureStore(path)


def test_drift_report_matches_detect_drift(store: FeatureStore) -> None:
    document = drift_report(store, "movie_stats", 0, "v1")
    found = check(document)
    words = found.words
    assert "Delta version 0 (2,000 rows) against Delta version 1 (4,000 rows)" in words
    reference = pl.from_arrow(store.read_offline("movie_stats", 0))
    current = pl.from_arrow(store.read_offline("movie_stats", 1))
    expected = detect_drift(reference, current, ["popularity", "votes", "language"])
    assert expected.drifted_columns == ["popularity"]
    for name, column in expected.columns.items():
        verdict = "drifted" if column.drifted else "no"
        row = f"{name} {column.kind} {column.test} {number(column.statistic)} "
        row += f"{column.p_value:.3g} {column.psi:.3f}"
        assert row in words and verdict in words
    assert "language categorical chi2" in words and "0.0% 15.0% no" in words  # nulls diluted
    assert len(found.images) == 4  # PSI bars and one chart per feature
    assert "&lt;i&gt;xx&lt;/i&gt;" not in document  # category values live in the PNGs only
    # Time ranges and frames are samples too.
    by_time = check(drift_report(store, "movie_stats", "..2024-03-02", "2024-03-02..")).words
    assert "(2,000 rows) against event time 2024-03-02.. (2,000 rows)" in by_time
    framed = check(drift_report(store, "movie_stats", reference, current)).words
    assert "a dataframe (2,000 rows) against a dataframe (4,000 rows)" in framed


def test_drift_report_refuses_bad_samples(store: FeatureStore) -> None:
    with pytest.raises(CinefeatError, match="reference: 'yesterday' is not a sample"):
        drift_report(store, "movie_stats", "yesterday")
    with pytest.raises(CinefeatError, match="current: 'soon' is not an ISO 8601 time"):
        drift_report(store, "movie_stats", 0, "soon..")
    with pytest.raises(CinefeatError, match="the reference sample of movie_stats has no rows"):
        drift_report(store, "movie_stats", "2030-01-01..")


def test_drift_report_of_categories_named_like_counting_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The report's category chart used to count into columns "r" and "c": a feature with one
    # of those names made Polars refuse to count it (a DuplicateError), so the report crashed.
    names = ["r", "c", "value", "reference", "current"]
    fields = [Field("movie_id", Int64), *(Field(n, String) for n in names)]
    (tmp_path / "cinefeat.yaml").write_text("project: clash\n")
    store = FeatureStore(tmp_path)
    store.apply([MOVIE, FeatureView("clash", [MOVIE], fields)])
    for day, english in ((0, 100), (1, 360)):  # of 400 rows: 25% English, then 90%
        languages = ["en"] * english + ["fr"] * (400 - english)
        frame = pl.DataFrame({"movie_id": np.arange(400), **dict.fromkeys(names, languages)})
        store.write_offline(
            "clash", frame.with_columns(event_timestamp=pl.lit(DAY + timedelta(day)))
        )
    charted: dict[str, tuple[list[str], list[float], list[float]]] = {}

    def chart(name: str, categories: list[str], reference: np.ndarray, current: np.ndarray) -> Any:
        charted[name] = (list(categories), reference.tolist(), current.tolist())
        return category_shares_figure(name, categories, reference, current)

    monkeypatch.setattr(report_drift, "category_shares_figure", chart)
    document = drift_report(store, "clash", 0, 1)
    found = check(document)
    expected = detect_drift(
        pl.from_arrow(store.read_offline("clash", 0)),
        pl.from_arrow(store.read_offline("clash", 1)),
        names,
    )
    assert expected.drifted_columns == names
    for name, column in expected.columns.items():
        row = f"{name} categorical chi2 {number(column.statistic)} {column.p_value:.3g}"
        assert f"{row} {column.psi:.3f}" in found.words
        assert f'alt="{name}: reference and current shares"' in document
    assert len(found.images) == 1 + len(names)  # PSI bars and one chart per feature
    # Current (Delta version 1) holds both writes: 460 English of 800 rows.
    assert charted == dict.fromkeys(names, (["fr", "en"], [0.75, 0.25], [0.425, 0.575]))


def test_category_counts_keep_the_most_common_and_pool_the_rest() -> None:
    reference = pl.Series("r", ["a", "a", "b", None, "d"])
    current = pl.Series("c", ["b", "b", "c", None, None, "e"])
    # Totals over both samples: b 3, a 2, then c, d and e once each (ties in text order).
    counts = category_counts(reference, current, 3)
    assert counts.categories == ["b", "a", "c"]
    assert counts.reference.tolist() == [1.0, 2.0, 0.0, 1.0]  # the last cell pools d and e
    assert counts.current.tolist() == [2.0, 0.0, 1.0, 1.0]
    assert counts.pooled == 2
    every = category_counts(reference, current, 10)
    assert every.categories == ["b", "a", "c", "d", "e"] and every.pooled == 0
    assert every.reference.tolist() == [1.0, 2.0, 0.0, 1.0, 0.0]
    # Whatever the series are called, and whatever their type: values are counted as text.
    for name in ("value", "reference", "current", "n"):
        named = category_counts(pl.Series(name, [1, 1, 2]), pl.Series(name, [2, None]), 5)
        assert (named.categories, named.reference.tolist()) == (["1", "2"], [2.0, 1.0])
        assert named.current.tolist() == [0.0, 1.0]
    empty = category_counts(pl.Series("x", [None], pl.String), pl.Series("x", ["a"]), 5)
    assert (empty.categories, empty.reference.tolist(), empty.current.tolist()) == (
        ["a"], [0.0], [1.0],
    )  # fmt: skip


def test_category_counts_are_the_cells_the_chi_square_drift_test_compares() -> None:
    rng = np.random.default_rng(4)
    values = [f"g{i}" for i in range(8)]
    shares = np.arange(8, 0, -1) / 36
    reference = pl.Series("genre", rng.choice(values, 3_000, p=shares))
    current = pl.Series("genre", rng.choice(values, 3_000, p=shares[::-1]))
    thresholds = DriftThresholds(max_categories=5)  # three rarer genres pooled
    counts = category_counts(reference, current, thresholds.max_categories)
    assert len(counts.categories) == 5 and counts.pooled == 3
    assert counts.reference.sum() == counts.current.sum() == 3_000
    table = np.vstack([counts.reference, counts.current])
    test = stats.chi2_contingency(table, correction=False)
    column = detect_drift(reference.to_frame(), current.to_frame(), thresholds=thresholds)
    assert column.columns["genre"].statistic == pytest.approx(test.statistic, rel=1e-12)
    assert column.columns["genre"].p_value == pytest.approx(test.pvalue, rel=1e-9, abs=1e-300)
