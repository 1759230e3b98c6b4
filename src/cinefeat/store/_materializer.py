"""Runs materialization for a list of views: window per view, chunked writes, then watermark."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

from cinefeat.definitions import FeatureView
from cinefeat.materialize import (
    MaterializationResult,
    MaterializationWindow,
    latest_rows_sql,
    new_files,
    window_relation,
    write_latest_rows,
)
from cinefeat.offline import DeltaOfflineStore, TableSnapshot, connect, scan_sql
from cinefeat.online import OnlineCache, OnlineStore
from cinefeat.registry import Registry, Watermark

__all__ = ["Materializer"]


class Materializer:
    def __init__(
        self,
        registry: Registry,
        offline: DeltaOfflineStore,
        online: OnlineStore,
        repo_path: Path,
        cache: OnlineCache | None,
    ) -> None:
        self.registry = registry
        self.offline = offline
        self.online = online
        self.repo_path = repo_path
        self.cache = cache

    def run(
        self,
        views: Sequence[FeatureView],
        start: datetime | None,
        end: datetime,
        progress: bool,
    ) -> list[MaterializationResult]:
        """`start=None` means incremental: each view continues from its own watermark."""
        bar = _progress() if progress else None
        results = []
        with bar if bar is not None else nullcontext():
            for view in views:
                results.append(self._one(view, start, end, bar))
        return results

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
        if self.cache is not None:
            self.cache.invalidate({view.table_name})
        # Only now, with the online writes committed, may the watermark move.
        self.registry.set_watermark(
            view.name, view.version, _next_watermark(start, end, snapshot, previous)
        )
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
            previous: tuple[str, ...] = ()
            if mark.delta_version is not None:
                try:
                    previous = self.offline.snapshot(view, mark.delta_version).files
                except Exception:  # that version's log is gone: treat every file as new
                    previous = ()
            late = new_files(snapshot, previous)
        window = MaterializationWindow(mark.event_time, end, False, late, mark.event_time)
        if end <= mark.event_time and not late:
            return window, f"up to date (watermark {mark.event_time.isoformat()})"
        return window, None


def _next_watermark(
    start: datetime | None,
    end: datetime,
    snapshot: TableSnapshot | None,
    previous: Watermark | None,
) -> Watermark:
    """An incremental run has seen every row up to `end` in every file of `snapshot`. An
    explicit range has not (rows before `start` may be missing), so it keeps the Delta version
    of the last incremental run: later files are then re-checked for late rows, never skipped."""
    moment = end if previous is None else max(end, previous.event_time)
    if start is None:
        return Watermark(moment, None if snapshot is None else snapshot.delta_version)
    return Watermark(moment, None if previous is None else previous.delta_version)


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
