"""Two processes applying at the same time lose nothing."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from cinefeat.registry import Registry
from tests.helpers import SRC

WORKER = """
import json, sys, time
from pathlib import Path
from cinefeat import Entity, FeatureView, Field
from cinefeat.registry import Registry
from cinefeat.types import Float64, Int64, String

url, prefix, go = sys.argv[1], sys.argv[2], Path(sys.argv[3])
registry = Registry(url, "proj")
user = Entity("user", ["user_id"])
while not go.exists():
    time.sleep(0.005)
new_versions = []
for i in range(15):
    own = FeatureView(f"{prefix}_{i}", [user], [Field("user_id", Int64), Field("x", Int64)])
    # Both workers keep changing the shared view's dtype: each change is breaking.
    dtype = (Int64, Float64, String)[i % 3] if prefix == "a" else (String, Int64, Float64)[i % 3]
    shared = FeatureView("shared", [user], [Field("user_id", Int64), Field("v", dtype)])
    diff = registry.apply([user, own, shared])
    new_versions += [c.new_version for c in diff.breaking if c.name == "shared"]
print(json.dumps(new_versions))
"""


def test_concurrent_applies_lose_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/registry.db"
    Registry(url, "proj")  # create the tables before the race, as a repo's first apply would
    go = tmp_path / "go"
    env = {"PYTHONPATH": str(SRC)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, url, prefix, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for prefix in ("a", "b")
    ]
    time.sleep(1.0)  # both interpreters are up and waiting
    go.touch()
    outputs = [w.communicate(timeout=120) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err
    versions = sorted(v for out, _ in outputs for v in json.loads(out))

    registry = Registry(url, "proj")
    views = registry.snapshot().feature_views
    assert {f"{p}_{i}" for p in "ab" for i in range(15)} <= set(views)
    # Every breaking change got its own version number: none reused, none lost.
    history = [v.version for v in registry.list_feature_view_versions("shared")]
    assert history == list(range(1, len(history) + 1))
    assert versions == list(range(2, len(history) + 1))
    assert views["shared"].version == history[-1]
