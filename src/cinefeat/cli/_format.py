"""How the CLI writes values into its terminal tables: numbers with a format spec, a dash for
a missing value, and long values cut to fit a column."""

from __future__ import annotations

import math
from typing import Any

# The one truncation rule of reports and CLI tables; a stdlib-only module, so importing it
# does not load the quality package's numeric or plotting dependencies.
from cinefeat.quality._report_html import shorten

__all__ = ["MISSING", "format_number", "table_cell"]

MISSING = "-"  # what a table shows for no value
CELL_WIDTH = 24  # characters of a value in a profile table's cell


def format_number(value: float | None, spec: str = ".4g") -> str:
    """`value` formatted with `spec`; a dash for None and NaN, and no sign on a value that
    rounds to zero ("-0.0000" would read as a finding where there is only noise)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    text = format(value, spec)
    return text[1:] if text.startswith("-") and not text.strip("-0.%") else text


def table_cell(value: Any) -> str:
    """Any profile value for a table cell: floats to 4 significant digits, a dash for None,
    the rest as text, cut to CELL_WIDTH characters."""
    if value is None:
        return MISSING
    return shorten(format_number(value) if isinstance(value, float) else value, CELL_WIDTH)
