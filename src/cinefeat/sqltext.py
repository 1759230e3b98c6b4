"""Quoting names and values into SQL text (DuckDB and SQLite share the syntax)."""

from __future__ import annotations

__all__ = ["quote_ident", "sql_string"]


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"
