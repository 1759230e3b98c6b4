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
from cinefeat.online._protocol import CREATED_US, EVENT_US, VALUES, EntityKey, OnlineRow

__all__ = ["SqliteOnlineStore"]

_SQL_TYPES = {"Int32": "INTEGER", "Int64": "INTEGER", "String": "TEXT"}
_GENERATIONS = "_cinefeat_generations"


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class SqliteOnlineStore:
    """Reads use one connection per thread; writes open their own short transactions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        self._read_sql: dict[tuple[str, int], str] = {}
        self._seen_generations: dict[str, int] = {}
        with self._connect() as con:
            con.execute("PRAGMA journal_mode=WAL")
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
        con.execute("PRAGMA synchronous=NORMAL")
        con.execute("PRAGMA busy_timeout=60000")
        return con

    @property
    def _reader(self) -> sqlite3.Connection:
        con: sqlite3.Connection | None = getattr(self._local, "reader", None)
        if con is None:
            con = self._connect()
            self._local.reader = con
        return con

    # -- schema ---------------------------------------------------------------------------

    def _create_table(self, con: sqlite3.Connection, view: FeatureView) -> None:
        keys = ", ".join(
            f"{_q(f.name)} {_SQL_TYPES[f.dtype.name]} NOT NULL" for f in view.key_fields
        )
        pk = ", ".join(_q(k) for k in view.join_keys)
        con.execute(
            f"CREATE TABLE IF NOT EXISTS {_q(view.table_name)} ({keys}, "
            "event_us INTEGER NOT NULL, created_us INTEGER NOT NULL, vals BLOB NOT NULL, "
            f"PRIMARY KEY ({pk})) WITHOUT ROWID"
        )

    def update(
        self, tables_to_keep: Sequence[FeatureView], tables_to_delete: Sequence[FeatureView]
    ) -> None:
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            for view in tables_to_keep:
                self._create_table(con, view)
            for view in tables_to_delete:
                con.execute(f"DROP TABLE IF EXISTS {_q(view.table_name)}")
                self._bump(con, view.table_name)
            con.execute("COMMIT")
        finally:
            con.close()

    def _bump(self, con: sqlite3.Connection, table: str) -> None:
        con.execute(
            f"INSERT INTO {_GENERATIONS} (name, generation) VALUES (?, 1) "
            "ON CONFLICT(name) DO UPDATE SET generation = generation + 1",
            (table,),
        )

    # -- writes ---------------------------------------------------------------------------

    def online_write_batch(self, view: FeatureView, rows: pa.Table) -> int:
        table = _q(view.table_name)
        keys = [_q(k) for k in view.join_keys]
        columns = [*view.join_keys, EVENT_US, CREATED_US, VALUES]
        placeholders = ", ".join("?" * len(columns))
        sql = (
            f"INSERT INTO {table} ({', '.join(keys)}, event_us, created_us, vals) "
            f"VALUES ({placeholders}) ON CONFLICT ({', '.join(keys)}) DO UPDATE SET "
            "event_us = excluded.event_us, created_us = excluded.created_us, vals = excluded.vals "
            f"WHERE excluded.event_us > {table}.event_us OR (excluded.event_us = {table}.event_us "
            f"AND excluded.created_us >= {table}.created_us)"
        )
        # executemany needs Python tuples; to_pylist converts each column in C.
        data = zip(*(rows.column(c).to_pylist() for c in columns), strict=True)
        con = self._connect()
        try:
            con.execute("BEGIN IMMEDIATE")
            self._create_table(con, view)
            con.executemany(sql, data)
            self._bump(con, view.table_name)
            con.execute("COMMIT")
        except BaseException:
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        finally:
            con.close()
        return int(rows.num_rows)

    # -- reads ----------------------------------------------------------------------------

    def online_read(
        self, view: FeatureView, keys: Sequence[EntityKey]
    ) -> Mapping[EntityKey, OnlineRow]:
        if not keys:
            return {}
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
        keys = [_q(k) for k in view.join_keys]
        select = f"SELECT {', '.join(keys)}, event_us, vals FROM {_q(view.table_name)}"
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
        self.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def close(self) -> None:
        con = getattr(self._local, "reader", None)
        if con is not None:
            con.close()
            self._local.reader = None
