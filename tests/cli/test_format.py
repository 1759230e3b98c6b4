"""The CLI's table formatting: numbers to a spec with a dash for no value and no sign on a
rounded zero, and profile values cut to fit a cell."""

from __future__ import annotations

import numpy as np

from cinefeat.cli._format import format_number, table_cell


def test_format_number() -> None:
    assert [format_number(None), format_number(float("nan")), format_number(np.float64("nan"))] == [
        "-", "-", "-",
    ]  # fmt: skip
    assert [format_number(1234.5678), format_number(0.5, ".1%"), format_number(7, ".2f")] == [
        "1235", "50.0%", "7.00",
    ]  # fmt: skip
    # A value that rounds to zero loses its sign; a small one that does not keeps it.
    assert [format_number(-0.00001, ".4f"), format_number(-0.0001, ".1%")] == ["0.0000", "0.0%"]
    assert [format_number(-0.001, ".4f"), format_number(-1e-9), format_number(-0.0)] == [
        "-0.0010", "-1e-09", "0",
    ]  # fmt: skip


def test_table_cell() -> None:
    assert [table_cell(None), table_cell(2.0 / 3), table_cell(12), table_cell("en")] == [
        "-", "0.6667", "12", "en",
    ]  # fmt: skip
    assert table_cell("x" * 24) == "x" * 24
    assert table_cell("a rather long original title") == "a rather long original \u2026"
    assert len(table_cell("y" * 100)) == 24
