"""`make demo` runs end to end and its numbers add up."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from cinefeat.demo import run_demo


def test_demo_end_to_end(tmp_path: Path) -> None:
    with open(tmp_path / "out.txt", "w") as out:
        summary = run_demo(tmp_path / "demo_repo", Console(file=out, width=120), days=20)
    for read, accepted, quarantined in summary["read"].values():
        assert read == accepted + quarantined and accepted > 0
    rows = summary["feature_rows"]
    assert rows["movie_basic"] == rows["movie_text"] == summary["movies"]
    first, second = summary["runs"]
    assert first[0] == second[0] == "succeeded"
    assert second[1] == 1  # only the crawl that arrived later was processed
    assert rows["user_activity"] > 0
    assert summary["training_rows"] > 1_000  # every label row is kept
    assert all(0.5 < share <= 1.0 for share in summary["training_fill"].values())
    lookup = summary["lookup"]
    assert lookup["user_id"][2] == 99_999_999
    assert lookup["rating_count_30d"][2] is None  # an unknown user
    assert isinstance(lookup["genre_affinity"][0], float)
    cache = summary["cache"]
    assert cache["hits"] > 0 and cache["misses"] > 0
    text = (tmp_path / "out.txt").read_text()
    assert "Done." in text and "NOT_FOUND" in text and "quarantined" in text
