"""The importance bar chart: a matplotlib Figure (no pyplot, so no global backend state),
one panel per score, features in rank order from the top."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from cinefeat.quality._importance_result import ImportanceResult

__all__ = ["importance_figure"]

_BAR = "#3b6ea5"
_NEGATIVE = "#b0b0b0"  # a drop below zero is noise: shown, but greyed out


def _nan_to_zero(values: list[float | None]) -> np.ndarray:
    array = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
    cleaned: np.ndarray = np.nan_to_num(array, nan=0.0)
    return cleaned


def importance_figure(result: ImportanceResult, top: int = 25) -> Figure:
    """Bars for the `top` ranked features: permutation importance with one standard deviation,
    mutual information, and gain when the model reports it."""
    from matplotlib.figure import Figure

    shown = result.features[: max(top, 1)]
    names = [f.feature for f in shown]
    panels: list[tuple[str, np.ndarray, np.ndarray | None]] = [
        (
            f"permutation: drop in {result.metric}",
            _nan_to_zero([f.permutation_mean for f in shown]),
            _nan_to_zero([f.permutation_std for f in shown]),
        ),
        ("mutual information (nats)", _nan_to_zero([f.mutual_info for f in shown]), None),
    ]
    if any(f.gain is not None for f in shown):
        panels.append(("share of split gain", _nan_to_zero([f.gain for f in shown]), None))

    height = 1.4 + 0.3 * max(len(shown), 3)
    figure = Figure(figsize=(4.2 * len(panels) + 1.6, height), layout="constrained")
    axes = figure.subplots(1, len(panels), sharey=True, squeeze=False)[0]
    positions = np.arange(len(shown))
    for axis, (title, values, spread) in zip(axes, panels, strict=True):
        colours = [_BAR if v >= 0 else _NEGATIVE for v in values]
        axis.barh(positions, values, xerr=spread, color=colours, ecolor="#333333", capsize=2)
        axis.axvline(0.0, color="#333333", linewidth=0.8)
        axis.set_title(title, fontsize=10)
        axis.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(positions, names)
    axes[0].invert_yaxis()  # rank 1 at the top (the axes share y, so all panels follow)

    score = "n/a" if not np.isfinite(result.validation_score) else f"{result.validation_score:.3f}"
    more = len(result.features) - len(shown)
    subject = f"{result.service}: " if result.service else ""
    figure.suptitle(
        f"{subject}importance for {result.label} ({result.task}, {result.model}; "
        f"validation {result.metric} {score} on {result.validation_rows:,} rows)"
        + (f"; {more} more not shown" if more > 0 else ""),
        fontsize=10,
    )
    return figure
