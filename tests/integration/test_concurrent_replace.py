"""Two processes replacing the same slice at once: the table ends with each row once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cinefeat import Entity, FeatureStore, FeatureView, Field
from cinefeat.types import Float64, Int64
from tests.helpers import SRC

REPLACER = """
import sys
from datetime import datetime, timezone
import polars as pl
from cinefeat import FeatureStore
store = FeatureStore(sys.argv[1])
when = datetime(2024, 3, 1, tzinfo=timezone.utc)
rows = pl.DataFrame({"user_id": range(1000), "score": [float(sys.argv[2])] * 1000,
                     "event_timestamp": [when] * 1000})
for _ in range(3):
    store.replace_offline("scores", rows, lambda ids: ids.filter(pl.col("event_timestamp") == when))
"""


def test_concurrent_replacements_never_duplicate_rows(repo: Path) -> None:
    view = FeatureView(
        "scores", [Entity("user", ["user_id"])], [Field("user_id", Int64), Field("score", Float64)]
    )
    FeatureStore(repo).apply([view])
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    writers = [
        subprocess.Popen([sys.executable, "-c", REPLACER, str(repo), str(score)], env=env)
        for score in (1, 2)
    ]
    assert [w.wait(timeout=120) for w in writers] == [0, 0]
    stored = FeatureStore(repo).read_offline("scores")
    assert stored.num_rows == 1000
    assert len(set(stored.column("user_id").to_pylist())) == 1000
    assert set(stored.column("score").to_pylist()) <= {1.0, 2.0}
