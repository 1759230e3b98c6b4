"""Feature profiles: per column, what the values look like (count, nulls, range, moments,
quantiles, a histogram, the most common values, distinct count), computed in a few vectorised
Polars passes: over every row, or (with `sample_rows`, as on every write) exact counts, range
and moments with the shape estimated from a systematic sample."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import polars as pl

from cinefeat.offline import to_polars_frame
from cinefeat.quality._json import json_safe

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
    # When set, quantiles, histograms and top values come from this many rows (an even
    # systematic sample; histogram and top counts scaled to `rows`) and distinct counts are
    # HyperLogLog estimates; counts, nulls, min, max, mean and std are always exact.
    sampled_rows: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "sampled_rows": self.sampled_rows,
            "columns": {k: asdict(v) for k, v in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FrameProfile:
        columns = {
            name: ColumnProfile(**{**c, "top": [tuple(t) for t in c.get("top", [])]})
            for name, c in data["columns"].items()
        }
        return cls(int(data["rows"]), columns, data.get("sampled_rows"))


def profile_frame(
    data: Any, columns: list[str] | None = None, *, sample_rows: int | None = None
) -> FrameProfile:
    """Profile `data` (pandas, Polars, Arrow or a Polars LazyFrame, e.g. a Parquet scan);
    `columns` defaults to every non-list column. Floats' NaN and infinities count as values
    for `count` but not for the statistics. With `sample_rows` and more rows than that, the
    shape (quantiles, histogram, top values, distinct count) is estimated: see FrameProfile."""
    lazy = data if isinstance(data, pl.LazyFrame) else to_polars_frame(data, "data").lazy()
    schema = lazy.collect_schema()
    names = [c for c in (columns or schema.names()) if not schema[c].is_nested()]
    lazy = lazy.select(names)
    height = int(lazy.select(pl.len()).collect().item())
    sampled = sample_rows is not None and height > sample_rows
    numeric = [c for c in names if schema[c].is_numeric() and schema[c] != pl.Boolean]
    temporal = [c for c in names if schema[c].is_temporal()]
    finite = {
        c: (
            pl.when(pl.col(c).is_finite()).then(pl.col(c)).cast(pl.Float64)
            if schema[c].is_float()
            else pl.col(c).cast(pl.Float64)
        )
        for c in numeric
    }
    # One pass over every row for the exact statistics (and, unsampled, everything else).
    exprs: list[pl.Expr] = []
    for c in names:
        unique = pl.col(c).approx_n_unique() if sampled else pl.col(c).n_unique()
        exprs += [pl.col(c).null_count().alias(f"{c}\0nulls"), unique.alias(f"{c}\0distinct")]
    for c in temporal:
        exprs += [pl.col(c).min().alias(f"{c}\0min"), pl.col(c).max().alias(f"{c}\0max")]
    for c, value in finite.items():
        exprs += [
            value.min().alias(f"{c}\0min"),
            value.max().alias(f"{c}\0max"),
            value.mean().alias(f"{c}\0mean"),
            value.std().alias(f"{c}\0std"),
        ]
    if sampled:
        assert sample_rows is not None
        step = -(-height // sample_rows)  # ceil: at most sample_rows rows, evenly spread
        frame = lazy.gather_every(step).collect()
        stats = lazy.select(exprs).collect().row(0, named=True) if exprs else {}
    else:
        frame = lazy.collect()
        stats = frame.select(exprs).row(0, named=True) if exprs else {}
    if finite and frame.height:
        quantiles = frame.select(
            value.quantile(q, "linear").alias(f"{c}\0q{q}")
            for c, value in finite.items()
            for q in QUANTILES
        ).row(0, named=True)
        stats.update(quantiles)
    scale = height / frame.height if frame.height else 1.0
    profiles: dict[str, ColumnProfile] = {}
    for c in names:
        nulls = int(stats[f"{c}\0nulls"])
        # n_unique counts null as a value; the HyperLogLog estimate (approx_n_unique) too.
        distinct = int(stats[f"{c}\0distinct"]) - (1 if nulls else 0)
        # Most common values, where some are common: counting a million distinct floats
        # would cost more than the rest of the profile and say nothing.
        top = (
            frame.get_column(c)
            .drop_nulls()
            .alias("value")
            .value_counts(sort=True, name="count")
            .head(TOP_K)
            .rows()
            if distinct <= max(TOP_K_MAX_DISTINCT, height // 10)
            else []
        )
        extra: dict[str, Any] = {}
        if c in finite:
            low, high = stats[f"{c}\0min"], stats[f"{c}\0max"]
            histogram = _histogram(frame, finite[c], low, high)
            if sampled and histogram:
                histogram["counts"] = [round(n * scale) for n in histogram["counts"]]
            extra = {
                "min": low,
                "max": high,
                "mean": stats[f"{c}\0mean"],
                "std": stats[f"{c}\0std"],
                "quantiles": {f"p{round(q * 100):02d}": stats.get(f"{c}\0q{q}") for q in QUANTILES},
                "histogram": histogram,
            }
        elif c in temporal:
            extra = {"min": json_safe(stats[f"{c}\0min"]), "max": json_safe(stats[f"{c}\0max"])}
        profiles[c] = ColumnProfile(
            column=c,
            dtype=str(schema[c]),
            count=height,
            null_count=nulls,
            null_rate=nulls / height if height else 0.0,
            distinct=max(distinct, 0),
            top=[(json_safe(value), round(int(n) * scale)) for value, n in top],
            **extra,
        )
    return FrameProfile(height, profiles, frame.height if sampled else None)


def _histogram(
    frame: pl.DataFrame, value: pl.Expr, low: float | None, high: float | None
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
