"""JSON-safe values for the quality documents the registry stores: JSON has no NaN or
infinity (a PSI over an empty bin, the std of one value), and no datetimes."""

from __future__ import annotations

import math
from typing import Any

__all__ = ["finite_or_none", "json_safe"]


def finite_or_none(value: float | None) -> float | None:
    """`value` when it is a finite number, else None."""
    return value if value is not None and math.isfinite(value) else None


def json_safe(value: Any) -> Any:
    """`value` with every NaN or infinity (at any depth) as None, tuples as lists and times as
    ISO 8601 text."""
    if isinstance(value, float):
        return finite_or_none(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value
