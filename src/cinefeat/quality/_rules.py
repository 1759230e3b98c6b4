"""`FeatureValidator`: checks a frame against validation rules with pandera (its Polars
backend) and reports each rule's result as a value, with the failing rows.

The rules are definitions (cinefeat.definitions._rules): `NotNull` (with an allowed null
rate), `InRange`, `AllowedValues`, `Matches` (a regular expression), `Unique`, and `Custom` (a
SQL expression, or any pandera check). With a feature view, the view's and its Fields' rules
apply and each column's dtype is checked too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from cinefeat.definitions import (
    AllowedValues,
    Custom,
    FeatureView,
    InRange,
    Matches,
    NotNull,
    Rule,
    Unique,
)
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
class RuleResult:
    rule: str  # the rule, described
    column: str
    passed: bool
    failing_rows: int
    message: str
    samples: list[Any] = field(default_factory=list)  # some failing values, as text
    # Positions of the failing rows in the checked frame (None: the rule fails the frame as a
    # whole, like a wrong dtype). Not part of to_dict: it can be as long as the frame.
    row_index: np.ndarray | None = field(default=None, compare=False, repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "rule": self.rule,
            "column": self.column,
            "passed": self.passed,
            "failing_rows": self.failing_rows,
            "message": self.message,
            "samples": [str(v) for v in self.samples],
        }


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

    def row_failures(self) -> pl.DataFrame:
        """One row per failing row of the checked frame: its position (`index`) and the first
        failed rule it breaks (`reason`), in rule order. Frame-level failures (a wrong dtype)
        have no rows here: see `failed()`."""
        parts = [
            pl.DataFrame(
                {"index": result.row_index, "order": order, "reason": result.rule},
                schema={"index": pl.Int64, "order": pl.Int32, "reason": pl.String},
            )
            for order, result in enumerate(self.results)
            if not result.passed and result.row_index is not None and len(result.row_index)
        ]
        if not parts:
            return pl.DataFrame(schema={"index": pl.Int64, "reason": pl.String})
        return (
            pl.concat(parts)
            .sort("index", "order")
            .unique("index", keep="first", maintain_order=True)
            .drop("order")
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "passed": self.passed,
            "score": self.score,
            "results": [r.to_dict() for r in self.results],
        }


def _check(rule: Rule) -> Any:
    """The pandera check of a rule; None for rules checked another way."""
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
        return pa.Check.str_contains(rule.pattern)
    if isinstance(rule, Custom):
        return rule.check  # None for SQL expressions
    return None


class FeatureValidator:
    """Checks frames against a set of rules (and, given a view, its rules and dtypes)."""

    def __init__(self, rules: Sequence[Rule] = ()) -> None:
        self.rules = list(rules)

    def validate_features(self, df: Any, view: FeatureView | None = None) -> QualityReport:
        """Every rule's result on `df` (pandas, Polars or Arrow); never raises on bad data.
        With `view`, its Fields' and its own rules are checked first, then these, and each
        column's dtype against the view's. A rule that cannot apply to its column (a range on
        text, a pattern on numbers, a check that errors) fails with no failing rows
        (`row_index` None) and says why."""
        import pandera.polars as pa
        from pandera.errors import SchemaErrors

        frame: pl.DataFrame = to_polars_frame(df, "df")
        rules = [*(view.all_rules if view is not None else ()), *self.rules]
        dtypes: dict[str, Any] = {}
        if view is not None:
            dtypes = dict(pl.Schema(storage_schema(view)).items())
        # pandera runs the range, allowed-value, pattern and custom checks; each rule's check
        # is numbered by its position among its column's checks, as pandera reports it.
        numbers: dict[int, int] = {}
        per_column: dict[str, list[Any]] = {}
        for position, rule in enumerate(rules):
            if _unfit(frame, rule) is None and (check := _check(rule)) is not None:
                checks = per_column.setdefault(rule.column, [])
                numbers[position] = len(checks)
                checks.append(check)
        columns = set(per_column) | (set(dtypes) & set(frame.columns))
        schema = pa.DataFrameSchema(
            {
                c: pa.Column(
                    dtypes.get(c),
                    checks=per_column.get(c, []),
                    nullable=True,  # null rates are checked here, with their allowance
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
        results = _dtype_results(frame, dtypes)
        results += [
            _rule_result(frame, rule, failures, numbers.get(position))
            for position, rule in enumerate(rules)
        ]
        return QualityReport(frame.height, results)


def _unfit(frame: pl.DataFrame, rule: Rule) -> str | None:
    """Why `rule` cannot be checked on `frame` (None when it can)."""
    if isinstance(rule, Custom) and rule.expression is not None:
        return None
    if rule.column not in frame.columns:
        return "no such column"
    dtype = frame.schema[rule.column]
    if isinstance(rule, InRange) and not (dtype.is_numeric() or dtype == pl.Null):
        return f"cannot be checked: InRange needs numbers, {rule.column} is {dtype}"
    if isinstance(rule, Matches) and dtype not in (pl.String, pl.Null):
        return f"cannot be checked: Matches needs text, {rule.column} is {dtype}"
    return None


def _dtype_results(frame: pl.DataFrame, dtypes: dict[str, Any]) -> list[RuleResult]:
    results = []
    for column, dtype in dtypes.items():
        if column in frame.columns:
            found = frame.schema[column]
            ok = found == dtype
            results.append(
                RuleResult(
                    f"{column} is {dtype}",
                    column,
                    ok,
                    0 if ok else frame.height,
                    "ok" if ok else f"{column} is {found}, expected {dtype}",
                )
            )
    return results


def _rule_result(
    frame: pl.DataFrame, rule: Rule, failures: pl.DataFrame, number: int | None
) -> RuleResult:
    """One rule's result; `number` is its check's number among its column's pandera checks."""
    described = rule.describe()
    if isinstance(rule, Custom) and rule.expression is not None:
        return _expression_result(frame, rule)
    if (unfit := _unfit(frame, rule)) is not None:
        return RuleResult(described, rule.column, False, frame.height, unfit)
    column = pl.col(rule.column)
    if isinstance(rule, NotNull):
        nulls = frame.get_column(rule.column).null_count()
        rate = nulls / frame.height if frame.height else 0.0
        if rate <= rule.max_null_rate:
            return RuleResult(described, rule.column, True, 0, "ok", row_index=_NONE)
        nulls_at = frame.select(pl.arg_where(column.is_null())).to_series()
        return RuleResult(
            described,
            rule.column,
            False,
            nulls,
            f"{nulls:,} null values ({rate:.2%})",
            row_index=nulls_at.to_numpy(),
        )
    if isinstance(rule, Unique):  # every copy of a repeated value fails; nulls do not
        repeated = frame.select(pl.arg_where(column.is_duplicated() & column.is_not_null()))
        index = repeated.to_series().to_numpy().astype(np.int64)
        samples = [str(v) for v in frame.get_column(rule.column).gather(index[:_SAMPLES])]
        count = len(index)
        message = "ok" if not count else f"{count:,} rows repeat a value, e.g. {samples[:3]}"
        return RuleResult(described, rule.column, not count, count, message, samples, index)
    mine = failures
    if mine.height:
        mine = mine.filter((pl.col("column") == rule.column) & (pl.col("check_number") == number))
    if mine.height and mine.get_column("index").is_null().any():
        # pandera reports a check that raised (not one that failed rows) without a row index.
        errors = mine.filter(pl.col("index").is_null()).get_column("failure_case").drop_nulls()
        # e.g. 'ComputeError("regex error: regex parse error: ... look-around ... not supported'
        reason = " ".join(str(errors.head(1).to_list()[0]).split()) if errors.len() else "error"
        message = f"cannot be checked: {reason}"[:300]
        return RuleResult(described, rule.column, False, frame.height, message)
    count = mine.height
    samples = mine.get_column("failure_case").head(_SAMPLES).to_list() if count else []
    failing = mine.get_column("index").cast(pl.Int64).to_numpy() if count else _NONE
    message = "ok" if not count else f"{count:,} rows fail, e.g. {samples[:3]}"
    return RuleResult(described, rule.column, not count, count, message, samples, failing)


def _expression_result(frame: pl.DataFrame, rule: Custom) -> RuleResult:
    """A SQL CHECK: rows where the expression is false fail; where it is null, they pass."""
    assert rule.expression is not None
    try:
        holds = frame.select(pl.sql_expr(rule.expression).alias("holds")).to_series()
    except Exception as exc:  # any parse or column error is the rule's failure
        message = f"expression {rule.expression!r} cannot be evaluated: {exc}".splitlines()[0]
        return RuleResult(rule.describe(), rule.column, False, frame.height, message)
    if holds.dtype != pl.Boolean:
        return RuleResult(
            rule.describe(),
            rule.column,
            False,
            frame.height,
            f"expression {rule.expression!r} gives {holds.dtype}, not true/false",
        )
    index = frame.select(pl.arg_where(holds.not_().fill_null(False))).to_series().to_numpy()
    count = len(index)
    shown = rule.column or frame.columns[0] if frame.width else ""
    samples = frame.get_column(shown).gather(index[:_SAMPLES]).to_list() if count and shown else []
    message = "ok" if not count else f"{count:,} rows fail"
    return RuleResult(rule.describe(), rule.column, not count, count, message, samples, index)


_NONE = np.zeros(0, dtype=np.int64)
