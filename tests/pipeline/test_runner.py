"""Pipeline runs: the stored features equal a direct computation over all the data, after a
first run, after new files arrive and after a file changes; a rerun with nothing new does no
work; custom stages load by dotted path."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from cinefeat import CinefeatError, FeatureStore
from cinefeat.pipeline import Pipeline, PipelineConfigError
from cinefeat.sources import load_movielens, load_tmdb
from cinefeat.sources.synthetic import WorldConfig, generate_world, write_world
from cinefeat.transforms import movie_features, user_activity_features

PIPELINE = """\
feature_pipeline:
  name: daily
  inputs:
    movies: {{loader: tmdb_json, path: raw/tmdb}}
    ratings: {{loader: movielens_latest, path: raw/ratings}}
  stages:
    - {{name: data_validation, type: DataValidationStage}}
    - {{name: feature_extraction, type: FeatureExtractionStage}}
    - {{name: feature_validation, type: FeatureValidationStage}}
    - {{name: store, type: FeatureStoreWriteStage}}
{extra}  execution: {{workers: 2, mode: {mode}}}
"""
GROUPS = ["movie_basic", "movie_temporal", "movie_statistical", "movie_text", "user_activity"]


@pytest.fixture(scope="module")
def world_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six daily crawls and ratings split into two MovieLens folders (before / from day 4)."""
    root = tmp_path_factory.mktemp("world")
    config = WorldConfig(
        movies=120, users=60, days=6, start=datetime(2024, 3, 1, tzinfo=UTC), seed=3
    )
    write_world(generate_world(config), root / "all")
    ratings = pl.read_csv(root / "all" / "movielens" / "ratings.csv")
    cut = int(datetime(2024, 3, 4, tzinfo=UTC).timestamp())
    for name, part in (
        ("early", ratings.filter(pl.col("timestamp") < cut)),
        ("late", ratings.filter(pl.col("timestamp") >= cut)),
    ):
        folder = root / "ratings" / name
        folder.mkdir(parents=True)
        part.write_csv(folder / "ratings.csv")
        for extra in ("links.csv", "movies.csv"):
            shutil.copy(root / "all" / "movielens" / extra, folder / extra)
    return root


def make_repo(tmp_path: Path, mode: str = "processes", extra: str = "") -> Path:
    repo = tmp_path / "repo"
    (repo / "raw" / "tmdb").mkdir(parents=True)
    (repo / "raw" / "ratings").mkdir(parents=True)
    (repo / "cinefeat.yaml").write_text("project: p\n")
    (repo / "pipeline.yaml").write_text(PIPELINE.format(mode=mode, extra=extra))
    return repo


def add_crawls(repo: Path, world: Path, days: range) -> None:
    for day in days:
        for file in (world / "all" / "tmdb").glob(f"popular_2024-03-0{day}T*"):
            shutil.copy(file, repo / "raw" / "tmdb" / file.name)


def add_ratings(repo: Path, world: Path, name: str) -> None:
    shutil.copytree(world / "ratings" / name, repo / "raw" / "ratings" / name)


def stored(store: FeatureStore, view: str) -> pl.DataFrame:
    frame = pl.from_arrow(store.read_offline(view))
    assert isinstance(frame, pl.DataFrame)
    keys = [k for k in ("movie_id", "user_id") if k in frame.columns]
    return frame.drop("created_timestamp", strict=False).sort([*keys, "event_timestamp"])


def expected(repo: Path) -> dict[str, pl.DataFrame]:
    movies = load_tmdb(repo / "raw" / "tmdb").accepted
    ratings = pl.concat(
        [load_movielens(d).accepted for d in sorted((repo / "raw" / "ratings").iterdir())]
    )
    frames = movie_features(movies)
    frames["user_activity"] = user_activity_features(ratings, movies)
    return {
        name: frame.sort(
            [k for k in ("movie_id", "user_id") if k in frame.columns] + ["event_timestamp"]
        )
        for name, frame in frames.items()
    }


def assert_store_matches(store: FeatureStore, repo: Path) -> None:
    for name, frame in expected(repo).items():
        got = stored(store, name).select(frame.columns)
        assert_frame_equal(got, frame, check_dtypes=False, abs_tol=1e-9), name


def run(repo: Path, **kwargs: object) -> tuple[FeatureStore, object]:
    store = FeatureStore(repo)
    record = Pipeline.from_file(repo / "pipeline.yaml", store).run(progress=False, **kwargs)  # type: ignore[arg-type]
    return store, record


def test_runs_are_incremental_and_match_a_full_computation(
    tmp_path: Path, world_files: Path
) -> None:
    repo = make_repo(tmp_path)
    add_crawls(repo, world_files, range(1, 4))
    add_ratings(repo, world_files, "early")
    store, first = run(repo)
    assert first.status == "succeeded"  # type: ignore[attr-defined]
    assert len(first.inputs) == 3 + 3  # type: ignore[attr-defined]  # 3 crawls, 3 MovieLens files
    assert_store_matches(store, repo)

    versions = {v: store.offline_store.current_version(store.get_feature_view(v)) for v in GROUPS}
    store, again = run(repo)
    assert again.status == "nothing_to_do" and again.inputs == ()  # type: ignore[attr-defined]
    assert {
        v: store.offline_store.current_version(store.get_feature_view(v)) for v in GROUPS
    } == versions

    add_crawls(repo, world_files, range(4, 7))
    add_ratings(repo, world_files, "late")
    store, later = run(repo)
    processed = sorted(Path(fp.path).name for fp in later.inputs)  # type: ignore[attr-defined]
    assert processed == sorted(
        [f"popular_2024-03-0{d}T06-00.jsonl" for d in (4, 5, 6)]
        + ["links.csv", "movies.csv", "ratings.csv"]
    )
    assert_store_matches(store, repo)

    # Change one crawl: one movie's popularity, and another movie dropped from it.
    crawl = repo / "raw" / "tmdb" / "popular_2024-03-02T06-00.jsonl"
    pages = [json.loads(line) for line in crawl.read_text().splitlines()]
    pages[0]["results"][0]["popularity"] = 999.5
    dropped = pages[0]["results"].pop(1)["id"]
    crawl.write_text("\n".join(json.dumps(p) for p in pages) + "\n")
    store, changed = run(repo)
    assert [Path(fp.path).name for fp in changed.inputs] == [crawl.name]  # type: ignore[attr-defined]
    assert_store_matches(store, repo)
    basic = stored(store, "movie_basic")
    day2 = datetime(2024, 3, 3, tzinfo=UTC)  # a date-only name means the end of the day
    assert basic.filter(
        (pl.col("movie_id") == dropped) & (pl.col("event_timestamp") == day2)
    ).is_empty()


def test_threads_mode_gives_the_same_tables(tmp_path: Path, world_files: Path) -> None:
    repo = make_repo(tmp_path, mode="threads")
    add_crawls(repo, world_files, range(1, 4))
    add_ratings(repo, world_files, "early")
    store, record = run(repo)
    assert record.status == "succeeded"  # type: ignore[attr-defined]
    assert_store_matches(store, repo)


def test_unknown_stage_type_is_a_clear_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path, extra="")
    text = (
        (repo / "pipeline.yaml")
        .read_text()
        .replace("type: FeatureValidationStage", "type: NoSuchStage")
    )
    (repo / "pipeline.yaml").write_text(text)
    with pytest.raises(
        PipelineConfigError,
        match=r"pipeline.yaml:9: feature_pipeline.stages\[2\].type: unknown stage type "
        r"'NoSuchStage'",
    ):
        Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))


def test_wrong_param_type_names_the_param(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    text = (
        (repo / "pipeline.yaml")
        .read_text()
        .replace(
            "type: FeatureValidationStage}",
            "type: FeatureValidationStage, params: {on_failure: explode}}",
        )
    )
    (repo / "pipeline.yaml").write_text(text)
    with pytest.raises(
        PipelineConfigError,
        match=r"stages\[2\].params.on_failure: Input should be 'quarantine', 'fail' or 'warn'",
    ):
        Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))


RUN_SCRIPT = """\
import sys
from cinefeat import CinefeatError, FeatureStore
from cinefeat.pipeline import Pipeline

if __name__ == "__main__":
    store = FeatureStore(sys.argv[1])
    Pipeline.from_file(sys.argv[1] + "/pipeline.yaml", store).run(resume=True, progress=False)
"""


@pytest.mark.parametrize(
    "kill_at",
    [
        "data_validation:2",  # mid-stage: two of four partitions loaded
        "data_validation:run",  # between stages: raw views written
        "feature_extraction:run",
        "store:movie_statistical",  # mid-write: some feature views replaced, others not
    ],
)
def test_a_killed_run_resumes_to_the_same_tables(
    tmp_path: Path, world_files: Path, kill_at: str
) -> None:
    repo = make_repo(tmp_path)
    add_crawls(repo, world_files, range(1, 4))
    add_ratings(repo, world_files, "early")
    script = tmp_path / "run_pipeline.py"
    script.write_text(RUN_SCRIPT)
    env = {**os.environ, "CINEFEAT_PIPELINE_KILL_AT": kill_at}
    log = tmp_path / "log.txt"
    with log.open("w") as out:  # a file, not a pipe: a pipe would wait for the killed run's pool
        killed = subprocess.run(
            [sys.executable, str(script), str(repo)], env=env, stderr=out, timeout=300
        )
    assert killed.returncode == -signal.SIGKILL, log.read_text()[-2000:]
    env.pop("CINEFEAT_PIPELINE_KILL_AT")
    with log.open("w") as out:
        resumed = subprocess.run(
            [sys.executable, str(script), str(repo)], env=env, stderr=out, timeout=300
        )
    assert resumed.returncode == 0, log.read_text()[-2000:]
    store = FeatureStore(repo)
    runs = store.registry.pipeline_runs().list_runs("daily")
    assert [r.status for r in runs] == ["succeeded"]  # the killed run was finished, not redone
    assert runs[0].options["resumes"] == 1
    assert not (repo / "data" / "pipelines" / "daily" / "runs").exists()  # work files removed
    assert_store_matches(store, repo)
    for view in ("tmdb_movies", "rating_events", *GROUPS):
        frame = pl.from_arrow(store.read_offline(view))
        assert isinstance(frame, pl.DataFrame)
        keys = [k for k in ("movie_id", "user_id") if k in frame.columns]
        ts = "snapshot_ts" if view == "tmdb_movies" else "event_timestamp"
        assert frame.select([*keys, ts]).is_duplicated().sum() == 0, view


def test_a_missing_input_folder_names_the_key_and_line(tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    shutil.rmtree(repo / "raw" / "ratings")
    pipeline = Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))
    with pytest.raises(
        PipelineConfigError,
        match=r"pipeline.yaml:5: feature_pipeline.inputs.ratings.path: .* does not exist",
    ):
        pipeline.plan()


CUSTOM_STAGE = '''
import polars as pl
from pydantic import BaseModel
from cinefeat.pipeline import PartitionOutput, Stage, StageReport


class Params(BaseModel):
    min_votes: int


class PopularCount(Stage):
    """Counts each crawl's movies with at least `min_votes` votes; writes one summary row."""

    reads = ("movies",)
    writes = ("popular_counts",)
    Params = Params

    def process_partition(self, partition, inputs):
        movies = inputs["movies"]
        if movies is None:
            return PartitionOutput()
        popular = movies.filter(pl.col("vote_count") >= self.params.min_votes)
        frame = pl.DataFrame({"partition": [partition.key], "popular": [popular.height]})
        return PartitionOutput(
            frames={"popular_counts": frame}, rows_read=movies.height, rows_written=1
        )

    def run(self, context):
        counts = context.datasets.scan("popular_counts").collect().sort("partition")
        counts.write_csv(context.state_dir / "popular_counts.csv")
        return StageReport(rows_read=counts.height, messages=[f"{counts.height} crawls counted"])
'''


def test_a_custom_stage_by_dotted_path(
    tmp_path: Path, world_files: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = make_repo(tmp_path)
    (tmp_path / "my_stages.py").write_text(CUSTOM_STAGE)
    monkeypatch.syspath_prepend(str(tmp_path))  # spawned workers get the parent's sys.path
    text = (
        (repo / "pipeline.yaml")
        .read_text()
        .replace(
            "    - {name: feature_extraction",
            "    - {name: popular, type: my_stages.PopularCount, params: {min_votes: 50}}\n"
            "    - {name: feature_extraction",
        )
    )
    (repo / "pipeline.yaml").write_text(text)
    add_crawls(repo, world_files, range(1, 3))
    add_ratings(repo, world_files, "early")
    store, record = run(repo)
    stage = record.stage("popular")  # type: ignore[attr-defined]
    assert (stage.type, stage.reads, stage.writes) == (
        "PopularCount",
        ("movies",),
        ("popular_counts",),
    )
    assert (stage.partitions_done, stage.rows_written) == (3, 2)  # 2 crawls + 1 ratings folder
    counts = pl.read_csv(repo / "data" / "pipelines" / "daily" / "state" / "popular_counts.csv")
    movies = load_tmdb(repo / "raw" / "tmdb").accepted
    expected_counts = (
        movies.filter(pl.col("vote_count") >= 50)
        .group_by("snapshot_ts")
        .len()
        .sort("snapshot_ts")["len"]
    )
    assert counts["popular"].to_list() == expected_counts.to_list()
    # A wrong params type is reported with the file and line, before anything runs.
    (repo / "pipeline.yaml").write_text(text.replace("min_votes: 50", "min_votes: lots"))
    with pytest.raises(
        PipelineConfigError,
        match=r"pipeline.yaml:8: .*stages\[1\].params.min_votes: Input should be a valid integer",
    ):
        Pipeline.from_file(repo / "pipeline.yaml", store)


def test_one_run_of_a_pipeline_at_a_time(tmp_path: Path, world_files: Path) -> None:
    import fcntl

    repo = make_repo(tmp_path)
    add_crawls(repo, world_files, range(1, 2))
    add_ratings(repo, world_files, "early")
    pipeline = Pipeline.from_file(repo / "pipeline.yaml", FeatureStore(repo))
    (pipeline.home).mkdir(parents=True)
    with open(pipeline.home / ".lock", "a+") as held:  # as another process's run would
        fcntl.flock(held, fcntl.LOCK_EX)
        with pytest.raises(CinefeatError, match="pipeline daily is already running"):
            pipeline.run(progress=False)
        fcntl.flock(held, fcntl.LOCK_UN)
    assert pipeline.run(progress=False).status == "succeeded"
