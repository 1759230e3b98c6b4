"""The original design's debugging tool: `FeatureQualityChecker().diagnose(df)` says in plain
words which columns have problems, what they are, and what to check."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cinefeat.offline import to_polars_frame
from cinefeat.quality._profile import profile_frame

__all__ = ["Diagnosis", "FeatureQualityChecker", "Finding"]


@dataclass(frozen=True)
class Finding:
    column: str
    problem: str  # a short name: "empty", "missing", "constant", "not finite", "extreme", ...
    detail: str  # what was found, with numbers
    advice: str  # what to check


@dataclass(frozen=True)
class Diagnosis:
    rows: int
    findings: list[Finding] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.findings

    def columns_with_problems(self) -> list[str]:
        return list(dict.fromkeys(f.column for f in self.findings))

    def __str__(self) -> str:
        if self.healthy:
            return f"{self.rows:,} rows: no problems found"
        lines = [f"{self.rows:,} rows, problems in {len(self.columns_with_problems())} column(s):"]
        lines += [f"- {f.column}: {f.detail}. Check: {f.advice}" for f in self.findings]
        return "\n".join(lines)


@dataclass
class FeatureQualityChecker:
    """Thresholds of what counts as a problem."""

    max_null_rate: float = 0.05
    extreme_iqr: float = 3.0  # values beyond this many IQRs outside the quartiles are extreme
    max_extreme_rate: float = 0.001  # a value repeated this often out there is a sentinel
    max_extreme_share: float = 0.02  # more extreme values than this share is a problem
    id_like_rate: float = 0.5  # text columns with more distinct values than this share of rows

    def diagnose(self, df: Any) -> Diagnosis:
        """Look at every column of `df` (pandas, Polars or Arrow) and report its problems."""
        frame: pl.DataFrame = to_polars_frame(df, "df")
        profile = profile_frame(frame)
        findings: list[Finding] = []
        for name, column in profile.columns.items():
            findings += self._column(frame, name, column)
        return Diagnosis(frame.height, findings)

    def _column(self, frame: pl.DataFrame, name: str, column: Any) -> list[Finding]:
        rows = column.count
        if rows and column.null_count == rows:
            return [
                Finding(
                    name,
                    "empty",
                    "every value is null",
                    "the source column or the join that should fill it",
                )
            ]
        found: list[Finding] = []
        if column.null_rate > self.max_null_rate:
            found.append(
                Finding(
                    name,
                    "missing",
                    f"{column.null_rate:.1%} of values are null ({column.null_count:,} rows)",
                    "upstream joins and late data; fill or drop before training",
                )
            )
        if column.distinct == 1:
            value = column.top[0][0] if column.top else column.min
            found.append(
                Finding(
                    name,
                    "constant",
                    f"every non-null value is {value!r}",
                    "whether it is filled by a default; a constant carries no information",
                )
            )
        dtype = frame.schema[name]
        if dtype.is_float():
            values = pl.col(name)
            bad = frame.select(
                values.is_nan().sum().alias("nan"), values.is_infinite().sum().alias("inf")
            ).row(0, named=True)
            if bad["nan"] or bad["inf"]:
                found.append(
                    Finding(
                        name,
                        "not finite",
                        f"{bad['nan']:,} NaN and {bad['inf']:,} infinite values",
                        "divisions by zero, logs of 0 or overflows upstream",
                    )
                )
        if column.quantiles and dtype.is_numeric():
            found += self._extremes(frame, name, column)
        if dtype == pl.String and rows and column.distinct > self.id_like_rate * rows > 100:
            found.append(
                Finding(
                    name,
                    "id-like",
                    f"{column.distinct:,} distinct values in {rows:,} rows",
                    "whether it is a key or free text rather than a categorical feature",
                )
            )
        return found

    def _extremes(self, frame: pl.DataFrame, name: str, column: Any) -> list[Finding]:
        """Values far outside the quartiles: a value repeated there is a sentinel (-1, 9999:
        "unknown" written as a number); many distinct ones, a unit or parsing problem. A long
        natural tail (popularity, revenue) has a few, all different: not a problem."""
        low, high = column.quantiles["p25"], column.quantiles["p75"]
        spread = (high - low) * self.extreme_iqr
        if spread <= 0:
            return []
        values = pl.col(name).cast(pl.Float64)
        outside = values.is_finite() & ((values < low - spread) | (values > high + spread))
        far = frame.filter(outside).get_column(name)
        if far.is_empty():
            return []
        value, repeats = far.alias("value").value_counts(sort=True, name="n").row(0)
        fences = f"beyond {self.extreme_iqr:g} IQRs of the quartiles"
        if repeats >= max(10, self.max_extreme_rate * frame.height):
            return [
                Finding(
                    name,
                    "sentinel",
                    f"{repeats:,} values are {value!r}, {fences} (median "
                    f"{column.quantiles['p50']:.4g})",
                    "whether it stands for 'unknown'; make it null before training",
                )
            ]
        if far.len() > self.max_extreme_share * frame.height:
            return [
                Finding(
                    name,
                    "extreme",
                    f"{far.len():,} values lie {fences} (from {column.min:.4g} to "
                    f"{column.max:.4g}; median {column.quantiles['p50']:.4g})",
                    "units and parsing errors upstream",
                )
            ]
        return []
