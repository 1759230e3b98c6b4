"""The read cache: LRU + TTL, dropped per view on writes (also by other processes)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from cinefeat import FeatureStore
from cinefeat.online import CACHE_MISS, OnlineCache
from tests.helpers import run_python

NOW = datetime.now(UTC).replace(microsecond=0)


def movie_rows(title: str, movie_id: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {"movie_id": [movie_id], "title": [title], "rating_count": [1], "event_timestamp": [NOW]}
    )


def title(store: FeatureStore, movie_id: int = 1) -> object:
    return store.get_online_features(["movie_stats:title"], [{"movie_id": movie_id}]).values[
        "title"
    ][0]


def test_lru_with_ttl_and_stats() -> None:
    cache = OnlineCache(max_entries=2, ttl_seconds=0.2)
    cache.put("t", (1,), "a", cache.epoch("t"))
    cache.put("t", (2,), "b", cache.epoch("t"))
    assert cache.get("t", (1,)) == "a"  # (1,) is now the most recent
    cache.put("t", (3,), "c", cache.epoch("t"))  # evicts (2,)
    assert cache.get("t", (2,)) is CACHE_MISS
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.evictions, stats.size) == (1, 1, 1, 2)
    assert stats.hit_rate == 0.5
    time.sleep(0.25)
    assert cache.get("t", (1,)) is CACHE_MISS  # expired
    cache.put("u", (1,), "x", cache.epoch("u"))
    cache.invalidate({"t"})
    assert cache.get("u", (1,)) == "x" and cache.stats().size == 1


def test_a_row_read_before_an_invalidation_is_not_cached() -> None:
    cache = OnlineCache(max_entries=10, ttl_seconds=60)
    epoch = cache.epoch("t")  # a reader is about to read the store...
    cache.invalidate({"t"})  # ...a write lands meanwhile...
    cache.put("t", (1,), "stale", epoch)  # ...so what it read may be stale
    assert cache.get("t", (1,)) is CACHE_MISS
    epoch = cache.epoch("t")
    cache.invalidate({"other"})  # other tables do not matter
    cache.put("t", (1,), "fresh", epoch)
    assert cache.get("t", (1,)) == "fresh"
    epoch = cache.epoch("t")
    cache.invalidate()  # everything
    cache.put("t", (2,), "stale", epoch)
    assert cache.get("t", (2,)) is CACHE_MISS


def test_hits_misses_and_invalidation_on_push(applied: FeatureStore) -> None:
    applied.push("movie_stats", movie_rows("Alien"))
    assert title(applied) == "Alien"
    assert title(applied) == "Alien"
    stats = applied.get_cache_stats()
    assert (stats["hits"], stats["misses"], stats["size"]) == (1, 1, 1)
    applied.push("movie_stats", movie_rows("Aliens"))
    assert title(applied) == "Aliens"  # the push dropped the cached row
    assert applied.get_cache_stats()["misses"] == 2


def test_unknown_entities_are_cached_too(applied: FeatureStore) -> None:
    assert title(applied, 404) is None
    assert title(applied, 404) is None
    assert applied.get_cache_stats()["hits"] == 1
    applied.push("movie_stats", movie_rows("Found", 404))
    assert title(applied, 404) == "Found"


def test_writes_by_another_process_invalidate_the_cache(applied: FeatureStore, repo: Path) -> None:
    applied.push("movie_stats", movie_rows("Alien"))
    assert title(applied) == "Alien"
    code = """
import pandas as pd
from datetime import datetime, timezone
from cinefeat import FeatureStore
store = FeatureStore(".")
store.push("movie_stats", pd.DataFrame({"movie_id": [1], "title": ["Alien 3"],
    "rating_count": [3], "event_timestamp": [datetime.now(timezone.utc)]}))
"""
    result = run_python(code, cwd=repo)
    assert result.returncode == 0, result.stderr
    assert title(applied) == "Alien 3"


def test_cache_can_be_disabled(repo: Path, applied: FeatureStore) -> None:
    (repo / "cinefeat.yaml").write_text("project: test_project\ncache: {enabled: false}\n")
    store = FeatureStore(repo)
    store.push("movie_stats", movie_rows("Alien"))
    assert title(store) == "Alien" and title(store) == "Alien"
    assert store.get_cache_stats() == {
        "enabled": False,
        "hits": 0,
        "misses": 0,
        "hit_rate": 0.0,
        "evictions": 0,
        "size": 0,
    }


def test_an_entry_read_twice_survives_a_scan_of_new_ones() -> None:
    """Segmented LRU: under plain LRU, ten one-off entries would push out the hot one."""
    cache = OnlineCache(max_entries=10, ttl_seconds=60)
    epoch = cache.epoch("t")
    cache.put("t", "hot", 1, epoch)
    assert cache.get("t", "hot") == 1  # its second use: protected now
    for cold in range(20):
        cache.put("t", cold, cold, epoch)
    assert cache.get("t", "hot") == 1
    assert cache.get("t", 0) is CACHE_MISS  # the oldest one-off entries went first
    assert cache.get("t", 19) == 19
    assert cache.stats().size == 10


def test_the_protected_segment_demotes_rather_than_drops() -> None:
    cache = OnlineCache(max_entries=5, ttl_seconds=60)  # 4 protected, then probation
    epoch = cache.epoch("t")
    for key in range(5):
        cache.put("t", key, key, epoch)
        assert cache.get("t", key) == key  # each promoted; the first is demoted to probation
    assert [cache.get("t", key) for key in range(5)] == [0, 1, 2, 3, 4]
    assert cache.stats().evictions == 0
