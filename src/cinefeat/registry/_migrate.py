"""Bringing a registry made by an older cinefeat up to date: `create_all` adds missing tables,
never columns, so columns added to a shipped table are added here."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, inspect

from cinefeat.registry import _tables as t

__all__ = ["add_missing_columns", "missing_columns"]


def missing_columns(inspector: Any) -> list[tuple[str, Any]]:
    """(table, column) pairs a registry made by an older cinefeat lacks: columns added to a
    table after it first shipped (create_all adds missing tables, never columns)."""
    missing = []
    for table in t.metadata.tables.values():
        if not inspector.has_table(table.name):
            continue
        present = {c["name"] for c in inspector.get_columns(table.name)}
        missing += [(table.name, c) for c in table.columns if c.name not in present]
    return missing


def add_missing_columns(conn: Connection) -> None:
    """Add the columns `missing_columns` finds (nullable ones only: nothing else is ever
    added to a shipped table), with their indexes."""
    for table_name, column in missing_columns(inspect(conn)):
        assert column.nullable, f"{table_name}.{column.name}: added columns must be nullable"
        kind = column.type.compile(dialect=conn.dialect)
        conn.exec_driver_sql(f'ALTER TABLE {table_name} ADD COLUMN "{column.name}" {kind}')
        for index in t.metadata.tables[table_name].indexes:
            if column.name in {c.name for c in index.columns}:
                index.create(conn, checkfirst=True)
