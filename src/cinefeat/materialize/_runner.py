"""Materialization runs: a window per view, chunked online writes, then the watermark.

The watermark of a view advances only after its online writes committed, so a crash in between
re-does work and never skips it. For managed views the watermark also records the Delta version
read: rows committed later with older event times (late data) are picked up by the next
incremental run instead of being lost behind the watermark.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cinefeat.definitions import FeatureView
from cinefeat.duck import connect
from cinefeat.errors import FeatureNotFoundError
from cinefeat.materialize._sql import (
    MaterializationWindow,
    OnlineWriter,
    latest_rows_sql,
    window_relation,
    write_latest_rows,
)
from cinefeat.offline import DeltaOfflineStore, TableSnapshot, scan_sql
from cinefeat.registry import Registry, Watermark

__all__ = ["MaterializationResult", "Materializer"]


@dataclass(frozen=True)
class MaterializationResult:
    view: str
    table: str
    start: datetime | None
    end: datetime
    rows_read: int
    rows_written: int  # entity rows sent to the online store (older ones are not applied)
    delta_version: int | None
    skipped: str | None = None  # why nothing was done, when nothing was

    def describe(self) -> str:
        if self.skipped:
            return f"{self.view}: {self.skipped}"
        start = self.start.isoformat() if self.start else "the beginning"
        if self.rows_read == 0:
            return f"{self.view}: no new rows between {start} and {self.end.isoformat()}"
        return (
            f"{self.view} ({self.table}): {self.rows_read:,} rows from {start} to "
            f"{self.end.isoformat()} -> {self.rows_written:,} entities online"
        )


class Materializer:
    """Materializes views from the offline store into an online store. `on_written(table)` is
    called after each view's online writes (the store drops its cache entries there)."""

    def __init__(
        self,
        registry: Registry,
        offline: DeltaOfflineStore,
        online: OnlineWriter,
        repo_path: Path,
        on_written: Callable[[str], None] | None = None,
    ) -> None:
        self.registry = registry
        self.offline = offline
        self.online = online
        self.repo_path = repo_path
        self.on_written = on_written

    def run(
        self,
        views: Sequence[FeatureView],
        start: datetime | None,
        end: datetime,
        progress: bool = False,
    ) -> list[MaterializationResult]:
        """`start=None` means incremental: each view continues from its own watermark."""
        bar = _progress() if progress else None
        with bar if bar is not None else nullcontext():
            return [self._one(view, start, end, bar) for view in views]

    def _one(
        self, view: FeatureView, start: datetime | None, end: datetime, bar: Any
    ) -> MaterializationResult:
        assert view.version is not None
        if not view.online:
            return _skipped(view, start, end, "not an online view (online=False)")
        snapshot = self.offline.snapshot(view) if view.is_managed else None
        previous = self.registry.get_watermark(view.name, view.version)
        window, skip = self._window(view, start, end, snapshot, previous)
        if skip is not None:
            return _skipped(view, window.start, end, skip, snapshot)
        connection = connect()
        try:
            relation, params = self._relation(view, window, snapshot, connection)
            task = None if bar is None else bar.add_task(f"{view.name} v{view.version}")
            rows_read, rows_written = write_latest_rows(
                connection,
                latest_rows_sql(view, relation),
                params,
                view,
                self.online,
                on_chunk=None if bar is None else (lambda n: bar.advance(task, n)),
            )
        finally:
            connection.close()
        if bar is not None:
            bar.update(task, total=rows_written, completed=rows_written)
        if self.on_written is not None:
            self.on_written(view.table_name)
        # Only now, with the online writes committed, may the watermark move.
        mark = _next_watermark(start, end, snapshot, previous)
        if mark is not None and mark != previous:
            self.registry.set_watermark(view.name, view.version, mark)
        delta_version = None if snapshot is None else snapshot.delta_version
        return MaterializationResult(
            view.name, view.table_name, window.start, end, rows_read, rows_written, delta_version
        )

    def _relation(
        self,
        view: FeatureView,
        window: MaterializationWindow,
        snapshot: TableSnapshot | None,
        connection: Any,
    ) -> tuple[str, dict[str, object]]:
        features = view.feature_names
        all_rows = scan_sql(
            view, features, snapshot=snapshot, repo_path=self.repo_path, connection=connection
        )
        late_rows = None
        if window.late_files and snapshot is not None:
            late = TableSnapshot(
                snapshot.table, snapshot.delta_version, window.late_files, snapshot.columns
            )
            late_rows = scan_sql(view, features, snapshot=late)
        return window_relation(window, all_rows, late_rows)

    def _window(
        self,
        view: FeatureView,
        start: datetime | None,
        end: datetime,
        snapshot: TableSnapshot | None,
        mark: Watermark | None,
    ) -> tuple[MaterializationWindow, str | None]:
        if start is not None:
            return MaterializationWindow(start, end, start_inclusive=True), None
        if mark is None:
            ttl = view.ttl_delta
            first = end - ttl if ttl else None
            return MaterializationWindow(first, end, start_inclusive=True), None
        late: tuple[str, ...] = ()
        if snapshot is not None and snapshot.delta_version != mark.delta_version:
            seen: set[str] = set()
            if mark.delta_version is not None:
                try:
                    seen = set(self.offline.snapshot(view, mark.delta_version).files)
                except FeatureNotFoundError:  # that version's log is gone: every file is new
                    seen = set()
            late = tuple(f for f in snapshot.files if f not in seen)
        window = MaterializationWindow(mark.event_time, end, False, late)
        if end <= mark.event_time and not late:
            return window, f"up to date (watermark {mark.event_time.isoformat()})"
        return window, None


def _next_watermark(
    start: datetime | None,
    end: datetime,
    snapshot: TableSnapshot | None,
    previous: Watermark | None,
) -> Watermark | None:
    """How far the online store is now known to be complete.

    An incremental run has seen every row up to `end` in every file of `snapshot`. An explicit
    range only extends that if it starts at or before the old watermark; with a gap between
    them, the watermark stays (the next incremental run fills the gap). An explicit range never
    vouches for files (it reads one time range of them), so it keeps the last incremental
    run's Delta version: later files are re-checked for late rows, not skipped.
    """
    delta_version = None if snapshot is None else snapshot.delta_version
    if start is None:
        moment = end if previous is None else max(end, previous.event_time)
        return Watermark(moment, delta_version)
    if previous is None:
        return Watermark(end, None)
    if start > previous.event_time:
        return previous
    return Watermark(max(end, previous.event_time), previous.delta_version)


def _skipped(
    view: FeatureView,
    start: datetime | None,
    end: datetime,
    reason: str,
    snapshot: TableSnapshot | None = None,
) -> MaterializationResult:
    version = None if snapshot is None else snapshot.delta_version
    return MaterializationResult(view.name, view.table_name, start, end, 0, 0, version, reason)


def _progress() -> Any:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    return Progress(
        TextColumn("[bold]materialize[/] {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("entities"),
        TimeElapsedColumn(),
    )
