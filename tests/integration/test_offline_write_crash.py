"""A process killed while writing to the offline store leaves the previous version readable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cinefeat import Entity, FeatureStore, FeatureView, Field
from cinefeat.types import Float64, Int64
from tests.helpers import SRC

BATCH = 200_000

WRITER = f"""
import sys
import numpy as np, pyarrow as pa
from datetime import datetime, timezone
from cinefeat import FeatureStore
store = FeatureStore(sys.argv[1])
rng = np.random.default_rng(0)
micros = np.full({BATCH}, 1_700_000_000_000_000, dtype="int64")
ts = pa.array(micros).cast(pa.timestamp("us", "UTC"))
while True:
    table = pa.table({{
        "user_id": pa.array(rng.integers(0, 1000, {BATCH})),
        "score": pa.array(rng.random({BATCH})),
        "event_timestamp": ts,
    }})
    store.write_offline("scores", table)
    print("committed", flush=True)
"""


def test_killed_writer_leaves_whole_commits_only(repo: Path) -> None:
    view = FeatureView(
        "scores", [Entity("user", ["user_id"])], [Field("user_id", Int64), Field("score", Float64)]
    )
    store = FeatureStore(repo)
    store.apply([view])
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    for delay in (0.05, 0.2, 0.35, 0.5):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(repo)], env=env, stdout=subprocess.PIPE, text=True
        )
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "committed"  # it is in its write loop
        time.sleep(delay)  # somewhere inside a write: files half written, commit not yet made
        writer.send_signal(signal.SIGKILL)
        writer.wait()
        table = store.read_offline("scores")
        # Only whole commits are visible, and the table stays readable and appendable.
        assert table.num_rows % BATCH == 0
        version = store.offline_store.current_version(store.get_feature_view("scores"))
        rows_per_version = 0 if version is None else (version + 1) * BATCH
        assert table.num_rows == rows_per_version
    assert store.read_offline("scores").num_rows > 0
