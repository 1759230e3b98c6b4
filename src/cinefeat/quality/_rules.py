"""Validation rules for feature values and `FeatureValidator`, which checks a frame against
them with pandera (its Polars backend) and reports each rule's result as a value.

Rules: `NotNull` (with an allowed null rate), `InRange`, `AllowedValues`, `Matches` (a
regular expression), `Unique`, and `Custom` (any pandera check); with a feature view, each
column's dtype is checked too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from cinefeat.definitions import FeatureView
from cinefeat.offline import storage_schema, to_polars_frame

__all__ = [
    "AllowedValues",
    "Custom",
    "FeatureValidator",
    "InRange",
    "Matches",
    "NotNull",
    "QualityReport",
    "Rule",
    "RuleResult",
    "Unique",
]

_SAMPLES = 5  # failing values shown per rule


@dataclass(frozen=True)
class NotNull:
    column: str
    max_null_rate: float = 0.0  # the share of nulls allowed

    def describe(self) -> str:
        allowed = f" (up to {self.max_null_rate:.1%})" if self.max_null_rate else ""
        return f"{self.column} is not null{allowed}"


@dataclass(frozen=True)
class InRange:
    column: str
    min: float | None = None  # inclusive
    max: float | None = None  # inclusive

    def describe(self) -> str:
        return f"{self.column} in [{self.min}, {self.max}]"


@dataclass(frozen=True)
class AllowedValues:
    column: str
    values: tuple[Any, ...]

    def describe(self) -> str:
        return f"{self.column} in {list(self.values)}"


@dataclass(frozen=True)
class Matches:
    column: str
    pattern: str

    def describe(self) -> str:
        return f"{self.column} matches /{self.pattern}/"


@dataclass(frozen=True)
class Unique:
    column: str

    def describe(self) -> str:
        return f"{self.column} is unique"


@dataclass(frozen=True)
class Custom:
    """Any pandera check (`pandera.polars.Check`) on one column, under a name of yours."""

    column: str
    name: str
    check: Any = field(compare=False)

    def describe(self) -> str:
        return f"{self.column}: {self.name}"


Rule = NotNull | InRange | AllowedValues | Matches | Unique | Custom


@dataclass(frozen=True)
class RuleResult:
    rule: str  # the rule, described
    column: str
    passed: bool
    failing_rows: int
    message: str
    samples: list[Any] = field(default_factory=list)  # some failing values, as text


@dataclass(frozen=True)
class QualityReport:
    """`passed` when every rule held; `score` (0-100) is the share of rows passing, averaged
    over the rules."""

    rows: int
    results: list[RuleResult]

    @property
    def passed(self) -> bool:
        return all(r.passed for r in self.results)

    @property
    def score(self) -> float:
        if not self.results or not self.rows:
            return 100.0
        shares = [1 - min(r.failing_rows, self.rows) / self.rows for r in self.results]
        return 100.0 * sum(shares) / len(shares)

    def failed(self) -> list[RuleResult]:
        return [r for r in self.results if not r.passed]


def _check(rule: Rule) -> Any:
    import pandera.polars as pa

    if isinstance(rule, InRange):
        if rule.min is not None and rule.max is not None:
            return pa.Check.in_range(rule.min, rule.max)
        if rule.min is not None:
            return pa.Check.ge(rule.min)
        return pa.Check.le(rule.max)
    if isinstance(rule, AllowedValues):
        return pa.Check.isin(list(rule.values))
    if isinstance(rule, Matches):
        return pa.Check.str_matches(rule.pattern)
    if isinstance(rule, Custom):
        return rule.check
    return None


class FeatureValidator:
    """Checks frames against a set of rules (and, given a view, its dtypes)."""

    def __init__(self, rules: Sequence[Rule] = ()) -> None:
        self.rules = list(rules)

    def validate_features(self, df: Any, view: FeatureView | None = None) -> QualityReport:
        """Every rule's result on `df` (pandas, Polars or Arrow); never raises on bad data."""
        import pandera.polars as pa
        from pandera.errors import SchemaErrors

        frame: pl.DataFrame = to_polars_frame(df, "df")
        dtypes: dict[str, Any] = {}
        if view is not None:
            dtypes = dict(pl.Schema(storage_schema(view)).items())
        columns = {r.column for r in self.rules} | (set(dtypes) & set(frame.columns))
        checks: dict[str, list[tuple[Rule, Any]]] = {c: [] for c in columns}
        for rule in self.rules:
            if (check := _check(rule)) is not None:
                checks[rule.column].append((rule, check))
        schema = pa.DataFrameSchema(
            {
                c: pa.Column(
                    dtypes.get(c),
                    checks=[check for _, check in checks[c]],
                    nullable=True,  # null rates are checked here, with their allowance
                    unique=any(isinstance(r, Unique) and r.column == c for r in self.rules),
                    required=False,
                )
                for c in columns
            }
        )
        failures = pl.DataFrame()
        try:
            schema.validate(frame, lazy=True)
        except SchemaErrors as errors:
            failures = errors.failure_cases
        return QualityReport(frame.height, self._results(frame, failures, checks, dtypes))

    def _results(
        self,
        frame: pl.DataFrame,
        failures: pl.DataFrame,
        checks: dict[str, list[tuple[Rule, Any]]],
        dtypes: dict[str, Any],
    ) -> list[RuleResult]:
        results: list[RuleResult] = []
        for column, dtype in dtypes.items():
            if column in frame.columns:
                found = frame.schema[column]
                results.append(
                    RuleResult(
                        f"{column} is {dtype}",
                        column,
                        found == dtype,
                        0 if found == dtype else frame.height,
                        "ok" if found == dtype else f"{column} is {found}, expected {dtype}",
                    )
                )
        for rule in self.rules:
            if rule.column not in frame.columns:
                results.append(
                    RuleResult(rule.describe(), rule.column, False, frame.height, "no such column")
                )
                continue
            if isinstance(rule, NotNull):
                nulls = frame.get_column(rule.column).null_count()
                rate = nulls / frame.height if frame.height else 0.0
                ok = rate <= rule.max_null_rate
                message = "ok" if ok else f"{nulls:,} null values ({rate:.2%})"
                results.append(
                    RuleResult(rule.describe(), rule.column, ok, 0 if ok else nulls, message)
                )
                continue
            mine = failures.filter(pl.col("column") == rule.column) if failures.height else failures
            if isinstance(rule, Unique):
                mine = mine.filter(pl.col("check") == "field_uniqueness") if mine.height else mine
            else:
                number = [r for r, _ in checks[rule.column]].index(rule)
                mine = mine.filter(pl.col("check_number") == number) if mine.height else mine
            count = mine.height
            samples = mine.get_column("failure_case").head(_SAMPLES).to_list() if count else []
            message = "ok" if not count else f"{count:,} rows fail, e.g. {samples[:3]}"
            results.append(
                RuleResult(rule.describe(), rule.column, not count, count, message, samples)
            )
        return results
