"""Ingest: a load's accepted rows and quarantine go into the repo once, however often it runs."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from cinefeat import FeatureStore
from cinefeat.offline import read_quarantine
from cinefeat.sources import load_tmdb


def crawl(path: Path, *ids: int) -> Path:
    results = [
        {"id": i, "title": f"Movie {i}", "release_date": "2020-01-01", "genre_ids": [18],
         "popularity": 1.5, "vote_average": 7.0, "vote_count": 10}
        for i in ids
    ]  # fmt: skip
    results.append({"id": "not a number", "title": "bad"})
    path.write_text(json.dumps({"page": 1, "results": results}), encoding="utf-8")
    return path


def stored_ids(store: FeatureStore) -> list[int]:
    return sorted(pl.from_arrow(store.read_offline("tmdb_movies"))["movie_id"].to_list())  # type: ignore[union-attr]


def test_loading_the_same_files_twice_stores_them_once(store: FeatureStore, tmp_path: Path) -> None:
    folder = tmp_path / "tmdb"
    folder.mkdir()
    crawl(folder / "popular_2024-03-01.json", 1, 2, 3)
    first = store.ingest(load_tmdb(folder))
    assert (first.written.rows, first.quarantine.rows) == (3, 1)
    again = store.ingest(load_tmdb(folder))
    assert (again.written.rows, again.quarantine.rows) == (0, 0)
    assert again.written.delta_version == first.written.delta_version  # no empty commit
    assert stored_ids(store) == [1, 2, 3]
    # A second crawl file (another snapshot) next to the first: only its rows are new.
    crawl(folder / "popular_2024-03-02.json", 2, 4)
    later = store.ingest(load_tmdb(folder))
    assert (later.written.rows, later.quarantine.rows) == (2, 1)
    assert stored_ids(store) == [1, 2, 2, 3, 4]
    quarantine = read_quarantine(store.offline_store.root)
    assert quarantine is not None and quarantine.num_rows == 2


def test_plain_writes_still_append(store: FeatureStore, tmp_path: Path) -> None:
    folder = tmp_path / "tmdb"
    folder.mkdir()
    crawl(folder / "popular_2024-03-01.json", 1)
    store.ingest(load_tmdb(folder))
    rows = pl.from_arrow(store.read_offline("tmdb_movies"))
    assert isinstance(rows, pl.DataFrame)
    assert store.write_offline("tmdb_movies", rows).rows == 1
    assert stored_ids(store) == [1, 1]
    with pytest.raises(Exception, match="movie_id"):
        store.write_offline("tmdb_movies", rows.drop("movie_id"), skip_existing=True)
