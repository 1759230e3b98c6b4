"""Benchmark 10: the REST server (`python -m cinefeat.server`, 2 uvicorn workers) under load from
a separate process (`benchmarks.load_test`), over loopback.

Data: a repo with two online views of 10 features each (`user_profile` over 10,000 users,
`movie_profile` over 5,000 movies; ints and floats), every entity's row pushed online with a
fresh event time. A request asks for all 20 features of 1 entity row (a user and a movie), or
of 100 entity rows; rows are uniformly random pairs, from a fixed list of pre-built bodies.
Each variant runs after an untimed warm-up that fills both workers' caches, so these are
cache-hit latencies of the whole HTTP path (parse, validate, read, serialize).

Cache hit rate: a second server (1 worker, so one cache) over 100,000 users whose cache holds
10,000 entries (10%), requests for 1 user each drawn from Zipf(1.1) over them; the rate is the
server's own count (`/api/v1/cache/stats`) over a measured run that follows a warm-up run of
as many requests (other draws from the same distribution): the steady state.

Feast side by side: when Feast is installed (`pip install 'cinefeat[feast]'`, or a separate
venv at benchmarks/.data/feast/venv, which keeps its dependencies out of cinefeat's), the same
data goes into a Feast repo (SQLite online store, materialized) served by `feast serve` with 2
workers, and every variant runs against it with the same bodies and load, in the same run.
Otherwise the issue's Feast 0.67 figures are shown as the reference.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from benchmarks._feast_compare import FEAST_VENV, build_feast_repo, feast_python, feast_server
from benchmarks._report import Row, Section, at_least
from benchmarks._runner import Context
from benchmarks._settings import DATA_DIR, PROJECT_ROOT

__all__ = ["build_repo", "run"]

FEATURES_PER_VIEW = 10
SIZES = {"full": (10_000, 5_000, 100_000), "quick": (1_000, 500, 10_000)}
# name -> (entities per request, concurrency, requests, time limit s)
VARIANTS = {
    "full": {
        "one_c1": (1, 1, 4_000, 30.0),
        "one_c16": (1, 16, 60_000, 20.0),
        "hundred_c1": (100, 1, 1_000, 30.0),
        "hundred_c16": (100, 16, 6_000, 20.0),
    },
    "quick": {
        "one_c1": (1, 1, 300, 10.0),
        "one_c16": (1, 16, 2_000, 5.0),
        "hundred_c1": (100, 1, 100, 10.0),
        "hundred_c16": (100, 16, 300, 5.0),
    },
}
ZIPF_REQUESTS = {"full": 60_000, "quick": 5_000}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def build_repo(path: Path, users: int, movies: int, cache_entries: int | None = None) -> None:
    """A fresh repo with the two views, every entity's row pushed online."""
    import numpy as np
    import polars as pl

    from cinefeat import Entity, FeatureStore, FeatureView, Field
    from cinefeat.types import Float64, Int64

    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    cache = f"cache: {{max_entries: {cache_entries}}}\n" if cache_entries else ""
    (path / "cinefeat.yaml").write_text(f"project: serving_bench\n{cache}")
    rng = np.random.default_rng(7)
    now = datetime.now(UTC) - timedelta(minutes=5)
    with FeatureStore(path) as store:
        for name, key, count in (("user", "user_id", users), ("movie", "movie_id", movies)):
            entity = Entity(name, [key])
            fields = [Field(key, Int64)] + [
                Field(f"{name}_f{i}", Int64 if i % 2 else Float64) for i in range(FEATURES_PER_VIEW)
            ]
            view = FeatureView(f"{name}_profile", [entity], fields, ttl=timedelta(days=30))
            store.apply([entity, view])
            columns: dict[str, Any] = {key: np.arange(count)}
            for i in range(FEATURES_PER_VIEW):
                values = rng.integers(0, 1000, count) if i % 2 else rng.random(count)
                columns[f"{name}_f{i}"] = values
            frame = pl.DataFrame(columns).with_columns(event_timestamp=pl.lit(now))
            store.push(view.name, frame, to="online")


def _features() -> list[str]:
    return [
        f"{name}_profile:{name}_f{i}"
        for name in ("user", "movie")
        for i in range(FEATURES_PER_VIEW)
    ]


def _bodies(rows: int, users: int, movies: int, count: int, seed: int) -> list[str]:
    import numpy as np

    rng = np.random.default_rng(seed)
    features = _features()
    return [
        json.dumps(
            {
                "features": features,
                "entities": {
                    "user_id": rng.integers(0, users, rows).tolist(),
                    "movie_id": rng.integers(0, movies, rows).tolist(),
                },
            }
        )
        for _ in range(count)
    ]


def _zipf_bodies(users: int, count: int, seed: int) -> list[str]:
    """Requests for one user each, drawn from Zipf(1.1) over the users (the same hot users
    whatever the seed: rank r is always the same user)."""
    import numpy as np

    weights = np.arange(1, users + 1, dtype=np.float64) ** -1.1
    by_rank = np.random.default_rng(11).permutation(users)
    draws = np.random.default_rng(seed).choice(users, size=count, p=weights / weights.sum())
    ids = by_rank[draws]
    features = [f"user_profile:user_f{i}" for i in range(FEATURES_PER_VIEW)]
    return [json.dumps({"features": features, "entities": {"user_id": [int(u)]}}) for u in ids]


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:  # loopback only
        return json.loads(response.read())


@contextmanager
def _server(repo: Path, workers: int, log: Path) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "cinefeat.server", "--repo", str(repo), "--port", str(port)]
    command += ["--workers", str(workers)]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _get(f"{url}/health")
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def _load(url: str, bodies_file: Path, concurrency: int, requests: int, limit: float) -> Any:
    """One load run, in its own process."""
    command = [sys.executable, "-m", "benchmarks.load_test", "--url", f"{url}/get-online-features"]
    command += ["--bodies", str(bodies_file), "--concurrency", str(concurrency)]
    command += ["--requests", str(requests), "--time-limit", str(limit), "--json"]
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, capture_output=True, text=True, check=True, timeout=limit + 60
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def _measured(result: dict[str, Any]) -> str:
    return (
        f"p50 {result['p50_ms']:.2f} ms, p95 {result['p95_ms']:.2f} ms, p99 "
        f"{result['p99_ms']:.2f} ms; {result['throughput']:,.0f} requests/s "
        f"({result['requests']:,} requests, {result['errors']} errors)"
    )


def run(ctx: Context) -> Section:
    mode = ctx.settings.name
    users, movies, zipf_users = SIZES[mode]
    work = DATA_DIR / f"serving-{mode}"
    work.mkdir(parents=True, exist_ok=True)
    section = Section("serving")
    with ctx.console.status("serving: building the repos"):
        build_repo(work / "repo", users, movies)
        build_repo(work / "zipf_repo", zipf_users, 1, cache_entries=zipf_users // 10)
    bodies = {}
    for rows in (1, 100):
        file = work / f"bodies_{rows}.jsonl"
        file.write_text("\n".join(_bodies(rows, users, movies, 2_000 if rows == 1 else 200, rows)))
        bodies[rows] = file
    results: dict[str, Any] = {}
    with _server(work / "repo", 2, work / "server.log") as url:
        with ctx.console.status("serving: warm-up"):
            for rows, file in bodies.items():
                _load(url, file, 16, 4_000 if rows == 1 else 800, 30.0)
        for name, (rows, concurrency, requests, limit) in VARIANTS[mode].items():
            with ctx.console.status(f"serving: {name}"):
                results[name] = _load(url, bodies[rows], concurrency, requests, limit)
        results["server_cache"] = _get(f"{url}/api/v1/cache/stats")
    python = feast_python()
    if python is not None:
        with ctx.console.status("serving: Feast 0.67, the same data"):
            build_feast_repo(work / "feast_repo", users, movies, python)
            with feast_server(work / "feast_repo", python, work / "feast_server.log") as url:
                for rows, file in bodies.items():
                    _load(url, file, 16, 4_000 if rows == 1 else 800, 30.0)
                for name, (rows, concurrency, requests, limit) in VARIANTS[mode].items():
                    results[f"feast_{name}"] = _load(
                        url, bodies[rows], concurrency, requests, limit
                    )
    zipf_files = {}
    for phase, seed in (("warm_up", 12), ("measured", 13)):
        zipf_files[phase] = work / f"bodies_zipf_{phase}.jsonl"
        zipf_files[phase].write_text("\n".join(_zipf_bodies(zipf_users, ZIPF_REQUESTS[mode], seed)))
    status = ctx.console.status("serving: Zipf(1.1) cache hit rate")
    with _server(work / "zipf_repo", 1, work / "zipf_server.log") as url, status:
        _load(url, zipf_files["warm_up"], 16, ZIPF_REQUESTS[mode], 120.0)
        before = _get(f"{url}/api/v1/cache/stats")
        results["zipf"] = _load(url, zipf_files["measured"], 16, ZIPF_REQUESTS[mode], 120.0)
        after = _get(f"{url}/api/v1/cache/stats")
    results["zipf_cache"] = {k: after[k] - before[k] for k in ("hits", "misses")}
    section.data = results
    targets = {
        "one_c1": ("p50 <= 1.5 ms, p99 <= 5 ms", lambda r: r["p50_ms"] <= 1.5 and r["p99_ms"] <= 5),
        "one_c16": (
            ">= 3,000 requests/s, p99 <= 25 ms",
            lambda r: r["throughput"] >= 3_000 and r["p99_ms"] <= 25,
        ),
    }
    issue_figures = {
        "one_c1": "Feast 0.67 (the issue's figures): p50 9.9 ms, p99 15 ms",
        "one_c16": "Feast 0.67 (the issue's figures): 112-124 requests/s, p99 0.57-1.4 s",
    }
    labels = {
        "one_c1": "REST /get-online-features, 1 entity x 2 views x 10 features, concurrency 1",
        "one_c16": "same, concurrency 16",
        "hundred_c1": "same, 100 entities per request, concurrency 1",
        "hundred_c16": "same, 100 entities per request, concurrency 16",
    }
    for name, label in labels.items():
        ours = results[name]
        target, check = targets.get(name, ("-", None))
        feast = results.get(f"feast_{name}")
        reference = issue_figures.get(name, "")
        if feast is not None:
            reference = (
                f"Feast 0.67 feast serve here, same data and load: {_measured(feast)}; cinefeat "
                f"{feast['p50_ms'] / ours['p50_ms']:.1f}x lower p50, "
                f"{ours['throughput'] / feast['throughput']:.1f}x the requests/s"
            )
        section.rows.append(
            Row(label, target, _measured(ours), check(ours) if check else None, reference)
        )
    zipf_cache = results["zipf_cache"]
    hit_rate = zipf_cache["hits"] / max(1, zipf_cache["hits"] + zipf_cache["misses"])
    zipf_cache["hit_rate"] = hit_rate
    section.rows.append(
        Row(
            f"cache hit rate, Zipf(1.1) over {zipf_users:,} users, cache of "
            f"{zipf_users // 10:,} entries (10%), 1 worker",
            ">= 85%",
            f"{hit_rate:.1%} ({zipf_cache['hits']:,} hits, {zipf_cache['misses']:,} misses, "
            "after a warm-up run of as many requests); segmented LRU; "
            f"{_measured(results['zipf'])}",
            at_least(hit_rate, 0.85),
            "the original design's claim",
        )
    )
    if python is None:
        section.rows.append(
            Row(
                "Feast side by side",
                "-",
                "not measured: no Feast here (pip install 'cinefeat[feast]', or a venv at "
                f"{FEAST_VENV.relative_to(PROJECT_ROOT)}: see benchmarks/README.md); the "
                "issue's Feast 0.67 figures are the reference",
                None,
            )
        )
    section.data["machine_cores"] = os.cpu_count()
    return section
