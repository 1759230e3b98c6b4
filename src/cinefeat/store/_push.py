"""push: fresh rows straight into the online store, the offline store, or both."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

import pyarrow as pa

from cinefeat.definitions import FeatureView
from cinefeat.duck import connect
from cinefeat.errors import CinefeatError
from cinefeat.materialize import OnlineWriter, latest_rows_sql, write_latest_rows
from cinefeat.offline import CREATED, TS, DeltaOfflineStore, WriteResult, conform_to_view
from cinefeat.sqltext import quote_ident

__all__ = ["PushTarget", "push_rows"]

PushTarget = Literal["online", "offline", "online_and_offline"]
_TARGETS = ("online", "offline", "online_and_offline")


def _relation(view: FeatureView, table_name: str) -> str:
    """The pushed rows under the scan's internal column names (see offline._scan)."""
    columns = [quote_ident(c) for c in (*view.join_keys, *view.feature_names)]
    created = view.created_column
    created_sql = quote_ident(created) if created else "CAST(NULL AS TIMESTAMPTZ)"
    return (
        f"SELECT {', '.join(columns)}, {quote_ident(view.event_timestamp_column)} AS {TS}, "
        f"{created_sql} AS {CREATED} FROM {table_name}"
    )


def push_rows(
    view: FeatureView,
    table: pa.Table,
    to: str,
    *,
    offline: DeltaOfflineStore,
    online: OnlineWriter,
    on_written: Callable[[str], None],
) -> WriteResult | None:
    """Returns what was committed offline (None when pushing online only)."""
    if to not in _TARGETS:
        raise CinefeatError(f"push: 'to' must be one of {list(_TARGETS)}, got {to!r}")
    if to != "offline" and not view.online:
        raise CinefeatError(
            f"push: feature view {view.name!r} is not online (online=False); push to='offline'"
        )
    # Validate once, before anything is written, so a bad frame leaves both stores untouched.
    conformed = conform_to_view(view, table, datetime.now(UTC))
    written = None
    if to in ("offline", "online_and_offline"):
        # Offline first: it is the system of record; the online upsert is idempotent on retry.
        written = offline.write_conformed(view, conformed)
    if to in ("online", "online_and_offline") and conformed.num_rows:
        connection = connect()
        try:
            connection.register("cf_pushed", conformed)
            sql = latest_rows_sql(view, _relation(view, "cf_pushed"))
            write_latest_rows(connection, sql, {}, view, online)
        finally:
            connection.close()
        on_written(view.table_name)
    return written
