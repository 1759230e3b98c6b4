"""cinefeat's benchmark suite: the performance targets of the issue, measured on this machine.

Run everything with `python -m benchmarks`, a smoke-sized version with `python -m benchmarks
--quick`, or one benchmark by name (`python -m benchmarks historical`). See README.md.
"""

from __future__ import annotations

__all__ = ["BENCHMARKS", "REPO_BENCHMARKS"]

# Benchmark names, in the order they run.
BENCHMARKS = (
    "historical",
    "materialize",
    "online",
    "cli",
    "movies",
    "user_activity",
    "pipeline",
    "serving",
    "quality",
)
# Those that use the shared benchmark repo (benchmarks._data.ensure_dataset); the others build
# their own data.
REPO_BENCHMARKS = ("historical", "materialize", "online", "cli")
