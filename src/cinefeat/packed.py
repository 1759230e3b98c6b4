"""The packed-row format that materialization produces and online stores keep.

A packed row is the view's join keys, the event and created time in epoch microseconds, and all
of the row's feature values as one JSON object (timestamps inside it as epoch microseconds too).
Both sides import this module, so the format is defined once.
"""

from __future__ import annotations

import json
from typing import Any, Literal

import orjson

from cinefeat.definitions import FeatureView
from cinefeat.sqltext import quote_ident
from cinefeat.timeutil import from_micros
from cinefeat.types import Array, DType

__all__ = [
    "CREATED_US",
    "EVENT_US",
    "NULL_CREATED_US",
    "VALUES",
    "TimestampKind",
    "decode_values",
    "packed_values_sql",
    "restore_timestamps",
    "timestamp_kind",
]

EVENT_US = "__cf_event_us"
CREATED_US = "__cf_created_us"
VALUES = "__cf_values"
# A row without a created time loses every tie against a row that has one.
NULL_CREATED_US = -(2**63) + 1

TimestampKind = Literal["scalar", "array"] | None


def timestamp_kind(dtype: DType | Array) -> TimestampKind:
    if isinstance(dtype, Array):
        return "array" if dtype.inner.is_timestamp else None
    return "scalar" if dtype.is_timestamp else None


def packed_values_sql(view: FeatureView, source: str) -> str:
    """A DuckDB expression packing the features of `source` (a row or struct alias) as JSON."""
    parts = []
    for field in view.features:
        value = f"{source}.{quote_ident(field.name)}"
        kind = timestamp_kind(field.dtype)
        if kind == "scalar":
            value = f"epoch_us({value})"
        elif kind == "array":
            value = f"list_transform({value}, lambda x: epoch_us(x))"
        parts.append(f"{quote_ident(field.name)} := {value}")
    return f"to_json(struct_pack({', '.join(parts)}))::VARCHAR"


def decode_values(packed: bytes | str) -> dict[str, Any]:
    try:
        return orjson.loads(packed)  # type: ignore[no-any-return]
    except orjson.JSONDecodeError:  # NaN and Infinity are valid floats but not strict JSON
        return json.loads(packed)  # type: ignore[no-any-return]


def restore_timestamps(value: Any, kind: TimestampKind) -> Any:
    """Turn the epoch microseconds of a decoded timestamp (or list of them) back to datetimes."""
    if value is None or kind is None:
        return value
    if kind == "scalar":
        return from_micros(value)
    return [None if v is None else from_micros(v) for v in value]
