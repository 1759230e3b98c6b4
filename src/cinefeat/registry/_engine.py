"""SQLAlchemy engines for the registry, with SQLite set up for safe concurrent writers."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

__all__ = ["create_registry_engine"]


def create_registry_engine(url: str, *, for_writes: bool) -> Engine:
    """SQLite gets WAL, a busy timeout and BEGIN IMMEDIATE, so writers queue instead of failing.

    pysqlite's default deferred transactions let two writers both read, then one of them dies
    with "database is locked" when it tries to write; IMMEDIATE takes the write lock up front.
    Readers use a separate engine (`for_writes=False`) so they never wait for that lock.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)

    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60.0})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE" if for_writes else "BEGIN")

    return engine
