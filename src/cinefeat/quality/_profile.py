"""Feature profiles: per column, what the values look like (count, nulls, range, moments,
quantiles, a histogram, the most common values, distinct count), computed in a few vectorised
Polars passes over the whole frame."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from cinefeat.offline import to_polars_frame

__all__ = ["ColumnProfile", "FrameProfile", "profile_frame"]

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
HISTOGRAM_BINS = 10
TOP_K = 10
TOP_K_MAX_DISTINCT = 1_000  # or a tenth of the rows, whichever is more


@dataclass(frozen=True)
class ColumnProfile:
    column: str
    dtype: str
    count: int  # rows
    null_count: int
    null_rate: float
    distinct: int  # distinct non-null values
    min: Any = None  # numbers and times; None for other columns
    max: Any = None
    mean: float | None = None  # numbers only
    std: float | None = None
    quantiles: dict[str, float] = field(default_factory=dict)  # "p50": value; numbers only
    histogram: dict[str, list[float]] = field(default_factory=dict)  # edges, counts
    # The most common values with their counts, when values repeat (distinct values at most
    # 1,000 or a tenth of the rows); empty for a column of mostly unique values.
    top: list[tuple[Any, int]] = field(default_factory=list)


@dataclass(frozen=True)
class FrameProfile:
    rows: int
    columns: dict[str, ColumnProfile]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": self.rows, "columns": {k: asdict(v) for k, v in self.columns.items()}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameProfile:
        columns = {
            name: ColumnProfile(**{**c, "top": [tuple(t) for t in c.get("top", [])]})
            for name, c in data["columns"].items()
        }
        return cls(int(data["rows"]), columns)


def _json_value(value: Any) -> Any:
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def profile_frame(data: Any, columns: list[str] | None = None) -> FrameProfile:
    """Profile `data` (pandas, Polars or Arrow); `columns` defaults to every non-list column.
    Floats' NaN and infinities count as values for `count` but not for the statistics."""
    frame: pl.DataFrame = to_polars_frame(data, "data")
    names = [c for c in (columns or frame.columns) if not frame.schema[c].is_nested()]
    numeric = [c for c in names if frame.schema[c].is_numeric() and frame.schema[c] != pl.Boolean]
    temporal = [c for c in names if frame.schema[c].is_temporal()]
    finite = {
        c: (
            pl.when(pl.col(c).is_finite()).then(pl.col(c)).cast(pl.Float64)
            if frame.schema[c].is_float()
            else pl.col(c).cast(pl.Float64)
        )
        for c in numeric
    }
    # One pass for the scalar statistics of every column.
    exprs: list[pl.Expr] = []
    for c in names:
        exprs += [
            pl.col(c).null_count().alias(f"{c}\0nulls"),
            pl.col(c).n_unique().alias(f"{c}\0distinct"),
        ]
    for c in temporal:
        exprs += [pl.col(c).min().alias(f"{c}\0min"), pl.col(c).max().alias(f"{c}\0max")]
    for c, value in finite.items():
        exprs += [
            value.min().alias(f"{c}\0min"),
            value.max().alias(f"{c}\0max"),
            value.mean().alias(f"{c}\0mean"),
            value.std().alias(f"{c}\0std"),
            *(value.quantile(q, "linear").alias(f"{c}\0q{q}") for q in QUANTILES),
        ]
    stats = frame.select(exprs).row(0, named=True) if exprs else {}
    profiles: dict[str, ColumnProfile] = {}
    for c in names:
        nulls = int(stats[f"{c}\0nulls"])
        distinct = int(stats[f"{c}\0distinct"]) - (1 if nulls else 0)
        # Most common values, where some are common: counting a million distinct floats
        # would cost more than the rest of the profile and say nothing.
        top = (
            frame.get_column(c).drop_nulls().value_counts(sort=True, name="n").head(TOP_K).rows()
            if distinct <= max(TOP_K_MAX_DISTINCT, frame.height // 10)
            else []
        )
        extra: dict[str, Any] = {}
        if c in finite:
            low, high = stats[f"{c}\0min"], stats[f"{c}\0max"]
            extra = {
                "min": low,
                "max": high,
                "mean": stats[f"{c}\0mean"],
                "std": stats[f"{c}\0std"],
                "quantiles": {f"p{round(q * 100):02d}": stats[f"{c}\0q{q}"] for q in QUANTILES},
                "histogram": _histogram(frame, c, finite[c], low, high),
            }
        elif c in temporal:
            extra = {"min": _json_value(stats[f"{c}\0min"]), "max": _json_value(stats[f"{c}\0max"])}
        profiles[c] = ColumnProfile(
            column=c,
            dtype=str(frame.schema[c]),
            count=frame.height,
            null_count=nulls,
            null_rate=nulls / frame.height if frame.height else 0.0,
            distinct=max(distinct, 0),
            top=[(_json_value(value), int(n)) for value, n in top],
            **extra,
        )
    return FrameProfile(frame.height, profiles)


def _histogram(
    frame: pl.DataFrame, name: str, value: pl.Expr, low: float | None, high: float | None
) -> dict[str, list[float]]:
    """Counts in HISTOGRAM_BINS equal-width bins over [min, max] (the last bin closed)."""
    if low is None or high is None:
        return {}
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    width = (high - low) / HISTOGRAM_BINS if high > low else 1.0
    bins = ((value - low) / width).floor().clip(0, HISTOGRAM_BINS - 1).cast(pl.Int32)
    counts = frame.select(bins.alias("bin")).drop_nulls().get_column("bin").value_counts()
    found = dict(counts.rows())
    return {
        "edges": [float(e) for e in edges],
        "counts": [float(found.get(i, 0)) for i in range(HISTOGRAM_BINS)],
    }
