"""The offline store: Delta tables of managed views, FileSource reads, point-in-time joins."""

from cinefeat.offline._append import StagedFiles, stage_rows
from cinefeat.offline._conform import conform_to_view, storage_schema
from cinefeat.offline._delta import (
    QUARANTINE_TABLE,
    DeltaOfflineStore,
    TableSnapshot,
    WriteResult,
    read_quarantine,
    write_quarantine,
)
from cinefeat.offline._frames import UTC_MICROS, to_arrow_table, to_polars_frame
from cinefeat.offline._replace import ReplaceResult
from cinefeat.offline._retrieval import FeatureRequest, RetrievalJob, entity_timestamp_column
from cinefeat.offline._scan import CREATED, TS, scan_sql
from cinefeat.offline._typecheck import describe_arrow_type, dtype_accepts, key_accepts

__all__ = [
    "CREATED",
    "QUARANTINE_TABLE",
    "TS",
    "UTC_MICROS",
    "DeltaOfflineStore",
    "FeatureRequest",
    "ReplaceResult",
    "RetrievalJob",
    "StagedFiles",
    "TableSnapshot",
    "WriteResult",
    "conform_to_view",
    "describe_arrow_type",
    "dtype_accepts",
    "entity_timestamp_column",
    "key_accepts",
    "read_quarantine",
    "scan_sql",
    "stage_rows",
    "storage_schema",
    "to_arrow_table",
    "to_polars_frame",
    "write_quarantine",
]
