"""Results: table rows with targets and pass/fail, the rich table, and the JSON file."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from dataclasses import asdict, dataclass, field, fields, is_dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from benchmarks._settings import PROJECT_ROOT, Settings

__all__ = [
    "GB",
    "Row",
    "Section",
    "at_least",
    "at_most",
    "contention_summary",
    "fmt_bytes",
    "fmt_seconds",
    "machine_info",
    "render",
    "write_json",
]

GB = 1_000_000_000  # decimal, as the figures; stricter than GiB


@dataclass(frozen=True)
class Row:
    measure: str
    target: str
    measured: str
    passed: bool | None  # None: informational, no target
    reference: str = ""


@dataclass
class Section:
    """One benchmark's table rows and every raw number behind them."""

    name: str
    rows: list[Row] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


def at_most(value: float, limit: float) -> bool:
    return value <= limit


def at_least(value: float, limit: float) -> bool:
    return value >= limit


def fmt_seconds(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms" if seconds < 0.1 else f"{seconds * 1e3:.0f} ms"
    return f"{seconds * 1e6:.0f} µs"


def fmt_bytes(size: float) -> str:
    return f"{size / GB:.2f} GB"


def _verdict(passed: bool | None) -> str:
    if passed is None:
        return "[dim]-[/]"
    return "[bold green]pass[/]" if passed else "[bold red]FAIL[/]"


def contention_summary(readings: list[float]) -> dict[str, float]:
    """Cores kept busy by other processes during the measurements (median and max)."""
    if not readings:
        return {"median_other_cores": 0.0, "max_other_cores": 0.0}
    ordered = sorted(readings)
    return {"median_other_cores": ordered[len(ordered) // 2], "max_other_cores": ordered[-1]}


def render(
    sections: list[Section], settings: Settings, console: Console, contention: list[float]
) -> None:
    title = f"cinefeat benchmarks ({settings.name})"
    caption = (
        "quick mode: reduced sizes, pass/fail is not meaningful"
        if settings.quick
        else "times are medians; GB = 10^9 bytes of peak RSS of the measuring process"
    )
    busy = contention_summary(contention)
    if busy["median_other_cores"] > 0.1 or busy["max_other_cores"] > 0.5:
        caption += (
            f"\n[yellow]other processes kept {busy['median_other_cores']:.2f} cores busy "
            f"(median; max {busy['max_other_cores']:.2f}) while measuring: numbers are noisy[/]"
        )
    else:
        caption += f"\nother processes kept at most {busy['max_other_cores']:.2f} cores busy"
    table = Table(title=title, caption=caption, show_lines=True)
    table.add_column("measure", max_width=44)
    table.add_column("target", no_wrap=True)
    table.add_column("measured")
    table.add_column("pass/fail", justify="center")
    table.add_column("reference", max_width=46)
    for section in sections:
        for row in section.rows:
            table.add_row(
                row.measure, row.target, row.measured, _verdict(row.passed), row.reference
            )
    console.print(table)


def _git() -> dict[str, Any]:
    def run(*args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=False
        )
        return done.stdout.strip()

    import hashlib

    diff = run("diff", "HEAD", "--", "src")
    return {
        "commit": run("rev-parse", "HEAD"),
        "src_dirty": bool(diff),
        # Identifies uncommitted changes under src/ that were measured.
        "src_diff_sha256": hashlib.sha256(diff.encode()).hexdigest()[:16] if diff else None,
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_info() -> dict[str, Any]:
    import psutil

    packages = ("cinefeat", "duckdb", "pyarrow", "deltalake", "polars", "pandas", "numpy")
    return {
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "memory_bytes": psutil.virtual_memory().total,
        "python": platform.python_version(),
        "packages": {name: metadata.version(name) for name in packages},
    }


def write_json(path: Path, sections: list[Section], settings: Settings, dataset: Any) -> None:
    """Write (or update, when only some benchmarks ran) the results file."""
    existing: dict[str, Any] = {}
    if path.is_file():
        try:
            existing = json.loads(path.read_text())
        except json.JSONDecodeError:
            existing = {}
    if existing.get("settings", {}).get("name") != settings.name:
        existing = {}
    now = datetime.now(UTC).isoformat(timespec="seconds")
    benchmarks = existing.get("benchmarks", {})
    for section in sections:
        benchmarks[section.name] = {
            "measured_at": now,
            "git": _git(),
            "rows": [asdict(row) for row in section.rows],
            "data": section.data,
        }
    document = {
        "updated_at": now,
        "machine": machine_info(),
        "settings": {  # generator configs as their repr
            f.name: repr(value) if is_dataclass(value := getattr(settings, f.name)) else value
            for f in fields(settings)
        },
        # The shared repo, when a benchmark that uses it ran (else as recorded before).
        "dataset": (
            {"repo": str(dataset.repo), **dataset.meta}
            if dataset is not None
            else existing.get("dataset")
        ),
        "benchmarks": benchmarks,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
