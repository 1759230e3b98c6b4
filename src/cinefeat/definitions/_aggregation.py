"""Aggregation: a time-window aggregate declared on a view (`rating_mean_30d`), which cinefeat
compiles to DuckDB instead of anyone hand-writing it per feature."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from cinefeat.definitions._names import check_name
from cinefeat.errors import DefinitionError

__all__ = ["AGGREGATION_FUNCTIONS", "Aggregation"]

AggregationFunction = Literal[
    "count", "sum", "mean", "std", "min", "max", "count_distinct", "share"
]
AGGREGATION_FUNCTIONS: tuple[str, ...] = (
    "count",
    "sum",
    "mean",
    "std",
    "min",
    "max",
    "count_distinct",
    "share",
)


def _window_label(window: timedelta | None) -> str:
    # Windows are whole days (checked when an Aggregation is made).
    return "all" if window is None else f"{window.days}d"


@dataclass(frozen=True)
class Aggregation:
    """`function` of `column` over the events of the last `window` (None: all time).

    Values are computed at each day boundary (midnight UTC) from the events strictly before it:
    a row stamped at midnight of day D+1 aggregates events of days D+1-window .. D, so a
    point-in-time join never sees an event before its day is over. The output feature is named
    `name`, by default `{column}_{function}_{window}` (rating_mean_30d, rating_count_all).
    `count` counts non-null values of `column`; `std` is the sample standard deviation (null
    with fewer than two values); `count_distinct` is only available over all time.

    With `group_by` (a column holding a value or a list of values per event, like genre_ids),
    the aggregate is computed per group value listed in `groups` (value -> name suffix), one
    output per group named `{name}_{suffix}`; `share` is then the fraction of the column's
    values (in the window) whose event belongs to the group.
    """

    column: str
    function: AggregationFunction
    window: timedelta | None = None
    name: str | None = None
    group_by: str | None = None
    groups: Mapping[Any, str] | None = None

    def __post_init__(self) -> None:
        where = f"Aggregation({self.column!r}, {self.function!r})"
        check_name("column", self.column, where)
        if self.function not in AGGREGATION_FUNCTIONS:
            raise DefinitionError(
                f"{where}: unknown function; expected one of {list(AGGREGATION_FUNCTIONS)}"
            )
        if self.window is not None:
            if not isinstance(self.window, timedelta):
                raise DefinitionError(f"{where}: window must be a timedelta or None (all time)")
            if self.window <= timedelta(0) or self.window % timedelta(days=1):
                raise DefinitionError(
                    f"{where}: window must be a positive whole number of days, got {self.window}"
                )
            if self.function == "count_distinct":
                raise DefinitionError(f"{where}: count_distinct is only supported over all time")
        if self.name is not None:
            check_name("Field", self.name, where)
        self._check_groups(where)

    def _check_groups(self, where: str) -> None:
        if self.group_by is None:
            if self.groups is not None:
                raise DefinitionError(f"{where}: groups needs group_by")
            if self.function == "share":
                raise DefinitionError(f"{where}: share needs group_by and groups")
            return
        check_name("group_by", self.group_by, where)
        if not self.groups:
            raise DefinitionError(f"{where}: group_by needs groups (value -> name suffix)")
        if self.function in ("min", "max", "count_distinct"):
            raise DefinitionError(f"{where}: {self.function} cannot be grouped")
        groups = dict(self.groups)
        for value, suffix in groups.items():
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise DefinitionError(f"{where}: group values must be ints or strings")
            check_name("Field", f"x_{suffix}", where)
        if len(set(groups.values())) != len(groups):
            raise DefinitionError(f"{where}: two groups share a name suffix")
        object.__setattr__(self, "groups", groups)

    @property
    def base_name(self) -> str:
        return self.name or f"{self.column}_{self.function}_{_window_label(self.window)}"

    @property
    def outputs(self) -> tuple[str, ...]:
        """The feature(s) this aggregation produces: one, or one per group."""
        if self.groups is None:
            return (self.base_name,)
        return tuple(f"{self.base_name}_{suffix}" for suffix in self.groups.values())

    @property
    def output(self) -> str:
        if self.groups is not None:
            raise DefinitionError(f"Aggregation {self.base_name!r} has one output per group")
        return self.base_name

    @property
    def window_days(self) -> int | None:
        return None if self.window is None else self.window.days

    def to_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {
            "column": self.column,
            "function": self.function,
            "window_days": self.window_days,
            "name": self.name,
        }
        if self.group_by is not None:
            spec["group_by"] = self.group_by
            spec["groups"] = [[value, suffix] for value, suffix in (self.groups or {}).items()]
        return spec

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> Aggregation:
        days = spec.get("window_days")
        groups = spec.get("groups")
        return cls(
            spec["column"],
            spec["function"],
            None if days is None else timedelta(days=days),
            spec.get("name"),
            spec.get("group_by"),
            None if groups is None else {value: suffix for value, suffix in groups},
        )
