"""Big JSON Lines files split into line-range chunks (`execution.chunk_rows`): every line is
read exactly once, and a chunked run stores exactly what an unchunked one does, duplicates
across chunks and bad lines included; a resumed run keeps the chunks it started with."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from deltalake import DeltaTable
from polars.testing import assert_frame_equal

from cinefeat import FeatureStore
from cinefeat.pipeline import Pipeline
from cinefeat.pipeline._partitions import Partition, split_large_files
from cinefeat.sources._line_ranges import line_number_at, line_ranges, read_line_range

SNAPSHOT = datetime(2024, 3, 1, 6, tzinfo=UTC)
BIG = "crawl_2024-03-01T0600.jsonl"
SMALL = "extra_2024-03-01T0600.jsonl"
GROUPS = ["movie_basic", "movie_temporal", "movie_statistical", "movie_text"]
PIPELINE = """\
feature_pipeline:
  name: daily
  inputs:
    movies: {{loader: tmdb_json, path: raw}}
  stages:
    - {{name: data_validation, type: DataValidationStage}}
    - name: feature_extraction
      type: FeatureExtractionStage
      params: {{groups: [movie_basic, movie_temporal, movie_statistical, movie_text]}}
    - {{name: store, type: FeatureStoreWriteStage}}
  execution: {{workers: 2, chunk_rows: {chunk_rows}, mode: {mode}}}
"""


@pytest.mark.parametrize("seed", range(40))
def test_line_ranges_read_every_line_once(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    lines = [b"x" * rng.choice([0, 1, 7, 80, 400]) for _ in range(rng.randint(0, 3000))]
    data = b"\n".join(lines) + (b"\n" if rng.random() < 0.5 else b"")
    path = tmp_path / "f.jsonl"
    path.write_bytes(data)
    ranges = line_ranges(path, rng.choice([1, 10, 500, 5000]))
    assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
    read = [read_line_range(path, start, end) for start, end in ranges]
    assert b"".join(chunk for _, chunk in read) == data
    for offset, chunk in read:
        assert data[offset : offset + len(chunk)] == chunk
        if chunk:
            assert line_number_at(path, offset) == data[:offset].count(b"\n") + 1


def movie(movie_id: int, votes: int, title: str = "") -> str:
    return json.dumps(
        {
            "id": movie_id,
            "title": title or f"Movie {movie_id}",
            "original_title": f"Movie {movie_id}",
            "original_language": "en",
            "release_date": f"20{movie_id % 24:02d}-0{1 + movie_id % 9}-15",
            "genre_ids": [18, 35][: 1 + movie_id % 2],
            "popularity": round(1 + (movie_id * 37 % 1000) / 10, 1),
            "vote_average": round((movie_id * 13 % 100) / 10, 1),
            "vote_count": votes,
            "adult": False,
            "overview": f"The story of movie {movie_id}, told over {movie_id % 7 + 1} acts.",
        }
    )


def write_crawl(raw: Path) -> None:
    """3,500 lines after a byte order mark: movie 5 again at line 3,200 with more votes (the
    later one is kept), movie 7 again at line 2,000 with as many (the first is kept), movie 8
    again in the small file of the same snapshot, and line 2,500 not JSON."""
    raw.mkdir(parents=True)
    lines = [movie(i, votes=10 + i % 50) for i in range(1, 3501)]
    lines[3199] = movie(5, votes=500, title="Five, recounted")
    lines[1999] = movie(7, votes=10 + 7, title="Seven, again")
    lines[2499] = '{"id": 2500, "title": broken'
    (raw / BIG).write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode())
    (raw / SMALL).write_text(movie(8, votes=1000, title="Eight, from the small file") + "\n")


def make_repo(root: Path, chunk_rows: int, mode: str) -> Path:
    root.mkdir()
    (root / "cinefeat.yaml").write_text("project: p\n")
    (root / "pipeline.yaml").write_text(PIPELINE.format(chunk_rows=chunk_rows, mode=mode))
    write_crawl(root / "raw")
    return root


def table(store: FeatureStore, view: str) -> pl.DataFrame:
    frame = pl.from_arrow(store.read_offline(view))
    assert isinstance(frame, pl.DataFrame)
    keys = [c for c in ("movie_id", "snapshot_ts", "event_timestamp") if c in frame.columns]
    return frame.drop("created_timestamp", strict=False).sort(keys)


def quarantine(store: FeatureStore) -> pl.DataFrame:
    frame = pl.from_arrow(store.read_quarantine())
    assert isinstance(frame, pl.DataFrame)
    return frame.select("kind", "raw", "reason", "source", "snapshot_ts").sort("reason")


def assert_same_store(chunked: Path, whole: Path) -> None:
    a, b = FeatureStore(chunked), FeatureStore(whole)
    for view in ("tmdb_movies", *GROUPS):
        assert_frame_equal(table(a, view), table(b, view))
    # Sources are paths under each repo (in reasons too): compare them relative to it.
    assert_frame_equal(
        quarantine(a).with_columns(pl.col("source", "reason").str.replace_all(str(chunked), "")),
        quarantine(b).with_columns(pl.col("source", "reason").str.replace_all(str(whole), "")),
    )


@pytest.fixture(scope="module")
def unchunked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = make_repo(tmp_path_factory.mktemp("whole") / "repo", 1_000_000, "threads")
    Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo)).run(progress=False)
    return repo


def test_the_big_file_is_split_the_small_one_is_not(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    write_crawl(raw)
    whole = Partition("movies", "tmdb_json", "movies@x", (raw / BIG, raw / SMALL), SNAPSHOT)
    chunks = split_large_files(whole, 1_000, raw)
    assert [c.key for c in chunks] == [
        "movies@x#crawl_2024-03-01T0600.jsonl:1/4",
        "movies@x#crawl_2024-03-01T0600.jsonl:2/4",
        "movies@x#crawl_2024-03-01T0600.jsonl:3/4",
        "movies@x#crawl_2024-03-01T0600.jsonl:4/4",
        "movies@x#extra_2024-03-01T0600.jsonl",
    ]
    assert chunks[-1].byte_range is None and chunks[-1].files == (raw / SMALL,)
    assert all(c.snapshot_ts == SNAPSHOT for c in chunks)
    assert split_large_files(whole, 5_000, raw) == [whole]  # no file is big: kept whole


def test_a_chunked_run_stores_what_an_unchunked_one_does(tmp_path: Path, unchunked: Path) -> None:
    repo = make_repo(tmp_path / "repo", 1_000, "processes")
    store = FeatureStore(repo)
    record = Pipeline.from_file(repo / "pipeline.yaml", store).run(progress=False)
    loading = record.stages[0]
    assert loading.partitions_total == 5  # four chunks of the big file, and the small file
    assert loading.rows_read == 3501  # movie 1, after the byte order mark, too
    assert loading.rows_quarantined == 4  # three duplicates and the bad line
    assert loading.rows_written == 3497
    assert_same_store(repo, unchunked)
    reasons = quarantine(store)["reason"].to_list()
    assert "unreadable line: line 2500 is not valid JSON" in reasons
    assert sum(r.startswith("duplicate: movie_id 5 ") for r in reasons) == 1
    stored = table(store, "tmdb_movies")
    titles = dict(stored.select("movie_id", "title").iter_rows())
    assert titles[5] == "Five, recounted"  # most votes, in a later chunk
    assert titles[7] == "Movie 7"  # a tie: the first read
    assert titles[8] == "Eight, from the small file"


RESUME_SCRIPT = """\
import sys
from cinefeat import FeatureStore
from cinefeat.pipeline import Pipeline

if __name__ == "__main__":
    store = FeatureStore(sys.argv[1])
    Pipeline.from_file(sys.argv[1] + "/pipeline.yaml", store).run(resume=True, progress=False)
"""


@pytest.mark.parametrize("kill_at", ["data_validation:3", "data_validation:deduplicated"])
def test_a_resumed_run_keeps_the_chunks_it_started_with(
    tmp_path: Path, unchunked: Path, kill_at: str
) -> None:
    repo = make_repo(tmp_path / "repo", 1_000, "processes")
    script = tmp_path / "run.py"
    script.write_text(RESUME_SCRIPT)
    env = {**os.environ, "CINEFEAT_PIPELINE_KILL_AT": kill_at}
    killed = subprocess.run([sys.executable, str(script), str(repo)], env=env, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    # Other chunk sizes now: the resumed run must still finish the four chunks it started.
    (repo / "pipeline.yaml").write_text(PIPELINE.format(chunk_rows=2_000, mode="processes"))
    env.pop("CINEFEAT_PIPELINE_KILL_AT")
    resumed = subprocess.run(
        [sys.executable, str(script), str(repo)], env=env, timeout=300, capture_output=True
    )
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    store = FeatureStore(repo)
    runs = store.registry.pipeline_runs().list_runs("daily")
    assert [r.status for r in runs] == ["succeeded"]
    loading = runs[0].stages[0]
    assert loading.partitions_total == 5
    # Counted as an uninterrupted run counts them, however far the killed one got.
    assert (loading.rows_written, loading.rows_quarantined) == (3497, 4)
    assert_same_store(repo, unchunked)
    # The files workers staged for the rewritten chunks were removed, not left behind.
    table = repo / "data" / "offline" / "tmdb_movies__v1"
    committed = {Path(u).name for u in DeltaTable(str(table)).file_uris()}
    assert {f.name for f in table.glob("*.parquet")} == committed
