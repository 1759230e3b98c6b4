"""The registry works unchanged on PostgreSQL (a real server), including concurrent applies."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from cinefeat import Entity, FeatureStore, FeatureView, Field
from cinefeat.registry import Registry
from cinefeat.types import Float64, Int64
from tests.helpers import SRC, at
from tests.integration.postgres import postgres_server


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with tempfile.TemporaryDirectory() as workdir, postgres_server(Path(workdir)) as url:
        yield url


def test_store_with_a_postgres_registry(pg_url: str, tmp_path: Path) -> None:
    (tmp_path / "cinefeat.yaml").write_text(f"project: pg_store\nregistry: {pg_url}\n")
    store = FeatureStore(tmp_path)
    user = Entity("user", ["user_id"])
    view = FeatureView(
        "counts", [user], [Field("user_id", Int64), Field("n", Int64)], ttl=timedelta(days=9)
    )
    store.apply([view])
    store.write_offline(
        "counts", pd.DataFrame({"user_id": [1], "n": [3], "event_timestamp": [at(1)]})
    )
    store.materialize_incremental(at(2))
    assert store.registry.get_watermark("counts", 1).event_time == at(2)  # type: ignore[union-attr]
    changed = FeatureView("counts", [user], [Field("user_id", Int64), Field("n", Float64)])
    assert store.apply([changed]).breaking
    assert [v.version for v in store.list_feature_view_versions("counts")] == [1, 2]


WORKER = """
import sys
from cinefeat import Entity, FeatureView, Field
from cinefeat.registry import Registry
from cinefeat.types import Int64, Float64
registry = Registry(sys.argv[1], "pg_race")
user = Entity("user", ["user_id"])
for i in range(10):
    own = FeatureView(f"{sys.argv[2]}_{i}", [user], [Field("user_id", Int64), Field("x", Int64)])
    dtype = (Int64, Float64)[(i + (sys.argv[2] == "b")) % 2]
    shared = FeatureView("shared", [user], [Field("user_id", Int64), Field("v", dtype)])
    registry.apply([user, own, shared])
"""


def test_concurrent_applies_on_postgres(pg_url: str) -> None:
    Registry(pg_url, "pg_race")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, pg_url, p], env=env, stderr=subprocess.PIPE, text=True
        )
        for p in ("a", "b")
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err
    registry = Registry(pg_url, "pg_race")
    views = registry.snapshot().feature_views
    assert {f"{p}_{i}" for p in "ab" for i in range(10)} <= set(views)
    history = [v.version for v in registry.list_feature_view_versions("shared")]
    assert history == list(range(1, len(history) + 1))
