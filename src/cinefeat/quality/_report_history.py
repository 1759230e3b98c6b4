"""The history part of a view's report section: the quality score, freshness and null rates
of every monitoring check, as line charts over check time."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from cinefeat.quality._report_html import Html, duration, figure_block, paragraph, tag
from cinefeat.quality._report_plots import png_data_uri, time_series_figure

if TYPE_CHECKING:
    from cinefeat.definitions import FeatureView
    from cinefeat.registry import MonitorPoint
    from cinefeat.store import FeatureStore

__all__ = ["history_charts"]

NULL_RATE_LINES = 8  # features drawn in the null-rate chart (those with the most nulls)


def _points_frame(points: Sequence[MonitorPoint]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "feature": [p.feature for p in points],
            "metric": [p.metric for p in points],
            "at": [p.at for p in points],
            "value": [p.value for p in points],
        },
        schema={
            "feature": pl.String,
            "metric": pl.String,
            "at": pl.Datetime("us", "UTC"),
            "value": pl.Float64,
        },
    )


def _series(frame: pl.DataFrame, metric: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per feature ("" for the view), the metric's times (naive UTC datetime64) and values,
    oldest first."""
    chosen = frame.filter(pl.col("metric") == metric).sort("at")
    return {
        str(part["feature"][0]): (
            part["at"].dt.replace_time_zone(None).to_numpy(),
            part["value"].to_numpy(),
        )
        for part in chosen.partition_by("feature", maintain_order=True)
    }


def history_charts(store: FeatureStore, view: FeatureView, latest: dict[str, Any] | None) -> Html:
    """Line charts of the view's monitoring points; `latest` is the newest check's body (its
    staleness budget is drawn on the freshness chart). Null rates: the features that ever had
    nulls, at most NULL_RATE_LINES of them (the most null first)."""
    frame = _points_frame(store.registry.quality_records().points(view.name))
    if frame.is_empty():
        return paragraph(
            "No monitoring checks yet: run a pipeline or `cinefeat monitor`.", class_="note"
        )
    charts: list[Html] = []
    scores = _series(frame, "quality_score").get("")
    if scores:
        low = min(70.0, math.floor(scores[1].min() / 10) * 10)
        figure = time_series_figure(
            "quality score", "score (0-100)", {"quality score": scores}, limits=(low, 101)
        )
        charts.append(figure_block(png_data_uri(figure), f"{view.name}: quality score per check"))
    ages = _series(frame, "freshness_seconds").get("")
    if ages:
        unit, size = _time_unit(float(ages[1].max()))
        budget = (latest or {}).get("staleness_budget_seconds")
        line = (budget / size, f"staleness budget ({duration(budget)})") if budget else None
        figure = time_series_figure(
            "freshness: age of the newest event at each check",
            f"age ({unit})",
            {"age": (ages[0], ages[1] / size)},
            reference_line=line,
            limits=(0, None),
        )
        charts.append(figure_block(png_data_uri(figure), f"{view.name}: freshness per check"))
    rates = _series(frame, "null_rate")
    with_nulls = {name: s for name, s in rates.items() if s[1].max() > 0}
    if with_nulls:
        worst_first = sorted(with_nulls, key=lambda n: -float(with_nulls[n][1].max()))
        shown = worst_first[:NULL_RATE_LINES]
        limit = store.config.quality.monitoring.max_null_rate
        figure = time_series_figure(
            "null rate per feature (of the rows each check saw)",
            "null rate (%)",
            {n: (with_nulls[n][0], with_nulls[n][1] * 100) for n in shown},
            reference_line=None if limit is None else (limit * 100, f"alert above {limit:.0%}"),
            limits=(0, None),
        )
        hidden = len(with_nulls) - len(shown)
        caption = f"{hidden} more features with nulls not drawn." if hidden else None
        charts.append(
            figure_block(png_data_uri(figure), f"{view.name}: null rates per check", caption)
        )
    elif rates:
        charts.append(
            paragraph(
                f"No feature had nulls in any of the checks ({len(rates)} features checked).",
                class_="note",
            )
        )
    return tag("div", *charts, class_="series")


def _time_unit(seconds: float) -> tuple[str, float]:
    for unit, size in (("days", 86_400.0), ("hours", 3_600.0), ("minutes", 60.0)):
        if seconds >= 2 * size:
            return unit, size
    return "seconds", 1.0
