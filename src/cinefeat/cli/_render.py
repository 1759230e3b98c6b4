"""Rich rendering of plans, views and lookups for the CLI."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:  # at run time these arrive as arguments; importing them would cost ~0.5 s
    from cinefeat.definitions import FeatureView
    from cinefeat.materialize import MaterializationResult
    from cinefeat.online import OnlineResponse
    from cinefeat.registry import RegistryDiff

__all__ = [
    "describe_ttl",
    "diff_table",
    "lookup_table",
    "materialization_table",
    "view_table",
    "views_table",
]

_CHANGE_STYLE = {"add": "green", "update": "yellow", "remove": "red", "unchanged": "dim"}


def describe_ttl(ttl: timedelta) -> str:
    if not ttl:
        return "none"
    days, seconds = ttl.days, ttl.seconds
    if seconds == 0:
        return f"{days}d"
    return f"{days}d {seconds // 3600}h" if days else f"{ttl.total_seconds() / 3600:g}h"


def _version_cell(version: int | None, new: bool) -> str:
    if version is None:
        return ""
    return f"v{version}" if new else f"v{version} (kept)"


def diff_table(diff: RegistryDiff, title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("change", "kind", "name", "version", "details"):
        table.add_column(column)
    for change in diff.changes:
        style = _CHANGE_STYLE[change.change]
        details = "; ".join(change.reasons)
        if change.breaking:
            details = f"[bold red]BREAKING[/] {details}"
        table.add_row(
            f"[{style}]{change.change}[/]",
            change.kind,
            change.name,
            _version_cell(change.new_version, change.change == "add" or change.breaking),
            details,
        )
    return table


def views_table(views: list[FeatureView]) -> Table:
    table = Table(title="feature views", title_justify="left")
    for column in ("name", "version", "entities", "features", "ttl", "online", "source", "owner"):
        table.add_column(column)
    for view in sorted(views, key=lambda v: v.name):
        source = "managed (Delta)" if view.source is None else f"file: {view.source.path}"
        table.add_row(
            view.name,
            f"v{view.version}",
            ", ".join(view.entity_names),
            str(len(view.features)),
            describe_ttl(view.ttl_delta),
            "yes" if view.online else "no",
            source,
            view.owner,
        )
    return table


def view_table(view: FeatureView) -> Table:
    table = Table(title=f"{view.name} v{view.version}: {view.description}", title_justify="left")
    for column in ("field", "dtype", "role", "description", "tags"):
        table.add_column(column)
    keys = set(view.join_keys)
    for field in view.schema:
        tags = ", ".join(f"{k}={v}" for k, v in field.tags.items())
        role = "join key" if field.name in keys else "feature"
        table.add_row(field.name, str(field.dtype), role, field.description, tags)
    return table


def materialization_table(results: list[MaterializationResult]) -> Table:
    table = Table(title="materialization", title_justify="left")
    for column in ("view", "table", "from", "to", "rows read", "entities written", "note"):
        table.add_column(column)
    for r in results:
        table.add_row(
            r.view,
            r.table,
            r.start.isoformat() if r.start else "beginning",
            r.end.isoformat(),
            f"{r.rows_read:,}",
            f"{r.rows_written:,}",
            r.skipped or ("no new rows" if r.rows_read == 0 else ""),
        )
    return table


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def lookup_table(response: OnlineResponse) -> Table:
    """One row per feature, one column per entity: lookups have few entities, many features."""
    table = Table(title="online features", title_justify="left")
    table.add_column("feature", no_wrap=True)
    keys = list(response.join_keys)
    n_rows = len(response.join_keys[keys[0]]) if keys else 0
    for i in range(n_rows):
        table.add_column(", ".join(f"{k}={response.join_keys[k][i]}" for k in keys))
    for name in response.feature_names:
        cells = []
        for i in range(n_rows):
            status = response.statuses[name][i]
            stamp = response.event_timestamps[name][i]
            if status.value == "PRESENT":
                shown = _cell(response.values[name][i])
            else:
                shown = f"[yellow]{status.value}[/]"
            when = f"\n[dim]{stamp:%Y-%m-%d %H:%M}[/]" if stamp else ""
            cells.append(f"{shown}{when}")
        table.add_row(name, *cells)
    return table
