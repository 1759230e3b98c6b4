"""Materialization: the latest offline row per entity, packed and written to the online store,
with watermarks that only move after the online write committed."""

from cinefeat.materialize._runner import MaterializationResult, Materializer
from cinefeat.materialize._sql import (
    CHUNK_ROWS,
    MaterializationWindow,
    OnlineWriter,
    latest_rows_sql,
    window_relation,
    write_latest_rows,
)

__all__ = [
    "CHUNK_ROWS",
    "MaterializationResult",
    "MaterializationWindow",
    "Materializer",
    "OnlineWriter",
    "latest_rows_sql",
    "window_relation",
    "write_latest_rows",
]
