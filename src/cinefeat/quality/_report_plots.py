"""The charts of the quality reports, as matplotlib Figures built without pyplot (no global
state, no display), and their PNG encoding as data: URIs for inline <img> tags."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from cinefeat.quality._report_html import shorten

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from cinefeat.quality._profile import ColumnProfile

__all__ = [
    "CURRENT",
    "REFERENCE",
    "category_shares_figure",
    "online_experiment_figure",
    "png_data_uri",
    "profile_figure",
    "psi_figure",
    "sample_histogram_figure",
    "time_series_figure",
]

REFERENCE = "#8da9c4"  # earlier data: muted blue
CURRENT = "#e07b39"  # the data looked at: orange
DRIFTED = "#c0392b"
STEADY = "#3b6ea5"
_SERIES = ("#3b6ea5", "#e07b39", "#2e8b57", "#8e44ad", "#c0392b", "#17a2b8", "#7f6000", "#555")
MAX_CATEGORIES = 12  # bars per category chart; the rest are pooled as "(other)"
LABEL_WIDTH = 22  # characters of a category label on a chart axis
DPI = 100
RANGE_PROBE = 200_000


def png_data_uri(figure: Figure) -> str:
    """The figure as a base64 PNG data: URI; the figure is cleared afterwards (its memory is
    released: nothing else refers to a Figure made without pyplot)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    figure.clear()
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _figure(width: float, height: float, *, left: float = 0.75, wspace: float = 0.0) -> Figure:
    """A figure with fixed margins in inches (`left` holds the y tick labels and label):
    about half the cost of a layout engine, which draws every figure twice."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    figure.subplots_adjust(
        left=left / width,
        right=1 - 0.2 / width,
        bottom=0.58 / height,
        top=1 - 0.32 / height,
        wspace=wspace,
    )
    return figure


def _label_room(labels: Sequence[str]) -> float:
    """Inches for y tick labels of this many characters (8 pt DejaVu Sans) and the pads."""
    return 0.3 + 0.068 * max((len(label) for label in labels), default=1)


def _style(axis: Axes, title: str, xlabel: str, ylabel: str) -> None:
    axis.set_title(title, fontsize=10, loc="left")
    axis.set_xlabel(xlabel, fontsize=9)
    axis.set_ylabel(ylabel, fontsize=9)
    axis.tick_params(labelsize=8)
    axis.grid(alpha=0.3, linewidth=0.6)
    axis.set_axisbelow(True)
    for side in ("top", "right"):
        axis.spines[side].set_visible(False)


def _date_axis(axis: Axes) -> None:
    """Dates on the x axis, labelled as concisely as their range allows."""
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

    locator = AutoDateLocator()  # type: ignore[no-untyped-call]
    axis.xaxis.set_major_locator(locator)
    axis.xaxis.set_major_formatter(ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def _density(histogram: Mapping[str, Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """Edges and density (share of rows per unit of x) of a stored equal-width histogram."""
    edges = np.asarray(histogram["edges"], dtype=np.float64)
    counts = np.asarray(histogram["counts"], dtype=np.float64)
    widths = np.diff(edges)
    total = counts.sum()
    if total <= 0 or not (widths > 0).all():
        return edges, np.zeros_like(counts)
    density: np.ndarray = counts / (total * widths)
    return edges, density


def profile_figure(column: ColumnProfile, previous: ColumnProfile | None) -> Figure | None:
    """One feature of a write profile: a histogram (numbers) or the most common values' shares
    (anything else), with the previous write drawn as a black outline (numbers) or black ticks
    (values). None when the profile holds neither (a time column, or mostly unique text)."""
    histogram = bool(column.histogram and column.histogram.get("edges"))
    if not histogram and not column.top:
        return None
    common = [] if histogram else column.top[:MAX_CATEGORIES]
    labels = [shorten(value, LABEL_WIDTH) for value, _ in common]
    figure = _figure(4.2, 2.7, left=_label_room(labels) if labels else 0.75)
    axis = figure.subplots()
    if histogram:
        edges, density = _density(column.histogram)
        if edges[-1] > edges[0]:
            axis.stairs(density, edges, fill=True, color=STEADY, alpha=0.75)
        else:  # every value the same: one bar
            axis.bar([edges[0]], [1.0], width=max(abs(edges[0]) * 0.05, 0.5), color=STEADY)
        if previous is not None and previous.histogram and previous.histogram.get("edges"):
            old_edges, old_density = _density(previous.histogram)
            if old_edges[-1] > old_edges[0]:
                axis.stairs(old_density, old_edges, color="#222", linewidth=1.3)
        _style(axis, column.column, "value", "density (share per unit)")
        return figure
    shown = column.top[:MAX_CATEGORIES][::-1]  # the most common at the top
    positions = np.arange(len(shown))
    shares = np.array([n for _, n in shown], dtype=np.float64) / max(column.count, 1)
    axis.barh(positions, shares * 100, color=STEADY, alpha=0.8)
    if previous is not None and previous.top:
        earlier = {str(v): n / max(previous.count, 1) for v, n in previous.top}
        marks = np.array([earlier.get(str(v), np.nan) for v, _ in shown], dtype=np.float64)
        axis.plot(marks * 100, positions, "|", color="#222", markersize=12, mew=2)
    axis.set_yticks(positions, labels[::-1])
    _style(axis, column.column, "share of rows (%)", "")
    return figure


def sample_histogram_figure(name: str, reference: np.ndarray, current: np.ndarray) -> Figure:
    """Reference and current values of one numeric feature over the same bins, spanning both
    samples' 0.5-99.5th percentiles (so a few outliers do not flatten the picture): 30 bins,
    or one per integer for whole numbers over a range of at most 60."""
    both = np.concatenate([reference, current])
    # The range from a seeded probe: percentiles of 200,000 values are as good for a chart.
    probe = np.random.default_rng(0).choice(both, RANGE_PROBE) if both.size > RANGE_PROBE else both
    low, high = np.quantile(probe, [0.005, 0.995]) if both.size else (0.0, 1.0)
    whole = bool(both.size) and bool(np.all(both == np.round(both)))
    if whole and high - low <= 60:  # counts and codes: one bin per integer, no comb pattern
        edges = np.arange(np.floor(low) - 0.5, np.ceil(high) + 1.0)
    else:
        if not high > low:
            low, high = float(both.min(initial=0.0)) - 0.5, float(both.max(initial=0.0)) + 0.5
        edges = np.linspace(low, high, 31)
    low, high = float(edges[0]), float(edges[-1])
    figure = _figure(4.2, 2.7)
    axis = figure.subplots()
    for values, colour, label, fill in (
        (reference, REFERENCE, "reference", True),
        (current, CURRENT, "current", False),
    ):
        # Equal-width bins given as a count and range take NumPy's fast path (no sorting).
        counts, _ = np.histogram(np.clip(values, low, high), len(edges) - 1, (low, high))
        shares = counts / max(values.size, 1) * 100
        if fill:
            axis.stairs(shares, edges, fill=True, color=colour, alpha=0.7, label=label)
        else:
            axis.stairs(shares, edges, color=colour, linewidth=1.8, label=label)
    axis.legend(fontsize=7, frameon=False)
    _style(axis, name, "value (outer 0.5% clipped into the end bins)", "share of rows (%)")
    return figure


def category_shares_figure(
    name: str, categories: Sequence[str], reference: np.ndarray, current: np.ndarray
) -> Figure:
    """Reference and current shares (%) of the given categories, as paired bars."""
    labels = [shorten(c, LABEL_WIDTH) for c in categories]
    figure = _figure(4.2, 1.3 + 0.28 * max(len(categories), 3), left=_label_room(labels))
    axis = figure.subplots()
    positions = np.arange(len(categories))[::-1]
    axis.barh(positions + 0.2, reference * 100, height=0.4, color=REFERENCE, label="reference")
    axis.barh(positions - 0.2, current * 100, height=0.4, color=CURRENT, label="current")
    axis.set_yticks(positions, labels)
    axis.legend(fontsize=7, frameon=False, loc="best")
    _style(axis, name, "share of rows (%)", "")
    return figure


def psi_figure(
    psi: Mapping[str, float], drifted: Sequence[str], threshold: float, title: str
) -> Figure:
    """One bar per feature (largest PSI on top), red for the features flagged as drifted, and
    the PSI threshold as a dashed line."""
    ordered = sorted(psi.items(), key=lambda item: item[1], reverse=True)
    names = [name for name, _ in ordered][::-1]
    values = np.array([value for _, value in ordered][::-1], dtype=np.float64)
    flagged = set(drifted)
    labels = [shorten(n, 30) for n in names]
    figure = _figure(7.0, 1.2 + 0.24 * max(len(names), 3), left=_label_room(labels))
    axis = figure.subplots()
    colours = [DRIFTED if name in flagged else STEADY for name in names]
    axis.barh(np.arange(len(names)), values, color=colours)
    axis.axvline(
        threshold, color="#333", linestyle="--", linewidth=1, label=f"PSI threshold {threshold:g}"
    )
    axis.set_yticks(np.arange(len(names)), labels)
    axis.legend(fontsize=8, frameon=False, loc="lower right")
    _style(axis, title, "population stability index (PSI)", "")
    return figure


def time_series_figure(
    title: str,
    ylabel: str,
    series: Mapping[str, tuple[np.ndarray, np.ndarray]],
    *,
    reference_line: tuple[float, str] | None = None,
    limits: tuple[float | None, float | None] = (None, None),
) -> Figure:
    """One line (with markers, so a single check still shows) per series over check time,
    with an optional horizontal reference line (a budget, a threshold)."""
    figure = _figure(5.8, 2.7)
    axis = figure.subplots()
    for index, (label, (times, values)) in enumerate(series.items()):
        colour = _SERIES[index % len(_SERIES)]
        axis.plot(
            times,
            values,
            "o-",
            color=colour,
            markersize=3.5,
            linewidth=1.4,
            label=label,
        )
    if reference_line is not None:
        axis.axhline(
            reference_line[0], color="#c0392b", linestyle="--", linewidth=1, label=reference_line[1]
        )
    _date_axis(axis)
    axis.set_ylim(*limits)
    if len(series) > 1 or reference_line is not None:
        axis.legend(fontsize=7, frameon=False, loc="best")
    _style(axis, title, "check time (UTC)", ylabel)
    return figure


def online_experiment_figure(
    arms: Mapping[str, tuple[np.ndarray, int]],
    means: Mapping[str, tuple[float | None, float | None, int]],
    metric: str,
) -> Figure:
    """Left: each arm's outcomes collected over time (`arms`: sorted event times as
    datetime64 and the required count, a dashed line). Right: each arm's mean with a 95%
    normal interval (`means`: mean, standard deviation and size of the analysed sample)."""
    figure = _figure(9.6, 3.0, wspace=0.25)
    progress, estimate = figure.subplots(1, 2, width_ratios=(3, 2))
    for index, (arm, (times, required)) in enumerate(arms.items()):
        colour = _SERIES[index]
        if times.size:
            progress.step(
                times, np.arange(1, times.size + 1), where="post", color=colour, label=arm
            )
        progress.axhline(
            required,
            color=colour,
            linestyle="--",
            linewidth=1,
            label=f"{arm}: required {required:,}",
        )
    _date_axis(progress)
    progress.legend(fontsize=7, frameon=False, loc="upper left")
    _style(progress, "outcomes collected", "outcome time (UTC)", "outcomes")
    labels = list(means)
    for index, arm in enumerate(labels):
        mean, std, size = means[arm]
        if mean is None:
            continue
        half = 1.96 * std / np.sqrt(size) if std is not None and size > 1 else 0.0
        estimate.errorbar(
            [index], [mean], yerr=[[half], [half]], fmt="o", capsize=6, color=_SERIES[index]
        )
    estimate.set_xticks(range(len(labels)), labels)
    estimate.set_xlim(-0.7, len(labels) - 0.3)
    ylabel = "rate" if metric == "proportion" else "mean outcome"
    _style(estimate, "mean per arm (95% interval)", "", ylabel)
    return figure
