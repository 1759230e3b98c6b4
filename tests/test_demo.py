"""`make demo` runs end to end and its numbers add up."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from cinefeat.demo import run_demo


def test_demo_end_to_end(tmp_path: Path) -> None:
    with open(tmp_path / "out.txt", "w") as out:
        summary = run_demo(tmp_path / "demo_repo", Console(file=out, width=120))
    assert summary["training_rows"] == 200_000  # every label row is kept
    assert all(0.9 < share <= 1.0 for share in summary["training_fill"].values())
    users_read, users_written = summary["materialized"]["user_stats"]
    assert users_read > users_written > 1_000
    lookup = summary["lookup"]
    assert lookup["user_id"] == [1, 2, 99_999]
    assert lookup["user_stats__rating_count"][2] is None  # an unknown user
    assert all(isinstance(v, int) for v in lookup["user_stats__rating_count"][:2])
    assert summary["cache"]["hits"] == 6 and summary["cache"]["misses"] == 6
    text = (tmp_path / "out.txt").read_text()
    assert "Done." in text and "NOT_FOUND" in text
