"""Benchmark 6: whole-process wall time of `python -c 'import cinefeat'` and of a no-change
`cinefeat apply` on the benchmark repo (after a first apply), median of N after a warm-up run.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks._report import Row, Section, at_most, fmt_seconds
from benchmarks._runner import Context, CpuWatch, median

__all__ = ["run"]


def _wall_times(command: list[str], runs: int, cwd: Path) -> tuple[list[float], str]:
    """Seconds per run (after one untimed warm-up run) and the warm-up's output."""
    warm = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if warm.returncode != 0:
        raise RuntimeError(f"{command} failed: {warm.stderr[-2000:]}")
    times = []
    for _ in range(runs):
        with CpuWatch(children=True) as watch:
            subprocess.run(command, cwd=cwd, capture_output=True, check=True)
        times.append(watch.seconds)
    return times, warm.stdout


def _cinefeat_command() -> list[str]:
    script = Path(sys.executable).parent / "cinefeat"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "cinefeat"]


def run(ctx: Context) -> Section:
    runs = max(ctx.settings.cli_runs, 1)
    repo = ctx.dataset.repo
    section = Section("cli")
    with ctx.console.status("cli: process start-up times"):
        floor, _ = _wall_times([sys.executable, "-c", "pass"], runs, repo)
        imports, _ = _wall_times([sys.executable, "-c", "import cinefeat"], runs, repo)
        apply_cmd = [*_cinefeat_command(), "apply", "--repo", str(repo)]
        applies, output = _wall_times(apply_cmd, runs, repo)
    no_change = "No changes" in output
    section.data = {
        "python_floor_seconds": floor,
        "import_seconds": imports,
        "apply_seconds": applies,
        "apply_output": output.strip(),
        "apply_command": apply_cmd,
    }
    floor_text = f"bare `python -c pass`: {fmt_seconds(median(floor))}"
    section.rows.append(
        Row(
            "python -c 'import cinefeat' (whole process)",
            "<= 1 s",
            f"{fmt_seconds(median(imports))} (median of {runs})",
            at_most(median(imports), 1.0),
            f"Feast 0.67: 12.7 s\n{floor_text}",
        )
    )
    section.rows.append(
        Row(
            "cinefeat apply, no changes (whole process)",
            "<= 2 s",
            f"{fmt_seconds(median(applies))} (median of {runs})"
            + ("" if no_change else "; [red]the repo was not unchanged[/]"),
            at_most(median(applies), 2.0) and no_change,
            "Feast 0.67: 14 s",
        )
    )
    return section
