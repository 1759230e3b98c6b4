"""The embedded online store: one SQLite file (WAL), one table per view version, keyed by the
view's join keys, holding the latest event's packed values."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa

from cinefeat.definitions import FeatureView
from cinefeat.online._protocol import EntityKey, OnlineRow
from cinefeat.packed import CREATED_US, EVENT_US, VALUES
from cinefeat.sqltext import quote_ident

__all__ = ["SqliteOnlineStore"]

_SQL_TYPES = {"Int32": "INTEGER", "Int64": "INTEGER", "String": "TEXT"}
_GENERATIONS = "_cinefeat_generations"
# SQLite's default limit of bound variables per statement (SQLITE_MAX_VARIABLE_NUMBER) on
# older builds; larger lookups are split into several queries.
_MAX_VARIABLES = 32_000


class SqliteOnlineStore:
    """Reads use one connection per thread (all closed by `close`); writes go through one
    writer connection, serialised by a lock, as SQLite serialises writers anyway."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writer: sqlite3.Connection | None = None
        self._created: set[str] = set()
        self._read_sql: dict[tuple[str, int], str] = {}
        self._seen_generations: dict[str, int] = {}
        with self._write() as con:
            con.execute(
                f"CREATE TABLE IF NOT EXISTS {_GENERATIONS} "
                "(name TEXT PRIMARY KEY, generation INTEGER NOT NULL) WITHOUT ROWID"
            )

    @classmethod
    def from_config(cls, config: Any, repo_path: Path) -> SqliteOnlineStore:
        path = Path(config.path).expanduser()
        return cls(path if path.is_absolute() else repo_path / path)

    def _connect(self) -> sqlite3.Connection:
        con = sqlite3.connect(
            self.path, timeout=60.0, isolation_level=None, check_same_thread=False
        )
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    @property
    def _reader(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if con is None:
            con = self._connect()
            self._local.reader = con
            with self._lock:
                self._readers.append(con)
        return con

    def _write(self) -> _WriteTransaction:
        return _WriteTransaction(self)

    def _writer_connection(self) -> sqlite3.Connection:
        if self._writer is None:
            self._writer = self._connect()
        return self._writer

    # -- schema ---------------------------------------------------------------------------

    def _create_table(self, con: sqlite3.Connection, view: FeatureView) -> None:
        if view.table_name in self._created:
            return
        keys = ", ".join(
            f"{quote_ident(f.name)} {_SQL_TYPES[f.dtype.name]} NOT NULL" for f in view.key_fields
        )
        pk = ", ".join(quote_ident(k) for k in view.join_keys)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_ident(view.table_name)} ({keys}, "
            "event_us INTEGER NOT NULL, created_us INTEGER NOT NULL, vals BLOB NOT NULL, "
            f"PRIMARY KEY ({pk})) WITHOUT ROWID"
        )
        self._created.add(view.table_name)

    def update(
        self, tables_to_delete: Sequence[FeatureView], tables_to_keep: Sequence[FeatureView]
    ) -> None:
        with self._write() as con:
            for view in tables_to_delete:
                con.execute(f"DROP TABLE IF EXISTS {quote_ident(view.table_name)}")
                self._created.discard(view.table_name)
                self._bump(con, view.table_name)
            for view in tables_to_keep:
                self._create_table(con, view)

    def _bump(self, con: sqlite3.Connection, table: str) -> None:
        con.execute(
            f"INSERT INTO {_GENERATIONS} (name, generation) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET generation = generation + 1",
            (table,),
        )

    # -- writes ---------------------------------------------------------------------------

    def online_write_batch(self, view: FeatureView, rows: pa.Table) -> int:
        table = quote_ident(view.table_name)
        keys = ", ".join(quote_ident(k) for k in view.join_keys)
        columns = [*view.join_keys, EVENT_US, CREATED_US, VALUES]
        placeholders = ", ".join("?" * len(columns))
        sql = (
            f"INSERT INTO {table} ({keys}, event_us, created_us, vals) "
            f"VALUES ({placeholders}) ON CONFLICT ({keys}) DO UPDATE SET "
            "event_us = excluded.event_us, created_us = excluded.created_us, vals = excluded.vals "
            f"WHERE excluded.event_us > {table}.event_us OR (excluded.event_us = {table}.event_us "
            f"AND excluded.created_us >= {table}.created_us)"
        )
        # executemany needs Python tuples; to_pylist converts each column in C.
        data = list(zip(*(rows.column(c).to_pylist() for c in columns), strict=True))
        try:
            self._write_rows(view, sql, data)
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            self._created.discard(view.table_name)  # another process dropped it: recreate
            self._write_rows(view, sql, data)
        return int(rows.num_rows)

    def _write_rows(self, view: FeatureView, sql: str, data: list[tuple[Any, ...]]) -> None:
        with self._write() as con:
            self._create_table(con, view)
            con.executemany(sql, data)
            self._bump(con, view.table_name)

    # -- reads ----------------------------------------------------------------------------

    def online_read(
        self, view: FeatureView, keys: Sequence[EntityKey]
    ) -> Mapping[EntityKey, OnlineRow]:
        n_keys = len(view.join_keys)
        per_query = max(1, _MAX_VARIABLES // n_keys)
        found: dict[EntityKey, OnlineRow] = {}
        for start in range(0, len(keys), per_query):
            found.update(self._read_some(view, keys[start : start + per_query]))
        return found

    def _read_some(
        self, view: FeatureView, keys: Sequence[EntityKey]
    ) -> Mapping[EntityKey, OnlineRow]:
        n_keys = len(view.join_keys)
        sql = self._read_sql.get((view.table_name, len(keys)))
        if sql is None:
            sql = self._build_read_sql(view, len(keys))
        params = [v for key in keys for v in key] if n_keys > 1 else [key[0] for key in keys]
        try:
            rows = self._reader.execute(sql, params).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return {}
            raise
        if n_keys == 1:
            return {(row[0],): (row[1], row[2]) for row in rows}
        return {tuple(row[:n_keys]): (row[n_keys], row[n_keys + 1]) for row in rows}

    def _build_read_sql(self, view: FeatureView, count: int) -> str:
        keys = [quote_ident(k) for k in view.join_keys]
        select = f"SELECT {', '.join(keys)}, event_us, vals FROM {quote_ident(view.table_name)}"
        if len(keys) == 1:
            where = f"{keys[0]} = ?" if count == 1 else f"{keys[0]} IN ({', '.join('?' * count)})"
        else:
            row = "(" + ", ".join("?" * len(keys)) + ")"
            where = f"({', '.join(keys)}) IN (VALUES {', '.join([row] * count)})"
        sql = f"{select} WHERE {where}"
        if len(self._read_sql) < 4096:  # bounded: request sizes vary
            self._read_sql[(view.table_name, count)] = sql
        return sql

    def changed_views(self) -> set[str] | None:
        # data_version is per connection, so each thread remembers the last one it saw.
        con = self._reader
        version = con.execute("PRAGMA data_version").fetchone()[0]
        if version == getattr(self._local, "data_version", None):
            return None
        self._local.data_version = version
        current = dict(con.execute(f"SELECT name, generation FROM {_GENERATIONS}").fetchall())
        changed = {name for name, gen in current.items() if self._seen_generations.get(name) != gen}
        self._seen_generations = current
        return changed

    def teardown(self) -> None:
        """Delete every view's online rows by dropping their tables in one transaction (and
        bumping their generations), not by deleting the file: a server or another process
        holding the file sees the change at once, rather than keep reading a deleted file."""
        with self._write() as con:
            tables = [
                name
                for (name,) in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' "
                    "AND name NOT LIKE 'sqlite_%' AND name != ?",
                    (_GENERATIONS,),
                )
            ]
            for table in tables:
                con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
                self._bump(con, table)
        self._created.clear()
        self._writer_connection().execute("VACUUM")  # give the space back

    def close(self) -> None:
        with self._lock:
            for con in self._readers:
                con.close()
            self._readers.clear()
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        self._local = threading.local()


class _WriteTransaction:
    """`with store._write() as con:` runs one IMMEDIATE transaction on the writer connection."""

    def __init__(self, store: SqliteOnlineStore) -> None:
        self.store = store

    def __enter__(self) -> sqlite3.Connection:
        self.store._lock.acquire()
        try:
            con = self.store._writer_connection()
            con.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.store._lock.release()
            raise
        return con

    def __exit__(self, exc_type: object, *_: object) -> None:
        con = self.store._writer_connection()
        try:
            if exc_type is None:
                con.execute("COMMIT")
        finally:
            if con.in_transaction:  # an error, or a COMMIT that failed
                con.execute("ROLLBACK")
            self.store._lock.release()
