"""Feast side by side for the serving benchmark: build a Feast repo with the same data as
`benchmarks.serving.build_repo` and run `feast serve` on it, all in a separate Feast interpreter.
"""

from __future__ import annotations

import importlib.util
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
from functools import cache
from pathlib import Path

from benchmarks._settings import DATA_DIR

__all__ = ["FEAST_VENV", "build_feast_repo", "feast_python", "feast_server"]

FEATURES_PER_VIEW = 10  # as in benchmarks.serving
FEAST_VENV = DATA_DIR / "feast" / "venv"
# `python -m feast` does not work (no feast.__main__); this is what the `feast` script runs.
_CLI = "import sys; from feast.cli.cli import cli; sys.exit(cli())"

_DEFINITIONS = '''"""The serving benchmark's two views (written by benchmarks._feast_compare)."""

from datetime import timedelta

from feast import Entity, FeatureView, Field, FileSource, ValueType
from feast.types import Float64, Int64

FEATURES_PER_VIEW = {features}

for _name in ("user", "movie"):
    _key = f"{{_name}}_id"
    _entity = Entity(name=_name, join_keys=[_key], value_type=ValueType.INT64)
    _source = FileSource(
        name=f"{{_name}}_source",
        path=f"data/{{_name}}_profile.parquet",
        timestamp_field="event_timestamp",
    )
    _schema = [Field(name=_key, dtype=Int64)] + [
        Field(name=f"{{_name}}_f{{i}}", dtype=Int64 if i % 2 else Float64)
        for i in range(FEATURES_PER_VIEW)
    ]
    globals()[f"{{_name}}_entity"] = _entity
    globals()[f"{{_name}}_profile"] = FeatureView(
        name=f"{{_name}}_profile",
        entities=[_entity],
        schema=_schema,
        ttl=timedelta(days=30),
        source=_source,
        online=True,
    )
'''


@cache
def feast_python() -> Path | None:
    """The python of a Feast install: this interpreter's if it has feast, else the benchmark's
    own virtualenv (benchmarks/.data/feast/venv) if it exists and imports feast, else None."""
    if importlib.util.find_spec("feast") is not None:
        return Path(sys.executable)
    python = FEAST_VENV / "bin" / "python"
    if not python.exists():
        return None
    done = subprocess.run(
        [str(python), "-c", "import feast"], capture_output=True, timeout=120, check=False
    )
    return python if done.returncode == 0 else None


def _feast(python: Path, repo: Path, *args: str) -> None:
    """One `feast` CLI command in `repo`, in the Feast interpreter; raises with its output."""
    done = subprocess.run(
        [str(python), "-c", _CLI, *args],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"feast {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def build_feast_repo(path: Path, users: int, movies: int, python: Path) -> None:
    """A fresh Feast repo (local provider, SQLite online store) holding the same rows as
    `benchmarks.serving.build_repo(path, users, movies)` (same seed, same draw order), applied
    and materialized online."""
    import numpy as np
    import polars as pl

    shutil.rmtree(path, ignore_errors=True)
    (path / "data").mkdir(parents=True)
    (path / "feature_store.yaml").write_text(
        "project: serving_bench\n"
        "registry: data/registry.db\n"
        "provider: local\n"
        "online_store:\n"
        "  type: sqlite\n"
        "  path: data/online.db\n"
        "entity_key_serialization_version: 3\n"
    )
    (path / "features.py").write_text(_DEFINITIONS.format(features=FEATURES_PER_VIEW))
    rng = np.random.default_rng(7)
    now = datetime.now(UTC) - timedelta(minutes=5)
    for name, key, count in (("user", "user_id", users), ("movie", "movie_id", movies)):
        columns: dict[str, object] = {key: np.arange(count, dtype=np.int64)}
        for i in range(FEATURES_PER_VIEW):
            values = rng.integers(0, 1000, count) if i % 2 else rng.random(count)
            columns[f"{name}_f{i}"] = values
        frame = pl.DataFrame(columns).with_columns(
            event_timestamp=pl.lit(now, dtype=pl.Datetime("us", "UTC"))
        )
        frame.write_parquet(path / "data" / f"{name}_profile.parquet")
    _feast(python, path, "apply")
    end = datetime.now(UTC).replace(tzinfo=None).isoformat(timespec="seconds")
    _feast(python, path, "materialize-incremental", end)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=5) as response:  # loopback only
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def feast_server(
    repo: Path, python: Path, log: Path, workers: int = 2, startup_timeout: float = 120.0
) -> Iterator[str]:
    """`feast serve` on `repo` (gunicorn with uvicorn workers, 127.0.0.1, a free port), yielding
    its base URL once /health answers; stopped with SIGTERM on exit, killed if it lingers.

    Access logging is off and worker recycling (`--max-requests`, 1,000 by default) is
    disabled, as cinefeat's server does neither."""
    port = _free_port()
    command = [str(python), "-c", _CLI, "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--workers", str(workers), "--no-access-log", "--max-requests", "0"]
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=repo, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout
        while not _healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"feast serve did not start:\n{log.read_text()}")
            time.sleep(0.2)
        yield url
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)  # the arbiter and its workers
                process.wait()
