"""The offline store: one Delta Lake table per managed feature-view version.

Every write is one Delta commit, so readers see the table before or after it, never half.
Reads can pin a Delta version, which is how a training set is rebuilt exactly.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
from deltalake import DeltaTable, write_deltalake
from deltalake.exceptions import TableNotFoundError

from cinefeat.definitions import FeatureView
from cinefeat.errors import CinefeatError, FeatureNotFoundError
from cinefeat.offline._append import (
    StagedFiles,
    append_files,
    commit_data_files,
    committed_names,
    discard_uncommitted,
    staged_paths,
    write_data_files,
)
from cinefeat.offline._conform import conform_to_view, storage_schema
from cinefeat.offline._replace import ReplaceResult, SliceSelector, check_unique_identities, plan

__all__ = [
    "QUARANTINE_TABLE",
    "DeltaOfflineStore",
    "TableSnapshot",
    "WriteResult",
    "read_quarantine",
    "write_quarantine",
]


@dataclass(frozen=True)
class WriteResult:
    """What one `write_offline` committed."""

    view: str
    table: str
    rows: int
    delta_version: int | None  # None when nothing was written (an empty frame)


@dataclass(frozen=True)
class TableSnapshot:
    """The Parquet files that make up one Delta version of a view's table."""

    table: str
    delta_version: int | None  # None: the table has never been written
    files: tuple[str, ...]
    columns: tuple[str, ...]  # columns the table has (a field added later may be absent)


class DeltaOfflineStore:
    """Delta tables under `root`. Handles to each table's latest version are kept and brought
    up to date incrementally (reading only new log entries), which makes frequent small writes
    and reads cheap. A lock per table keeps one thread's version and file list consistent;
    threads writing different tables do not wait for each other."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._latest: dict[str, DeltaTable] = {}
        self._locks: dict[str, threading.RLock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, view: FeatureView) -> threading.RLock:
        with self._locks_guard:
            return self._locks.setdefault(view.table_name, threading.RLock())

    def table_path(self, view: FeatureView) -> Path:
        return self.root / view.table_name

    def write(self, view: FeatureView, table: pa.Table, skip_existing: bool = False) -> WriteResult:
        """Check `table` against the view (see conform_to_view), then append it. With
        `skip_existing`, rows whose join keys and event time the table already holds are left
        out (in the same commit), so writing the same load twice stores it once."""
        _require_managed(view)
        conformed = conform_to_view(view, table, datetime.now(UTC))
        return self.write_conformed(view, conformed, skip_existing)

    def write_conformed(
        self, view: FeatureView, conformed: pa.Table, skip_existing: bool = False
    ) -> WriteResult:
        """Append rows already checked by `conform_to_view` (push checks once for both stores).
        `delta_version` of the result is the table's version right after the commit."""
        _require_managed(view)
        with self._lock(view):
            return self._write_locked(view, conformed, skip_existing)

    def _write_locked(
        self, view: FeatureView, conformed: pa.Table, skip_existing: bool
    ) -> WriteResult:
        existing = self._open(view)
        if conformed.num_rows == 0:
            return WriteResult(view.name, view.table_name, 0, _version(existing))
        path = self.table_path(view)
        path.parent.mkdir(parents=True, exist_ok=True)
        # A non-breaking change (a new field) widens the table in the same commit.
        evolve = existing is not None and set(conformed.schema.names) - {
            f.name for f in existing.schema().fields
        }
        if skip_existing and existing is not None:
            return self._insert_new_rows(view, existing, conformed, bool(evolve))
        if existing is not None and evolve:  # delta-rs' writer widens the schema in one commit
            write_deltalake(existing, conformed, mode="append", schema_mode="merge")
        else:
            append_files(
                path,
                existing,
                conformed,
                name=view.table_name,
                description=view.description or None,
            )
        return WriteResult(
            view.name, view.table_name, conformed.num_rows, _version(self._open(view))
        )

    def replace_rows(
        self,
        view: FeatureView,
        rows: pa.Table,
        in_slice: SliceSelector,
        staged: Sequence[StagedFiles] = (),
    ) -> ReplaceResult:
        """Replace a slice of the view's stored rows by `rows`, in one commit (none when there
        is nothing to write or delete). The slice is the stored identities (join keys + event
        time) that `in_slice` selects from a LazyFrame of them, plus the identities of `rows`;
        stored rows outside it are kept. Rerunning the same replacement leaves the same rows.

        `staged` are data files written ahead by `stage_rows` (in pipeline workers): their rows
        count as part of `rows`. When nothing stored is replaced they are committed as they are,
        without being read again (only their identity columns are)."""
        _require_managed(view)
        conformed = conform_to_view(view, rows, datetime.now(UTC))
        files = staged_paths(view, staged, self.root)
        identity = [*view.join_keys, view.event_timestamp_column]
        identities = conformed.select(identity)
        if files:
            ahead = ds.dataset(files, format="parquet").to_table(columns=identity)
            identities = pa.concat_tables([identities, ahead.cast(identities.schema)])
        check_unique_identities(view, identities)
        # No write may land between the read of the stored identities and the commit: not
        # from this process (the lock), nor from another one (an flock on the table).
        with self._lock(view), _table_lock(self.root, view.table_name):
            existing = self._open(view)
            replacement = plan(view, existing, identities, in_slice)
            evolve = existing is not None and bool(
                set(conformed.schema.names) - {f.name for f in existing.schema().fields}
            )
            if replacement.append_only and files and not evolve:
                added = [a for part in staged for a in part.actions()]
                added += write_data_files(self.table_path(view), conformed)
                commit_data_files(
                    self.table_path(view),
                    existing,
                    added,
                    conformed.schema,
                    name=view.table_name,
                    description=view.description or None,
                )
                version = _version(self._open(view))
                return ReplaceResult(view.name, view.table_name, identities.num_rows, 0, 0, version)
            held = committed_names(existing) if files else set()
            if files:  # read back: the MERGE (or a widening write) rewrites them
                ahead = ds.dataset(files, format="parquet").to_table()
                conformed = pa.concat_tables([conformed, ahead.cast(conformed.schema)])
            if existing is None or replacement.append_only:
                written = self._write_locked(view, conformed, skip_existing=False)
                result = ReplaceResult(
                    view.name, view.table_name, written.rows, 0, 0, written.delta_version
                )
            else:
                result = replacement.execute(view, existing, conformed)
                self._open(view)  # bring the cached handle up to date
            # Their rows are committed in files of their own now.
            discard_uncommitted(files, held)
            return result

    def _insert_new_rows(
        self, view: FeatureView, existing: DeltaTable, conformed: pa.Table, evolve: bool
    ) -> WriteResult:
        # An insert-only MERGE: one commit (none when every row is already stored), and Delta's
        # conflict check covers a concurrent writer, which a read-then-append would not.
        identity = (*view.join_keys, view.event_timestamp_column)
        predicate = " AND ".join(f"t.`{c}` = s.`{c}`" for c in identity)
        metrics = (
            existing.merge(
                conformed, predicate, source_alias="s", target_alias="t", merge_schema=evolve
            )
            .when_not_matched_insert_all()
            .execute()
        )
        inserted = int(metrics["num_target_rows_inserted"])
        return WriteResult(view.name, view.table_name, inserted, _version(self._open(view)))

    def _open(self, view: FeatureView, version: int | None = None) -> DeltaTable | None:
        """The table at `version`, or at its latest version (callers hold the lock)."""
        if version is None and (cached := self._latest.get(view.table_name)) is not None:
            try:
                cached.update_incremental()
                return cached
            except Exception:  # the table was removed or replaced on disk: open it afresh
                del self._latest[view.table_name]
        table = self._open_uncached(view, version)
        if version is None and table is not None:
            self._latest[view.table_name] = table
        return table

    def _open_uncached(self, view: FeatureView, version: int | None) -> DeltaTable | None:
        path = self.table_path(view)
        if not (path / "_delta_log").is_dir():
            if version is not None:
                raise FeatureNotFoundError(
                    f"feature view {view.name!r} (v{view.version}) has no data, so Delta "
                    f"version {version} does not exist"
                )
            return None
        try:
            return DeltaTable(str(path), version=version)
        except TableNotFoundError:
            return None
        except Exception as exc:  # deltalake raises a bare exception for a missing version
            if version is not None:
                raise FeatureNotFoundError(
                    f"feature view {view.name!r}: Delta version {version} of {view.table_name} "
                    f"is not readable ({exc})"
                ) from None
            raise

    def current_version(self, view: FeatureView) -> int | None:
        with self._lock(view):
            return _version(self._open(view))

    def snapshot(self, view: FeatureView, version: int | None = None) -> TableSnapshot:
        with self._lock(view):
            table = self._open(view, version)
            if table is None:
                return TableSnapshot(view.table_name, None, (), ())
            columns = tuple(f.name for f in table.schema().fields)
            files = tuple(table.file_uris())
            return TableSnapshot(view.table_name, table.version(), files, columns)

    def read(self, view: FeatureView, version: int | None = None) -> pa.Table:
        """The whole table (at a Delta version), in the view's storage schema."""
        with self._lock(view):
            table = self._open(view, version)
            if table is None:
                return storage_schema(view).empty_table()
            data = table.to_pyarrow_table()
        schema = storage_schema(view)
        missing = [f for f in schema if f.name not in data.column_names]
        for field in missing:  # rows written before a field was added
            data = data.append_column(field, pa.nulls(data.num_rows, field.type))
        return data.select(schema.names).cast(schema)


QUARANTINE_TABLE = "_quarantine"


def write_quarantine(root: Path, records: pa.Table) -> WriteResult:
    """Add quarantined records (kind, raw, reason, source, snapshot_ts, ...) to the repo's
    quarantine Delta table, in one commit. A record already there (same kind, raw, reason,
    source and snapshot) is not added again: `rows` of the result counts the new ones."""
    path = root / QUARANTINE_TABLE
    if not (path / "_delta_log").is_dir():
        if records.num_rows == 0:
            return WriteResult(QUARANTINE_TABLE, QUARANTINE_TABLE, 0, None)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_deltalake(str(path), records, mode="append")
        return WriteResult(QUARANTINE_TABLE, QUARANTINE_TABLE, records.num_rows, 0)
    table = DeltaTable(str(path))
    added = 0
    if records.num_rows:
        identity = ("kind", "raw", "reason", "source", "snapshot_ts")
        # delta-rs misparses `a IS NOT DISTINCT FROM b AND ...` without the parentheses.
        predicate = " AND ".join(f"(t.`{c}` IS NOT DISTINCT FROM s.`{c}`)" for c in identity)
        merger = table.merge(
            records, predicate, source_alias="s", target_alias="t", merge_schema=True
        )
        added = int(merger.when_not_matched_insert_all().execute()["num_target_rows_inserted"])
    return WriteResult(QUARANTINE_TABLE, QUARANTINE_TABLE, added, int(table.version()))


def read_quarantine(root: Path) -> pa.Table | None:
    path = root / QUARANTINE_TABLE
    if not (path / "_delta_log").is_dir():
        return None
    return DeltaTable(str(path)).to_pyarrow_table()


@contextlib.contextmanager
def _table_lock(root: Path, table: str) -> Iterator[None]:
    """An exclusive advisory lock on one table across processes (released if one dies)."""
    import fcntl

    root.mkdir(parents=True, exist_ok=True)
    with open(root / f".{table}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _version(table: DeltaTable | None) -> int | None:
    return None if table is None else int(table.version())


def _require_managed(view: FeatureView) -> None:
    if view.source is not None:
        raise CinefeatError(
            f"feature view {view.name!r} reads the FileSource {view.source.path!r}; write new "
            "rows to those Parquet files, not through cinefeat"
        )
