"""push: to the online store, the offline store or both; schema-checked; never older-over-newer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from cinefeat import CinefeatError, FeatureStore
from cinefeat.errors import SchemaMismatchError

NOW = datetime.now(UTC).replace(microsecond=0)


def rows(title: str, when: datetime, movie_id: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {"movie_id": [movie_id], "title": [title], "rating_count": [1], "event_timestamp": [when]}
    )


def online_title(store: FeatureStore) -> object:
    response = store.get_online_features(["movie_stats:title"], [{"movie_id": 1}])
    return response.values["title"][0]


@pytest.mark.parametrize(
    ("to", "online", "offline_rows"),
    [("online", "Heat", 0), ("offline", None, 1), ("online_and_offline", "Heat", 1)],
)
def test_push_targets(applied: FeatureStore, to: str, online: object, offline_rows: int) -> None:
    applied.push("movie_stats", rows("Heat", NOW), to=to)  # type: ignore[arg-type]
    assert online_title(applied) == online
    assert applied.read_offline("movie_stats").num_rows == offline_rows


def test_an_older_event_never_replaces_a_newer_one(applied: FeatureStore) -> None:
    applied.push("movie_stats", rows("new", NOW))
    applied.push("movie_stats", rows("old", NOW - timedelta(hours=1)))
    assert online_title(applied) == "new"
    applied.push("movie_stats", rows("same time, later write", NOW))
    assert online_title(applied) == "same time, later write"


def test_latest_row_wins_within_one_push(applied: FeatureStore) -> None:
    frame = pd.concat(
        [rows("b", NOW), rows("a", NOW - timedelta(days=1)), rows("c", NOW - timedelta(days=2))]
    )
    applied.push("movie_stats", frame)
    assert online_title(applied) == "b"


def test_bad_push_writes_nothing_anywhere(applied: FeatureStore) -> None:
    bad = rows("x", NOW).assign(rating_count=["many"])
    with pytest.raises(SchemaMismatchError, match="column 'rating_count': expected Int64"):
        applied.push("movie_stats", bad, to="online_and_offline")
    assert online_title(applied) is None
    assert applied.read_offline("movie_stats").num_rows == 0


def test_bad_target_is_refused(applied: FeatureStore) -> None:
    with pytest.raises(CinefeatError, match="'to' must be one of"):
        applied.push("movie_stats", rows("x", NOW), to="everywhere")  # type: ignore[arg-type]
