"""The drift report's body: read a reference and a current sample of a view's stored rows (a
Delta version, an event-time range, 'latest', or a frame), test them with `detect_drift`, and
show the PSI per feature, the test table and each feature's two distributions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from cinefeat.quality._category_counts import category_counts
from cinefeat.quality._drift import DriftReport, DriftThresholds, detect_drift
from cinefeat.quality._report_html import (
    DASH,
    Html,
    badge,
    figure_block,
    join,
    kpis,
    number,
    paragraph,
    percent,
    section,
    table,
    tag,
)
from cinefeat.quality._report_plots import (
    MAX_CATEGORIES,
    category_shares_figure,
    png_data_uri,
    psi_figure,
    sample_histogram_figure,
)

if TYPE_CHECKING:
    from cinefeat.definitions import FeatureView

__all__ = ["describe_sample", "drift_body"]


def describe_sample(sample: Any) -> str:
    """How a sample argument reads in a heading."""
    if isinstance(sample, int) and not isinstance(sample, bool):
        return f"Delta version {sample}"
    if isinstance(sample, str):
        text = sample.strip()
        if text.removeprefix("v").isdigit():
            return f"Delta version {text.removeprefix('v')}"
        if ".." in text:
            return f"event time {text}"
        return "every row now" if text == "latest" else text
    return "a dataframe"


def _category_chart(name: str, reference: pl.Series, current: pl.Series) -> Html:
    """Shares of the most common categories (over both samples), the rest pooled."""
    counts = category_counts(reference, current, MAX_CATEGORIES)
    categories = list(counts.categories)
    if counts.pooled:
        categories.append(f"(other: {counts.pooled:,})")
    shares = (
        counts.reference / max(counts.reference.sum(), 1.0),
        counts.current / max(counts.current.sum(), 1.0),
    )
    figure = category_shares_figure(name, categories, *shares)
    return figure_block(png_data_uri(figure), f"{name}: reference and current shares")


def _numeric_chart(name: str, reference: pl.Series, current: pl.Series) -> Html:
    values = []
    for series in (reference, current):
        array = series.drop_nulls().cast(pl.Float64).to_numpy()
        values.append(array[np.isfinite(array)])
    figure = sample_histogram_figure(name, values[0], values[1])
    return figure_block(png_data_uri(figure), f"{name}: reference and current distributions")


def _test_table(report: DriftReport) -> Html:
    headers = [
        "feature", "kind", "test", "statistic", "p-value", "PSI", "JS distance",
        "reference nulls", "current nulls", "drifted",
    ]  # fmt: skip
    rows = [
        [
            name,
            column.kind,
            column.test,
            number(column.statistic),
            f"{column.p_value:.3g}",
            f"{column.psi:.3f}",
            DASH if column.js_distance is None else f"{column.js_distance:.3f}",
            percent(column.reference_null_rate),
            percent(column.current_null_rate),
            badge("drifted", "bad") if column.drifted else badge("no", "good"),
        ]
        for name, column in report.columns.items()
    ]
    numeric = ("statistic", "p-value", "PSI", "JS distance", "reference nulls", "current nulls")
    return table(headers, rows, numeric=numeric)


def drift_body(
    view: FeatureView,
    reference: pl.DataFrame,
    current: pl.DataFrame,
    thresholds: DriftThresholds | None = None,
) -> tuple[DriftReport, Html]:
    """Test the view's features between the two samples; the report and its HTML."""
    columns = [c for c in view.feature_names if c in reference.columns and c in current.columns]
    report = detect_drift(reference, current, columns, thresholds)
    t = report.thresholds
    drifted = report.drifted_columns
    headline = kpis(
        [
            ("reference rows", number(reference.height)),
            ("current rows", number(current.height)),
            ("features compared", str(len(report.columns))),
            ("drifted", badge(str(len(drifted)), "bad" if drifted else "good")),
        ]
    )
    verdict = (
        badge("drifted", "bad") + Html(" ") + Html(", ".join(tag("strong", n) for n in drifted))
        if drifted
        else badge("no feature drifted", "good")
    )
    method = paragraph(
        "Numbers are compared with the two-sample Kolmogorov-Smirnov test and the population "
        "stability index over the reference's deciles; categories with the chi-square test, the "
        "PSI and the Jensen-Shannon distance. A feature is flagged when the test rejects "
        f"(p < {t.alpha:g}) and the change is material (PSI at least {t.psi:g}, or for "
        f"categories a JS distance at least {t.js:g}). PSI = Σ (c - r)·ln(c / r) over the bins' "
        "shares; below 0.1 is usually read as stable, 0.1-0.25 as moderate, above 0.25 as large.",
        class_="note",
    )
    psi = {name: column.psi for name, column in report.columns.items() if np.isfinite(column.psi)}
    summary: list[object] = [headline, paragraph(verdict), method]
    if psi:
        figure = psi_figure(psi, drifted, t.psi, f"{view.name}: PSI per feature")
        summary.append(figure_block(png_data_uri(figure), f"{view.name}: PSI per feature"))
    parts: list[object] = [section("summary", "Which features drifted", *summary)]
    parts.append(section("tests", "Tests per feature", _test_table(report)))
    order = sorted(report.columns.values(), key=lambda c: (not c.drifted, -c.psi))
    charts = [
        _numeric_chart(c.column, reference.get_column(c.column), current.get_column(c.column))
        if c.kind == "numeric" and not reference.schema[c.column].is_temporal()
        else _category_chart(c.column, reference.get_column(c.column), current.get_column(c.column))
        if c.kind == "categorical"
        else paragraph(f"{c.column}: a time column; see the table.", class_="note")
        for c in order
    ]
    skipped = [c for c in columns if c not in report.columns]
    note = (
        paragraph(f"Not compared (no values on one side): {', '.join(skipped)}.", class_="note")
        if skipped
        else Html("")
    )
    parts.append(
        section(
            "distributions",
            "Distributions: reference (filled) and current (outline or orange bars)",
            note,
            tag("div", *charts, class_="plots"),
        )
    )
    return report, join(parts)
