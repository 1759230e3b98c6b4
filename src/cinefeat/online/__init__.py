"""The online store: latest feature values per entity, for millisecond lookups.

Backends implement the OnlineStore protocol and are picked by `online_store.type` in
cinefeat.yaml through ONLINE_STORE_TYPES. A read cache (LRU + TTL) sits in front.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cinefeat.online._cache import CACHE_MISS, CacheStats, OnlineCache
from cinefeat.online._protocol import EntityKey, OnlineRow, OnlineStore
from cinefeat.online._reader import OnlineReader, ReadPlan, ViewRead, read_plan
from cinefeat.online._response import FieldStatus, OnlineResponse
from cinefeat.online._sqlite import SqliteOnlineStore

__all__ = [
    "CACHE_MISS",
    "ONLINE_STORE_TYPES",
    "CacheStats",
    "EntityKey",
    "FieldStatus",
    "OnlineCache",
    "OnlineReader",
    "OnlineResponse",
    "OnlineRow",
    "OnlineStore",
    "ReadPlan",
    "SqliteOnlineStore",
    "ViewRead",
    "create_online_store",
    "read_plan",
]

ONLINE_STORE_TYPES: dict[str, type[Any]] = {"sqlite": SqliteOnlineStore}


def create_online_store(config: Any, repo_path: Path) -> OnlineStore:
    """Build the backend named by `config.type` (an online_store section of cinefeat.yaml)."""
    store: OnlineStore = ONLINE_STORE_TYPES[config.type].from_config(config, repo_path)
    return store
