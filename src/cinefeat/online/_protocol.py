"""The online-store contract: what any backend (SQLite, Redis, ...) must do.

Rows arrive packed (see cinefeat.packed): join-key columns, event and created time in epoch
microseconds, and all the row's feature values as one JSON object. Backends keep one latest row
per (view version, key) and never let an older event replace a newer one. The method names
follow Feast's OnlineStore so that Feast users recognise them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

import pyarrow as pa

from cinefeat.definitions import FeatureView

__all__ = ["EntityKey", "OnlineRow", "OnlineStore"]

EntityKey = tuple[object, ...]
# (event time in epoch microseconds, packed feature values)
OnlineRow = tuple[int, bytes | str]


@runtime_checkable
class OnlineStore(Protocol):
    def update(
        self, tables_to_delete: Sequence[FeatureView], tables_to_keep: Sequence[FeatureView]
    ) -> None:
        """Drop the storage of views removed from the registry; create it for views kept."""

    def online_write_batch(self, view: FeatureView, rows: pa.Table) -> int:
        """Upsert packed rows; a row replaces the stored one only if its event time is newer
        (or equal with a created time at least as new). Returns the rows offered."""

    def online_read(
        self, view: FeatureView, keys: Sequence[EntityKey]
    ) -> Mapping[EntityKey, OnlineRow]:
        """The stored rows for `keys`, in one round trip; absent keys are missing from the map."""

    def changed_views(self) -> set[str] | None:
        """Tables written by anyone since the last call, or None when nothing changed. Lets a
        cache in one process drop what another process overwrote."""

    def teardown(self) -> None:
        """Remove everything this store holds."""

    def close(self) -> None:
        """Release connections (of every thread)."""
