"""`python -m benchmarks [--quick] [NAME ...]`: build (or reuse) the data, run the benchmarks,
print the table and write the JSON results."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from benchmarks import BENCHMARKS, REPO_BENCHMARKS
from benchmarks._data import ensure_dataset
from benchmarks._report import Section, contention_summary, render, write_json
from benchmarks._runner import CONTENTION, Context
from benchmarks._settings import RESULTS_DIR, settings_for

__all__ = ["main"]


def _runners() -> dict[str, Callable[[Context], Section]]:
    from benchmarks import (
        cli_startup,
        historical,
        materialize,
        movies,
        online,
        pipeline,
        quality,
        serving,
        user_activity,
    )

    return {
        "historical": historical.run,
        "materialize": materialize.run,
        "online": online.run,
        "cli": cli_startup.run,
        "movies": movies.run,
        "user_activity": user_activity.run,
        "pipeline": pipeline.run,
        "serving": serving.run,
        "quality": quality.run,
    }


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="cinefeat's performance benchmarks."
    )
    parser.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"benchmarks to run, from {', '.join(BENCHMARKS)} (default: all)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="reduced sizes for a smoke test (well under a minute)"
    )
    parser.add_argument("--runs", type=int, help="fresh-process runs per measurement (median)")
    parser.add_argument("--rebuild", action="store_true", help="regenerate the cached data")
    parser.add_argument("--output", type=Path, help="JSON results file")
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {', '.join(BENCHMARKS)}")
    return args


def main(argv: list[str] | None = None) -> None:
    args = _parse(argv)
    names = [name for name in BENCHMARKS if name in args.names] or list(BENCHMARKS)
    settings = settings_for(args.quick, args.runs)
    wide = sys.stdout.isatty() or "COLUMNS" in os.environ
    console = Console(width=None if wide else 150)  # a pipe or log file gets the whole table
    started = time.perf_counter()
    needs_repo = any(name in REPO_BENCHMARKS for name in names)
    dataset = ensure_dataset(settings, console, rebuild=args.rebuild) if needs_repo else None
    ctx = Context(settings, dataset, console, rebuild=args.rebuild)
    runners = _runners()
    sections = []
    for name in names:
        began, readings = time.perf_counter(), len(CONTENTION)
        section = runners[name](ctx)
        section.data["contention"] = contention_summary(CONTENTION[readings:])
        sections.append(section)
        console.print(f"[dim]{name} done in {time.perf_counter() - began:.1f} s[/]")
    render(sections, settings, console, CONTENTION)
    default = "latest.json" if not settings.quick else "latest-quick.json"
    output = args.output or RESULTS_DIR / default
    write_json(output, sections, settings, dataset)
    console.print(f"results: {output} ({time.perf_counter() - started:.1f} s in all)")


if __name__ == "__main__":
    main()
