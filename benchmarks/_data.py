"""The benchmark repo: seeded rating events -> daily user and movie statistics -> two managed
feature views, built once and cached under benchmarks/.data/ keyed by the generator config.

A repo directory is only used once its `meta.json` exists (written last), so an interrupted
build is redone. Entity rows (uniformly random user, movie and time in the data's range) are
cached next to it as Parquet, one file per (row count, seed).

`ensure_built` caches the other benchmarks' data (the TMDB crawl, the 10M rating events) the
same way: a directory keyed by the generator config, usable once its `meta.json` exists.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from benchmarks._settings import DATA_DIR, Settings

__all__ = ["Built", "Dataset", "ensure_built", "ensure_dataset", "ensure_entities"]

FORMAT = 1  # bump when the layout below changes, to rebuild cached repos

CONFIG_YAML = """\
project: cinefeat_bench
registry: data/registry.db
offline_store: {path: data/offline}
online_store: {type: sqlite, path: data/online.db}
cache: {enabled: true, max_entries: 100000, ttl_seconds: 60}
"""

FEATURES_PY = '''\
"""Benchmark repo: daily rating statistics of users and movies (as in cinefeat.demo)."""

from datetime import timedelta

from cinefeat import Entity, FeatureView, Field
from cinefeat.types import Float64, Int64

user = Entity("user", join_keys=["user_id"])
movie = Entity("movie", join_keys=["movie_id"])


def _stats(key):
    return [
        Field(key, Int64),
        Field("rating_count", Int64),
        Field("avg_rating", Float64),
        Field("ratings_1d", Int64),
        Field("avg_rating_1d", Float64),
        Field("max_rating", Float64),
    ]


user_stats = FeatureView("user_stats", [user], _stats("user_id"), ttl=timedelta(days=30))
movie_stats = FeatureView("movie_stats", [movie], _stats("movie_id"), ttl=timedelta(days=30))
'''


@dataclass(frozen=True)
class Dataset:
    """A built benchmark repo and what is in it."""

    repo: Path
    meta: dict[str, Any]

    @property
    def start(self) -> datetime:
        return datetime.fromisoformat(self.meta["start"])

    @property
    def days(self) -> int:
        return int(self.meta["days"])

    @property
    def end(self) -> datetime:
        """Past the last daily snapshot (each day is stamped at the next midnight)."""
        return self.start + timedelta(days=self.days + 1)

    @property
    def total_rows(self) -> int:
        return int(sum(self.meta["rows"].values()))

    @property
    def tables(self) -> dict[str, str]:
        """Delta table directory per view name."""
        return dict(self.meta["tables"])


def dataset_key(settings: Settings) -> str:
    text = f"{FORMAT}|{settings.synthetic!r}|{CONFIG_YAML}|{FEATURES_PY}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


def ensure_dataset(settings: Settings, console: Console, rebuild: bool = False) -> Dataset:
    """The cached repo for these settings, building it first if needed."""
    repo = DATA_DIR / f"repo-{settings.name}-{dataset_key(settings)}"
    meta_path = repo / "meta.json"
    if meta_path.is_file() and not rebuild:
        return Dataset(repo, json.loads(meta_path.read_text()))
    shutil.rmtree(repo, ignore_errors=True)
    repo.mkdir(parents=True)
    with _progress(console) as progress:
        meta = _build(repo, settings, progress)
    meta_path.write_text(json.dumps(meta, indent=2))
    console.print(
        f"built {repo.name}: {meta['rows']['user_stats']:,} user rows, "
        f"{meta['rows']['movie_stats']:,} movie rows in {meta['build_seconds']:.1f} s"
    )
    return Dataset(repo, meta)


def _build(repo: Path, settings: Settings, progress: Progress) -> dict[str, Any]:
    from cinefeat.repo import load_repo
    from cinefeat.sources import generate_rating_events
    from cinefeat.store import FeatureStore
    from cinefeat.transforms import daily_movie_stats, daily_user_stats

    started = time.perf_counter()
    config = settings.synthetic
    task = progress.add_task("preparing the benchmark repo", total=6)

    def step(text: str) -> None:
        progress.update(task, description=text)

    step(f"generating rating events ({config.n_users:,} users, {config.days} days)")
    events = generate_rating_events(config)
    progress.advance(task)
    step(f"daily user statistics ({events.height:,} events)")
    users = daily_user_stats(events)
    progress.advance(task)
    step("daily movie statistics")
    movies = daily_movie_stats(events)
    del events
    progress.advance(task)

    step("applying features.py")
    (repo / "cinefeat.yaml").write_text(CONFIG_YAML)
    (repo / "features.py").write_text(FEATURES_PY)
    store = FeatureStore(repo)
    store.apply(load_repo(repo).objects(), prune=True)
    progress.advance(task)
    rows, tables = {}, {}
    for name, frame in (("user_stats", users), ("movie_stats", movies)):
        step(f"write_offline {name} ({frame.height:,} rows)")
        result = store.write_offline(name, frame)
        rows[name] = result.rows
        tables[name] = str(store.offline_store.table_path(store.get_feature_view(name)))
        progress.advance(task)
    store.close()
    return {
        "synthetic": repr(config),
        "start": config.start.isoformat(),
        "days": config.days,
        "n_users": config.n_users,
        "n_movies": config.n_movies,
        "rows": rows,
        "tables": tables,
        "build_seconds": time.perf_counter() - started,
    }


def ensure_entities(dataset: Dataset, n_rows: int, seed: int) -> Path:
    """Parquet of `n_rows` entity rows: user_id, movie_id uniform over all ids, event_timestamp
    uniform over the data's days (microseconds, UTC)."""
    path = dataset.repo / "entities" / f"entities-{n_rows}-seed{seed}.parquet"
    if path.is_file():
        return path
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    meta = dataset.meta
    start_us = int(dataset.start.timestamp() * 1_000_000)
    span_us = dataset.days * 86_400_000_000
    table = pa.table(
        {
            "user_id": rng.integers(1, meta["n_users"] + 1, size=n_rows, dtype=np.int64),
            "movie_id": rng.integers(1, meta["n_movies"] + 1, size=n_rows, dtype=np.int64),
            "event_timestamp": pa.array(
                start_us + rng.integers(0, span_us, size=n_rows, dtype=np.int64),
                pa.timestamp("us", tz="UTC"),
            ),
        }
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    pq.write_table(table, partial)
    partial.rename(path)
    return path


@dataclass(frozen=True)
class Built:
    """A cached data directory built by a worker task, and what the build reported."""

    path: Path
    meta: dict[str, Any]


def ensure_built(
    prefix: str,
    settings: Settings,
    config_text: str,
    task: str,
    console: Console,
    rebuild: bool = False,
) -> Built:
    """The directory `DATA_DIR/<prefix>-<settings>-<hash of config_text>`, built first (by the
    worker `task`, in a fresh process, into a `.partial` directory renamed when done) unless a
    complete one exists. The worker gets {"settings": name, "out": directory} and returns the
    build's metadata, written to `meta.json`, last."""
    from benchmarks._runner import run_worker

    key = hashlib.sha256(config_text.encode()).hexdigest()[:12]
    path = DATA_DIR / f"{prefix}-{settings.name}-{key}"
    meta_path = path / "meta.json"
    if meta_path.is_file() and not rebuild:
        return Built(path, json.loads(meta_path.read_text()))
    partial = path.with_name(path.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    started = time.perf_counter()
    with console.status(f"preparing {path.name} (once; cached)"):
        meta = run_worker(task, {"settings": settings.name, "out": str(partial)})
    meta["build_seconds"] = time.perf_counter() - started
    (partial / "meta.json").write_text(json.dumps(meta, indent=2, default=str))
    shutil.rmtree(path, ignore_errors=True)
    partial.rename(path)
    console.print(f"built {path.name} in {meta['build_seconds']:.1f} s")
    return Built(path, meta)
