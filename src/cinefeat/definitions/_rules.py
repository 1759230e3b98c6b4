"""Validation rules as definitions: what a feature's values must satisfy, declared on a Field,
on a FeatureView or in pipeline YAML, and stored in the registry with the view. Checking them
is `cinefeat.quality.FeatureValidator`'s job.

On a Field the column is implied: `Field("vote_average", Float64, rules=[InRange(min=0,
max=10)])`. On a view each rule names its column: `InRange("vote_average", 0, 10)`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from cinefeat.errors import DefinitionError

__all__ = [
    "AllowedValues",
    "Custom",
    "InRange",
    "Matches",
    "NotNull",
    "Rule",
    "Unique",
    "check_rule_dtype",
    "rule_from_spec",
    "rules_for_column",
]

_NUMBERS = ("Int32", "Int64", "Float32", "Float64")


@dataclass(frozen=True)
class NotNull:
    """At most `max_null_rate` of the rows may be null (0: none may)."""

    column: str = ""
    max_null_rate: float = 0.0

    def __post_init__(self) -> None:
        rate = self.max_null_rate
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
            raise DefinitionError(
                f"NotNull({self.column!r}): max_null_rate must be a number in [0, 1], got {rate!r}"
            )

    def describe(self) -> str:
        allowed = f" (up to {self.max_null_rate:.1%})" if self.max_null_rate else ""
        return f"{self.column} is not null{allowed}"

    def to_spec(self) -> dict[str, Any]:
        return {"rule": "not_null", "column": self.column, "max_null_rate": self.max_null_rate}


@dataclass(frozen=True)
class InRange:
    """Values lie in [min, max] (both inclusive; either may be left out). Nulls pass."""

    column: str = ""
    min: float | None = None
    max: float | None = None

    def __post_init__(self) -> None:
        where = f"InRange({self.column!r})"
        for name in ("min", "max"):
            bound = getattr(self, name)
            if bound is not None and (
                isinstance(bound, bool) or not isinstance(bound, int | float) or bound != bound
            ):
                raise DefinitionError(f"{where}: {name} must be a number or None, got {bound!r}")
        if self.min is None and self.max is None:
            raise DefinitionError(f"{where}: give min, max or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise DefinitionError(f"{where}: min {self.min} is greater than max {self.max}")

    def describe(self) -> str:
        return f"{self.column} in [{self.min}, {self.max}]"

    def to_spec(self) -> dict[str, Any]:
        return {"rule": "in_range", "column": self.column, "min": self.min, "max": self.max}


@dataclass(frozen=True)
class AllowedValues:
    """Values are among `values`. Nulls pass (use NotNull to forbid them)."""

    column: str = ""
    values: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        values = self.values
        if isinstance(values, str) or not isinstance(values, Sequence | set | frozenset):
            raise DefinitionError(
                f"AllowedValues({self.column!r}): values must be a list, got {values!r}"
            )
        if not values:
            raise DefinitionError(f"AllowedValues({self.column!r}): values must not be empty")
        object.__setattr__(self, "values", tuple(values))

    def describe(self) -> str:
        return f"{self.column} in {list(self.values)}"

    def to_spec(self) -> dict[str, Any]:
        return {"rule": "allowed_values", "column": self.column, "values": list(self.values)}


@dataclass(frozen=True)
class Matches:
    """Text values match the regular expression `pattern` (searched, not anchored: use ^ and
    $ to match whole values). Nulls pass."""

    column: str = ""
    pattern: str = ""

    def __post_init__(self) -> None:
        where = f"Matches({self.column!r})"
        if not isinstance(self.pattern, str) or not self.pattern:
            raise DefinitionError(f"{where}: pattern must be a non-empty regular expression")
        try:
            re.compile(self.pattern)
        except re.error as exc:
            raise DefinitionError(f"{where}: pattern {self.pattern!r} is invalid: {exc}") from None

    def describe(self) -> str:
        return f"{self.column} matches /{self.pattern}/"

    def to_spec(self) -> dict[str, Any]:
        return {"rule": "matches", "column": self.column, "pattern": self.pattern}


@dataclass(frozen=True)
class Unique:
    """No value appears twice (nulls excepted)."""

    column: str = ""

    def describe(self) -> str:
        return f"{self.column} is unique"

    def to_spec(self) -> dict[str, Any]:
        return {"rule": "unique", "column": self.column}


@dataclass(frozen=True)
class Custom:
    """A check of your own, under a name of yours: either a SQL boolean `expression` over the
    row's columns (Polars SQL, e.g. "revenue >= 0 OR budget = 0"; like a SQL CHECK
    constraint, a row fails only where it is false, not null), which can be stored with a
    view, or any `pandera.polars.Check` as `check` (code only: it cannot be stored)."""

    column: str = ""
    name: str = ""
    check: Any = field(default=None, compare=False)
    expression: str | None = None

    def __post_init__(self) -> None:
        where = f"Custom({self.column!r})"
        if not isinstance(self.name, str) or not self.name:
            raise DefinitionError(f"{where}: give the check a name")
        if (self.expression is None) == (self.check is None):
            raise DefinitionError(f"{where} {self.name!r}: give exactly one of expression, check")
        if self.expression is not None and (
            not isinstance(self.expression, str) or not self.expression.strip()
        ):
            raise DefinitionError(f"{where} {self.name!r}: expression must be SQL text")

    def describe(self) -> str:
        what = f" ({self.expression})" if self.expression else ""
        return f"{self.column or 'row'}: {self.name}{what}"

    def to_spec(self) -> dict[str, Any]:
        if self.expression is None:
            raise DefinitionError(
                f"Custom({self.column!r}) {self.name!r}: a pandera check is code and cannot be "
                "stored in the registry; declare it as a SQL expression, or pass it to "
                "FeatureValidator directly"
            )
        return {
            "rule": "custom",
            "column": self.column,
            "name": self.name,
            "expression": self.expression,
        }


Rule = NotNull | InRange | AllowedValues | Matches | Unique | Custom
_RULES: dict[str, type[Rule]] = {
    "not_null": NotNull,
    "in_range": InRange,
    "allowed_values": AllowedValues,
    "matches": Matches,
    "unique": Unique,
    "custom": Custom,
}


def rule_from_spec(spec: Mapping[str, Any], where: str = "rule") -> Rule:
    """A rule from its spec: {"rule": "in_range", "column": "x", "min": 0, "max": 10}."""
    if not isinstance(spec, Mapping):
        raise DefinitionError(f"{where}: a rule is a mapping like {{rule: in_range, ...}}")
    kind = spec.get("rule")
    if kind not in _RULES:
        raise DefinitionError(f"{where}: rule must be one of {sorted(_RULES)}, got {kind!r}")
    options = {k: v for k, v in spec.items() if k != "rule"}
    try:
        return _RULES[kind](**options)
    except TypeError as exc:
        raise DefinitionError(f"{where}: {kind}: {exc}") from None


def check_rule_dtype(rule: Rule, dtype: Any, where: str) -> None:
    """Refuse a rule that cannot apply to a column of `dtype` (a cinefeat.types dtype): ranges
    need numbers, patterns need text, and lists take only NotNull."""
    name = str(dtype)
    problem = None
    if isinstance(rule, InRange) and name not in _NUMBERS:
        problem = "InRange needs a number column"
    elif isinstance(rule, Matches) and name != "String":
        problem = "Matches needs a String column"
    elif name.startswith("Array") and not isinstance(rule, NotNull | Custom):
        problem = "a list column takes only NotNull and Custom rules"
    if problem:
        raise DefinitionError(
            f"{where}: rule {rule.describe()!r}: {problem}, {rule.column!r} is {name}"
        )


def rules_for_column(
    column: str, rules: Sequence[Any], where: str, dtype: Any = None
) -> tuple[Rule, ...]:
    """Rules declared on a Field, with their column set to the field's (a rule naming another
    column is a mistake) and checked against its `dtype`."""
    if isinstance(rules, str | Mapping) or not isinstance(rules, Sequence):
        raise DefinitionError(f"{where}: rules must be a list of rules, got {rules!r}")
    bound: list[Rule] = []
    for rule in rules:
        if not isinstance(rule, NotNull | InRange | AllowedValues | Matches | Unique | Custom):
            raise DefinitionError(f"{where}: rules must be rules like InRange(min=0), got {rule!r}")
        if rule.column not in ("", column):
            raise DefinitionError(
                f"{where}: rule {rule.describe()!r} names column {rule.column!r}; rules on a "
                "Field check that field (leave the column out)"
            )
        bound.append(replace(rule, column=column))
        if dtype is not None:
            check_rule_dtype(bound[-1], dtype, where)
    return tuple(bound)
