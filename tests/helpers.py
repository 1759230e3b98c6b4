"""Small helpers shared by tests (fixtures live in conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

T0 = datetime(2024, 1, 1, tzinfo=UTC)
SRC = Path(__file__).resolve().parents[1] / "src"


def at(days: float = 0, **kwargs: float) -> datetime:
    """A UTC time relative to T0, for readable hand-computed expectations."""
    return T0 + timedelta(days=days, **kwargs)


def run_python(code: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `code` in a fresh interpreter (a separate process, as another user's job would be)."""
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
