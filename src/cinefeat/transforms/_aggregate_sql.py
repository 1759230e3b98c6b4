"""The SQL text of compiled aggregations (see cinefeat.transforms.aggregate for the plan)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cinefeat.definitions import Aggregation
from cinefeat.sqltext import quote_ident, sql_string

__all__ = ["DAY_US", "WANTS", "Term", "daily_sql", "grouped_sql", "result_sql", "terms", "windows"]

# The per-day partials each function needs.
WANTS: dict[str, tuple[str, ...]] = {
    "count": ("n",),
    "share": ("n",),
    "sum": ("n", "s"),
    "mean": ("n", "s"),
    "std": ("n", "s", "ss"),
    "min": ("lo",),
    "max": ("hi",),
    "count_distinct": ("first",),
}


@dataclass(frozen=True)
class Term:
    """One output column: `function` of the partials of `key` over `days` (None: all time).
    `key` is a column, or a column-by-group-value key for grouped aggregations; a share
    divides by the count of `denominator` (the ungrouped column)."""

    output: str
    function: str
    key: str
    days: int | None
    grouped: bool = False
    denominator: str | None = None

    @property
    def extreme(self) -> bool:
        return self.function in ("min", "max")

    @property
    def windowed_extreme(self) -> bool:
        return self.extreme and self.days is not None


def terms(aggregations: Iterable[Aggregation]) -> tuple[Term, ...]:
    found: list[Term] = []
    for a in aggregations:
        if a.groups is None:
            found.append(Term(a.output, a.function, a.column, a.window_days))
            continue
        prefix = f"{a.column}__{a.group_by}__"
        denominator = a.column if a.function == "share" else None
        for suffix, output in zip(a.groups.values(), a.outputs, strict=True):
            found.append(
                Term(output, a.function, prefix + suffix, a.window_days, True, denominator)
            )
    return tuple(found)


def _q(name: str) -> str:
    return quote_ident(name)


def _partial(partial: str, key: str) -> str:
    return f"__{partial}_{key}"


def _events(events: str, keys: Sequence[str], ts: str, derived: Mapping[str, str]) -> str:
    extra = "".join(f", {sql} AS {_q(name)}" for name, sql in derived.items())
    not_null = " AND ".join(f"{_q(k)} IS NOT NULL" for k in [*keys, ts])
    return f"SELECT *{extra} FROM {events} WHERE {not_null}"


DAY_US = 86_400_000_000


def _day(ts: str) -> str:
    """The boundary after `ts` as a day number (days since 1970-01-01 of the next midnight).
    Integer days make the grid arithmetic cheap: truncating a TIMESTAMPTZ goes through the
    ICU calendar and costs twice as much as the whole reduction here."""
    return f"CAST(floor(epoch_us({_q(ts)}) / {DAY_US}.0) AS BIGINT) + 1"


def daily_sql(
    keys: Sequence[str],
    all_terms: Sequence[Term],
    events: str,
    ts: str,
    derived: Mapping[str, str],
) -> tuple[str, tuple[tuple[str, str], ...]]:
    """Per (entity, day end `__b`) partials of the ungrouped terms (and the counts that shares
    divide by); every day with an event has a row. Returns the SQL and its (key, partial)s."""
    needs: dict[str, set[str]] = {}
    for term in all_terms:
        if not term.grouped:
            needs.setdefault(term.key, set()).update(WANTS[term.function])
        if term.denominator is not None:
            needs.setdefault(term.denominator, set()).add("n")
    key_list = ", ".join(_q(k) for k in keys)
    expressions = {
        "n": "count({c})", "s": "sum({c}::DOUBLE)", "ss": "sum({c}::DOUBLE * {c})",
        "lo": "min({c})", "hi": "max({c})",
    }  # fmt: skip
    partials = [(c, p) for c, parts in needs.items() for p in sorted(parts)]
    columns = "".join(
        f", {expressions[p].format(c=_q(c))} AS {_q(_partial(p, c))}"
        for c, p in partials
        if p != "first"
    )
    # Distinct values: each (entity, value) counts on the day it was first seen. A hash
    # aggregate finds that day far faster than numbering rows with a window function.
    firsts = [c for c, p in partials if p == "first"]
    first_ctes = "".join(
        f", first_{i} AS (SELECT {key_list}, __b, count(*) AS {_q(_partial('first', c))} FROM "
        f"(SELECT {key_list}, {_day('__first_ts')} AS __b FROM (SELECT {key_list}, {_q(c)}, "
        f"min({_q(ts)}) AS __first_ts FROM ev WHERE {_q(c)} IS NOT NULL GROUP BY ALL)) "
        "GROUP BY ALL)"
        for i, c in enumerate(firsts)
    )
    first_joins = "".join(
        f" LEFT JOIN first_{i} USING ({key_list}, __b)" for i in range(len(firsts))
    )
    sql = f"""
WITH ev AS ({_events(events, keys, ts, derived)}),
days AS (SELECT {key_list}, {_day(ts)} AS __b, count(*) AS __events{columns} FROM ev GROUP BY ALL)
{first_ctes}
SELECT * FROM days{first_joins}
"""
    return sql, tuple(partials)


def grouped_sql(
    keys: Sequence[str],
    column: str,
    group_by: str,
    groups: Mapping[Any, str],
    partials: set[str],
    events: str,
    ts: str,
    derived: Mapping[str, str],
    is_list: bool,
) -> str:
    """Partials of `column` per (entity, day end `__b`, group), long format: `__grp` is the group's
    position in `groups` (0-based) and `__row` the row of (entity, __b) in `cf_daily_rows`, so the
    caller can scatter the rows into columns directly."""
    key_list = ", ".join(_q(k) for k in keys)
    # A value listed twice in one event's list (genres [18, 18]) is still one event in that group.
    group = f"unnest(list_distinct({_q(group_by)}))" if is_list else _q(group_by)
    values = ", ".join(str(v) if isinstance(v, int) else sql_string(str(v)) for v in groups)
    expressions = {"n": "count(__v)", "s": "sum(__v::DOUBLE)", "ss": "sum(__v::DOUBLE * __v)"}
    columns = ", ".join(f"{expressions[p]} AS {p}" for p in sorted(partials))
    return f"""
WITH ev AS ({_events(events, keys, ts, derived)}),
exploded AS (SELECT {key_list}, {_day(ts)} AS __b, {_q(column)} AS __v,
                    list_position([{values}], {group}) - 1 AS __grp FROM ev),
grouped AS (SELECT {key_list}, __b, __grp, {columns} FROM exploded WHERE __grp >= 0 GROUP BY ALL)
SELECT r.__row, g.* EXCLUDE ({key_list}, __b)
FROM grouped g JOIN cf_daily_rows r USING ({key_list}, __b)
"""


def _total(partial: str, key: str, days: int | None) -> str:
    return f"__{'all' if days is None else days}_{partial}_{key}"


def _extreme(term: Term) -> str:
    return f"__extreme_{term.output}"


def _value(term: Term) -> str:
    def total(partial: str, key: str | None = None) -> str:
        return _q(_total(partial, key or term.key, term.days))

    function = term.function
    if function in ("count", "count_distinct"):
        return total("n" if function == "count" else "first")
    if function == "share":
        denominator = total("n", term.denominator)
        return f"CASE WHEN {denominator} > 0 THEN {total('n')} / {denominator} END"
    if function == "sum":
        return f"CASE WHEN {total('n')} > 0 THEN {total('s')} END"
    if function == "mean":
        return f"CASE WHEN {total('n')} > 0 THEN {total('s')} / {total('n')} END"
    if function == "std":
        n, s, ss = total("n"), total("s"), total("ss")
        variance = f"({ss} - {s} * {s} / {n}) / ({n} - 1)"
        # Rounding can make a zero variance slightly negative.
        return f"CASE WHEN {n} >= 2 THEN sqrt(greatest({variance}, 0)) END"
    return _q(_extreme(term))


def _totals(all_terms: Sequence[Term]) -> list[str]:
    """Window totals as plain columns, so each output expression stays small (DuckDB does not
    share repeated subexpressions)."""
    columns: dict[str, str] = {}
    for term in all_terms:
        if term.extreme:
            continue
        needed = [(p, term.key) for p in WANTS[term.function]]
        if term.denominator is not None:
            needed.append(("n", term.denominator))
        for partial, key in needed:
            now = f"coalesce(t.{_q(_partial(partial, key))}, 0)"
            value = now
            if term.days is not None:
                value = f"{now} - coalesce(w{term.days}.{_q(_partial(partial, key))}, 0)"
            columns[_total(partial, key, term.days)] = value
    for term in all_terms:
        if term.extreme:
            partial = "lo" if term.function == "min" else "hi"
            source = (
                f"x.{_q(term.output)}"
                if term.windowed_extreme
                else f"t.{_q(_partial(partial, term.key))}"
            )
            columns[_extreme(term)] = source
    return [f"{sql} AS {_q(name)}" for name, sql in columns.items()]


def windows(all_terms: Sequence[Term]) -> tuple[list[int], list[int]]:
    """All window lengths (days), and those computed by subtracting running totals."""
    every = sorted({t.days for t in all_terms if t.days is not None})
    subtracted = sorted({t.days for t in all_terms if t.days is not None and not t.extreme})
    return every, subtracted


def result_sql(
    keys: Sequence[str],
    all_terms: Sequence[Term],
    parts: int = 1,
    types: Mapping[str, str] | None = None,
) -> str:
    """The output rows (with the boundary's day number `__b`), over `cf_matched` (the boundary
    grid: keys, __b, and for each row the running-total rows that apply, `__bt` and `__b{days}`),
    `cf_daily` (day partials) and `cf_running` (running totals).

    With `parts` > 1 the query takes a `$part` parameter and returns only the entities whose
    key hash falls in that part: run once per part, the joins hold 1/parts of the totals.
    `types` (output -> DuckDB type) casts the outputs in the query, so the result is born in
    its final (often narrower) types rather than copied into them afterwards."""
    key_list = ", ".join(_q(k) for k in keys)
    part = f" WHERE hash({key_list}) % {parts} = $part" if parts > 1 else ""
    matched = f"(SELECT * FROM cf_matched{part})"
    running = f"(SELECT * FROM cf_running{part})"

    def on_keys(left: str, right: str) -> str:
        return " AND ".join(f"{left}.{_q(k)} = {right}.{_q(k)}" for k in keys)

    _, subtracted = windows(all_terms)
    fetch = "".join(
        f" LEFT JOIN {running} w{d} ON {on_keys('m', f'w{d}')} AND w{d}.__b = m.__b{d}"
        for d in subtracted
    )
    extremes = [t for t in all_terms if t.windowed_extreme]
    extreme_cte, extreme_join = "", ""
    if extremes:
        values = ", ".join(
            f"{t.function}({_q(_partial('lo' if t.function == 'min' else 'hi', t.key))}) "
            f"OVER (PARTITION BY {key_list} ORDER BY __b RANGE BETWEEN "
            f"{(t.days or 1) - 1} PRECEDING AND CURRENT ROW) AS {_q(t.output)}"
            for t in extremes
        )
        # Over the grid's days and every day with events: with `since`, the grid starts late,
        # but days before it still fall inside the first boundaries' windows.
        days = (
            f"(SELECT {key_list}, __b FROM {matched} "
            f"UNION SELECT {key_list}, __b FROM cf_daily{part})"
        )
        extreme_cte = (
            f"WITH extremes AS (SELECT {key_list}, __b, {values} FROM "
            f"{days} LEFT JOIN cf_daily USING ({key_list}, __b)),"
        )
        extreme_join = f" LEFT JOIN extremes x ON {on_keys('m', 'x')} AND m.__b = x.__b"

    def typed(term: Term) -> str:
        target = (types or {}).get(term.output)
        return f"CAST({_value(term)} AS {target})" if target else _value(term)

    outputs = ", ".join(f"{typed(t)} AS {_q(t.output)}" for t in all_terms)
    matched_keys = ", ".join(f"m.{_q(k)}" for k in keys)
    return f"""
{extreme_cte or "WITH"}
totals AS (
  SELECT {matched_keys}, m.__b, {", ".join(_totals(all_terms))}
  FROM {matched} m
  LEFT JOIN {running} t ON {on_keys("m", "t")} AND t.__b = m.__bt{fetch}{extreme_join}
),
SELECT {key_list}, {outputs}, __b FROM totals
"""
