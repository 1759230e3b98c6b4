"""The reference point: a point-in-time join written by hand in DuckDB.

What a data engineer would write without a feature store: read each Delta table's current
Parquet files, ASOF LEFT JOIN each view on its key and timestamp, null out values older than the
ttl, keep the entity rows in their order. It knows the data (no duplicate event times, no
created-timestamp tie-break, no schema evolution), so it is a lower bound, not a competitor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa
from deltalake import DeltaTable

from benchmarks._settings import MOVIE_FEATURES, USER_FEATURES

__all__ = ["baseline_sql", "hand_written_join"]

TTL_DAYS = 30
_VIEWS = (("user_stats", "user_id", USER_FEATURES), ("movie_stats", "movie_id", MOVIE_FEATURES))


def _files(path: str) -> str:
    uris = DeltaTable(path).file_uris()
    return "[" + ", ".join("'" + uri.replace("'", "''") + "'" for uri in uris) + "]"


def baseline_sql(tables: Mapping[str, str]) -> str:
    """The hand-written query over `entity` (user_id, movie_id, event_timestamp, row_id)."""
    selects, joins = [], []
    for alias, (view, key, refs) in zip(("u", "m"), _VIEWS, strict=True):
        names = [ref.split(":")[1] for ref in refs]
        fresh = f"{alias}.event_timestamp >= e.event_timestamp - INTERVAL {TTL_DAYS} DAY"
        selects += [f"CASE WHEN {fresh} THEN {alias}.{n} END AS {view}__{n}" for n in names]
        joins.append(
            f"ASOF LEFT JOIN (SELECT {key}, event_timestamp, {', '.join(names)} "
            f"FROM read_parquet({_files(tables[view])})) AS {alias} "
            f"ON e.{key} = {alias}.{key} AND e.event_timestamp >= {alias}.event_timestamp"
        )
    return (
        "SELECT e.user_id, e.movie_id, e.event_timestamp, "
        + ", ".join(selects)
        + " FROM entity AS e "
        + " ".join(joins)
        + " ORDER BY e.row_id"
    )


def hand_written_join(entity_df: Any, tables: Mapping[str, str], output: str = "arrow") -> Any:
    """Point-in-time features for a pandas entity frame; `output` is "arrow" or "df"."""
    entity = pa.Table.from_pandas(entity_df, preserve_index=False)
    entity = entity.append_column("row_id", pa.array(np.arange(entity.num_rows)))
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")  # interval arithmetic on TIMESTAMPTZ uses it
    connection.register("entity", entity)
    relation = connection.sql(baseline_sql(tables))
    return relation.to_arrow_table() if output == "arrow" else relation.df()
