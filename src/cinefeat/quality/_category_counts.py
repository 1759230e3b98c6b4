"""Counts of a categorical feature's values in a reference and a current sample, over the
categories of both, the most common kept and the rarer ones pooled into one cell: what the
chi-square drift test and the drift report's category chart both compare."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

__all__ = ["CategoryCounts", "category_counts"]


@dataclass(frozen=True)
class CategoryCounts:
    """`reference[i]` and `current[i]` count `categories[i]`; when `pooled` is above 0 both
    arrays hold one more cell, the summed counts of the `pooled` rarer categories."""

    categories: list[str]  # most common first over both samples; ties in text order
    reference: np.ndarray  # float64 counts
    current: np.ndarray
    pooled: int  # rarer categories summed into the last cell (0: there is no such cell)


def _value_counts(values: pl.Series, name: str) -> pl.DataFrame:
    # Renamed before counting: value_counts refuses a count column with the series' own name,
    # and a feature may itself be called "reference" or "current".
    return values.drop_nulls().cast(pl.String).alias("value").value_counts(name=name)


def category_counts(
    reference: pl.Series, current: pl.Series, max_categories: int
) -> CategoryCounts:
    """Count each sample's values as text (nulls left out), keep the `max_categories` most
    common over both samples and pool the rest (see `CategoryCounts`)."""
    counts = (
        _value_counts(reference, "reference")
        .join(_value_counts(current, "current"), on="value", how="full", coalesce=True)
        .fill_null(0)
        .sort(
            [pl.col("reference") + pl.col("current"), pl.col("value")],
            descending=[True, False],
        )
    )
    kept, rest = counts.head(max_categories), counts.slice(max_categories)
    sides = []
    for side in ("reference", "current"):
        cells = kept.get_column(side).to_numpy().astype(np.float64)
        if rest.height:
            cells = np.append(cells, float(rest.get_column(side).sum()))
        sides.append(cells)
    categories = [str(value) for value in kept.get_column("value").to_list()]
    return CategoryCounts(categories, sides[0], sides[1], rest.height)
