"""The SQLite online store: the Protocol, WAL mode, arrays of timestamps, many keys, threads."""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from cinefeat import Entity, FeatureStore, FeatureView, Field
from cinefeat.online import OnlineStore, SqliteOnlineStore
from cinefeat.types import Array, Int64, UnixTimestamp

NOW = datetime.now(UTC).replace(microsecond=0)


def test_implements_the_protocol_in_wal_mode(tmp_path: Path) -> None:
    store = SqliteOnlineStore(tmp_path / "online.db")
    assert isinstance(store, OnlineStore)
    mode = sqlite3.connect(tmp_path / "online.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    store.close()


def test_arrays_of_timestamps_round_trip(store: FeatureStore) -> None:
    view = FeatureView(
        "seen",
        [Entity("user", ["user_id"])],
        [Field("user_id", Int64), Field("times", Array(UnixTimestamp))],
    )
    store.apply([view])
    times = [NOW - timedelta(days=1), NOW]
    store.push("seen", pd.DataFrame({"user_id": [1], "times": [times], "event_timestamp": [NOW]}))
    assert store.get_online_features(["seen:times"], [{"user_id": 1}]).values["times"] == [times]


def test_lookups_of_more_keys_than_sqlite_binds_at_once(store: FeatureStore) -> None:
    view = FeatureView(
        "pairs",
        [Entity("pair", ["a", "b"])],
        [Field("a", Int64), Field("b", Int64), Field("n", Int64)],
    )
    store.apply([view])
    n = 40_000  # x 2 keys = 80,000 bound values, more than one statement may take
    frame = pd.DataFrame(
        {"a": range(n), "b": range(n), "n": range(n), "event_timestamp": [NOW] * n}
    )
    store.push("pairs", frame)
    rows = [{"a": i, "b": i} for i in range(n)]
    values = store.get_online_features(["pairs:n"], rows).values["n"]
    assert values == list(range(n))


def _open_handles(path: Path) -> int:
    fds = Path("/proc/self/fd")
    count = 0
    for fd in fds.iterdir():
        try:
            if os.readlink(fd).startswith(str(path)):
                count += 1
        except OSError:
            continue
    return count


def test_close_releases_the_connections_of_every_thread(applied: FeatureStore, repo: Path) -> None:
    applied.push(
        "movie_stats",
        pd.DataFrame(
            {"movie_id": [1], "title": ["x"], "rating_count": [1], "event_timestamp": [NOW]}
        ),
    )

    def read() -> None:
        applied.get_online_features(["movie_stats:title"], [{"movie_id": 1}])

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    database = repo / "data" / "online.db"
    assert _open_handles(database) >= 6
    applied.online_store.close()
    assert _open_handles(database) == 0
