"""Entry point of a measurement process: `python -m benchmarks._worker TASK JSON-ARGS`.

Prints the measurement as one JSON line on stdout. Tasks live in the benchmark modules.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

__all__ = ["main"]


def _tasks() -> dict[str, Callable[[dict[str, Any]], dict[str, Any]]]:
    from benchmarks import historical, materialize, movies, online, pipeline, user_activity

    return {
        "historical": historical.measure_once,
        "historical-agree": historical.check_agreement,
        "materialize": materialize.measure_once,
        "online": online.measure,
        "movies-build": movies.build,
        "movies": movies.measure_once,
        "user_activity-build": user_activity.build,
        "user_activity": user_activity.measure_once,
        "pipeline-build": pipeline.build_crawl,
        "pipeline-noop-build": pipeline.build_noop_crawl,
        "pipeline-noop-prepare": pipeline.prepare_noop_repo,
        "pipeline": pipeline.measure_once,
        "pipeline-noop": pipeline.measure_noop,
    }


def main(argv: list[str]) -> None:
    task, args = argv[0], json.loads(argv[1])
    result = _tasks()[task](args)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1:])
