"""Incremental edge cases found in review: each sequence of input changes must leave the store
equal to a full recomputation from the files as they are now."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import polars as pl
import pytest

from cinefeat import CinefeatError, FeatureStore
from cinefeat.pipeline import (
    FeatureExtractionStage,
    FeatureStoreWriteStage,
    Pipeline,
    PipelineConfigError,
)
from cinefeat.pipeline._partitions import discover_partitions
from tests.pipeline.test_runner import (
    add_crawls,
    add_ratings,
    assert_store_matches,
    make_repo,
    run,
    stored,
    world_files,
)

__all__ = ["world_files"]  # the fixture, used here by name


def edit_crawl(path: Path, edit: object) -> None:
    pages = [json.loads(line) for line in path.read_text().splitlines()]
    edit(pages)  # type: ignore[operator]
    path.write_text("\n".join(json.dumps(p) for p in pages) + "\n")


def run_failing_in(
    repo: Path, monkeypatch: pytest.MonkeyPatch, stage: type, method: str
) -> CinefeatError:
    """Run the pipeline with `stage.method` raising "disk full"; return the run's error."""

    def broken(*args: object, **kwargs: object) -> object:
        raise RuntimeError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(stage, method, broken)
        with pytest.raises(CinefeatError) as failure:
            run(repo)
    return failure.value


def test_a_crawl_newer_than_every_rating(tmp_path: Path, world_files: Path) -> None:
    repo = make_repo(tmp_path)
    add_crawls(repo, world_files, range(1, 4))
    add_ratings(repo, world_files, "early")  # ratings before Mar 4
    run(repo)
    add_crawls(repo, world_files, range(5, 6))  # the crawl lands before the ratings dump
    store, record = run(repo)
    assert record.status == "succeeded"  # type: ignore[attr-defined]
    assert_store_matches(store, repo)


def test_resume_processes_only_what_the_run_started_with(
    tmp_path: Path, world_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, mode="threads")
    add_crawls(repo, world_files, range(1, 3))
    add_ratings(repo, world_files, "early")
    error = run_failing_in(repo, monkeypatch, FeatureExtractionStage, "_user_activity")
    assert re.search("stage feature_extraction .* disk full", str(error))
    add_crawls(repo, world_files, range(3, 4))  # arrives before the resume
    pipeline = Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))
    plan = pipeline.plan(resume=True)
    assert "popular_2024-03-03T06-00.jsonl: new or changed: for the next run" in plan.describe()
    record = pipeline.run(resume=True, progress=False)
    assert len(record.inputs) == 2 + 3
    # The crawl that arrived meanwhile is still to do: the next run processes it.
    later = pipeline.run(progress=False)
    assert [Path(fp.path).name for fp in later.inputs] == ["popular_2024-03-03T06-00.jsonl"]
    assert_store_matches(FeatureStore(repo), repo)


def test_resume_refuses_when_a_file_it_started_with_changed(
    tmp_path: Path, world_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, mode="threads")
    add_crawls(repo, world_files, range(1, 3))
    add_ratings(repo, world_files, "early")
    assert "disk full" in str(run_failing_in(repo, monkeypatch, FeatureStoreWriteStage, "run"))
    edit_crawl(repo / "raw/tmdb/popular_2024-03-01T06-00.jsonl", lambda p: p[0]["results"].pop())
    pipeline = Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))
    with pytest.raises(CinefeatError, match="cannot resume run .*popular_2024-03-01.* changed"):
        pipeline.run(resume=True, progress=False)
    assert pipeline.run(progress=False).status == "succeeded"  # a fresh run takes it as it is
    assert_store_matches(FeatureStore(repo), repo)


def test_removed_ratings_after_a_failed_run(
    tmp_path: Path, world_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path, mode="threads")
    add_crawls(repo, world_files, range(1, 4))
    add_ratings(repo, world_files, "early")
    run(repo)
    ratings = repo / "raw/ratings/early/ratings.csv"
    frame = pl.read_csv(ratings)
    frame.filter(pl.col("userId") != frame["userId"][0]).write_csv(ratings)
    run_failing_in(repo, monkeypatch, FeatureExtractionStage, "_user_activity")
    store, record = run(repo)  # a plain rerun, after the raw rows were already replaced
    assert record.status == "succeeded"  # type: ignore[attr-defined]
    assert_store_matches(store, repo)


def test_a_movie_dropped_from_its_first_snapshot(tmp_path: Path, world_files: Path) -> None:
    repo = make_repo(tmp_path)
    add_crawls(repo, world_files, range(1, 7))
    add_ratings(repo, world_files, "early")
    run(repo)
    first = repo / "raw/tmdb/popular_2024-03-01T06-00.jsonl"
    later = [
        json.loads(line)
        for line in (repo / "raw/tmdb/popular_2024-03-06T06-00.jsonl").read_text().splitlines()
    ]
    in_last = {r["id"] for page in later for r in page["results"]}
    edit_crawl(
        first,
        lambda pages: [
            page.__setitem__("results", [r for r in page["results"] if r["id"] not in in_last])
            for page in pages
        ],
    )
    store, _ = run(repo)
    assert_store_matches(store, repo)


def test_the_latest_ratings_removed(tmp_path: Path, world_files: Path) -> None:
    repo = make_repo(tmp_path)
    add_crawls(repo, world_files, range(1, 7))
    add_ratings(repo, world_files, "early")
    add_ratings(repo, world_files, "late")
    run(repo)
    late = repo / "raw/ratings/late/ratings.csv"
    frame = pl.read_csv(late)
    frame.filter(pl.col("timestamp") < frame["timestamp"].median()).write_csv(late)
    store, _ = run(repo)
    assert_store_matches(store, repo)
    last = pl.read_csv(late)["timestamp"].max()
    newest_row = stored(store, "user_activity")["event_timestamp"].max()
    # Rows stop at the day boundary after the last rating left.
    assert newest_row is not None and newest_row.timestamp() <= last + 86_400


def test_crawls_without_dates_in_their_names_keep_their_own_partitions(tmp_path: Path) -> None:
    for name, mtime in (("a.json", 1_709_272_800.25), ("b.json", 1_709_272_800.75)):
        path = tmp_path / name
        path.write_text(json.dumps({"page": 1, "results": []}))
        os.utime(path, (mtime, mtime))
    partitions = discover_partitions({"movies": ("tmdb_json", tmp_path, None)})
    assert len({p.key for p in partitions}) == 2


def test_editing_a_crawl_whose_snapshot_is_its_mtime(tmp_path: Path, world_files: Path) -> None:
    repo = make_repo(tmp_path)
    add_crawls(repo, world_files, range(1, 3))
    add_ratings(repo, world_files, "early")
    undated = repo / "raw/tmdb/latest.jsonl"
    (repo / "raw/tmdb/popular_2024-03-02T06-00.jsonl").rename(undated)
    os.utime(undated, (1_709_400_000, 1_709_400_000))
    run(repo)
    edit_crawl(undated, lambda pages: pages[0]["results"].pop())
    time.sleep(0.01)
    store, record = run(repo)
    assert [Path(fp.path).name for fp in record.inputs] == ["latest.jsonl"]  # type: ignore[attr-defined]
    assert_store_matches(store, repo)  # the old snapshot's rows are gone, not kept beside


def test_two_inputs_of_one_kind_are_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    text = (
        (repo / "pipeline.yaml")
        .read_text()
        .replace(
            "    ratings:", "    more_movies: {loader: tmdb_json, path: raw/tmdb}\n    ratings:"
        )
    )
    (repo / "pipeline.yaml").write_text(text)
    with pytest.raises(
        PipelineConfigError,
        match=r"pipeline.yaml:5: feature_pipeline.inputs.more_movies: a second movies input",
    ):
        Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))


def test_changing_the_stages_recomputes(tmp_path: Path, world_files: Path) -> None:
    repo = make_repo(tmp_path)
    text = (repo / "pipeline.yaml").read_text()
    (repo / "pipeline.yaml").write_text(
        text.replace(
            "type: FeatureExtractionStage}",
            "type: FeatureExtractionStage, params: {groups: [movie_basic]}}",
        )
    )
    add_crawls(repo, world_files, range(1, 3))
    add_ratings(repo, world_files, "early")
    run(repo)
    (repo / "pipeline.yaml").write_text(text)  # all five groups now
    pipeline = Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))
    assert "config changed" in pipeline.plan().describe()
    store, record = run(repo)
    assert record.status == "succeeded"  # type: ignore[attr-defined]
    assert_store_matches(store, repo)
    # A different worker count is how, not what: no recomputation.
    (repo / "pipeline.yaml").write_text(text.replace("workers: 2", "workers: 1"))
    assert run(repo)[1].status == "nothing_to_do"  # type: ignore[attr-defined]
