"""A materialization killed between the online write and the watermark update is redone, not
skipped: rerunning gives the right online values."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from cinefeat import Entity, FeatureStore, FeatureView, Field
from cinefeat.types import Int64
from tests.helpers import at, run_python

CRASH_BEFORE_WATERMARK = """
import os, sys
from datetime import datetime, timezone
from cinefeat import FeatureStore
from cinefeat.registry import Registry

def die(*args, **kwargs):
    os._exit(9)  # as abrupt as a kill: no cleanup, no exception handlers

Registry.set_watermark = die
store = FeatureStore(".")
store.materialize_incremental(datetime(2024, 1, 11, tzinfo=timezone.utc))
"""


def test_crash_between_online_write_and_watermark(repo: Path) -> None:
    view = FeatureView(
        "counts", [Entity("user", ["user_id"])], [Field("user_id", Int64), Field("n", Int64)]
    )
    store = FeatureStore(repo)
    store.apply([view])
    frame = pd.DataFrame(
        {"user_id": [1, 1, 2], "n": [10, 11, 20], "event_timestamp": [at(1), at(2), at(3)]}
    )
    store.write_offline("counts", frame)

    crashed = run_python(CRASH_BEFORE_WATERMARK, cwd=repo)
    assert crashed.returncode == 9, crashed.stderr
    # The online write committed, the watermark did not move.
    assert store.registry.get_watermark("counts", 1) is None
    before = store.get_online_features(["counts:n"], [{"user_id": 1}, {"user_id": 2}])
    assert before.values["n"] == [11, 20]
    later = pd.DataFrame({"user_id": [2], "n": [21], "event_timestamp": [at(4)]})
    store.write_offline("counts", later)

    (result,) = store.materialize_incremental(at(10))
    assert result.rows_read == 4  # everything since the (unmoved) watermark, again
    response = store.get_online_features(["counts:n"], [{"user_id": 1}, {"user_id": 2}])
    assert response.values["n"] == [11, 21]
    mark = store.registry.get_watermark("counts", 1)
    assert mark is not None and mark.event_time == at(10)
