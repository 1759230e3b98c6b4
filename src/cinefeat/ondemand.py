"""Running on-demand feature views: gather their inputs, call the udf, attach the outputs.

Offline, the inputs are extra point-in-time columns of the same join (named `__cf_in__...`) and
request columns of the entity dataframe; online, extra reads of the same request and the request
data in `entity_rows`. Both paths build the udf's input frame with the same declared dtypes, so
the same inputs give the same outputs.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from cinefeat.definitions import FeatureView, OnDemandFeatureView
from cinefeat.errors import CinefeatError, EntityDataFrameError, FeatureNotFoundError
from cinefeat.registry import RegistrySnapshot, ResolvedOnDemand
from cinefeat.types import parse_dtype

__all__ = [
    "HIDDEN",
    "OnDemandInputs",
    "check_request_columns",
    "compute_on_demand",
    "hidden_name",
    "on_demand_inputs",
]

HIDDEN = "__cf_in__"


@dataclass(frozen=True)
class OnDemandInputs:
    """The extra view features the requested on-demand views read, by view."""

    reads: list[tuple[FeatureView, tuple[str, ...], tuple[str, ...]]]  # view, features, names
    request_fields: tuple[str, ...]

    @property
    def hidden_names(self) -> list[str]:
        return [name for _, _, names in self.reads for name in names]


def hidden_name(view: str, feature: str) -> str:
    return f"{HIDDEN}{view}__{feature}"


def on_demand_inputs(
    snapshot: RegistrySnapshot, requested: Sequence[ResolvedOnDemand]
) -> OnDemandInputs:
    wanted: dict[str, dict[str, None]] = {}
    request: dict[str, None] = {}
    for item in requested:
        for source in item.view.view_inputs:
            wanted.setdefault(source.view, {}).update(dict.fromkeys(source.features))
        request.update(dict.fromkeys(f.name for f in item.view.request_fields))
    reads = []
    for name, features in wanted.items():
        view = snapshot.feature_views.get(name)
        if view is None:
            raise FeatureNotFoundError(f"on-demand input view {name!r} is not in the registry")
        names = tuple(hidden_name(name, f) for f in features)
        reads.append((view, tuple(features), names))
    return OnDemandInputs(reads, tuple(request))


@functools.lru_cache(maxsize=256)
def _arrow_type(dtype_name: str) -> pa.DataType:
    return parse_dtype(dtype_name).to_arrow()


def _input_frame(view: OnDemandFeatureView, columns: Mapping[str, Any], rows: int) -> Any:
    """The udf's input: `view__feature` columns and request fields, in their declared dtypes.
    Built through Arrow (a typed array per column), far cheaper than Polars' own constructor
    for the one-row frames of online requests."""
    import polars as pl

    arrays: dict[str, pa.Array | pa.ChunkedArray] = {}
    for source in view.view_inputs:
        for feature, dtype in zip(source.features, source.dtypes, strict=True):
            arrays[source.column(feature)] = _typed(
                columns[hidden_name(source.view, feature)], _arrow_type(dtype)
            )
    for field in view.request_fields:
        target = _arrow_type(str(field.dtype))
        values = columns[field.name]
        if pa.types.is_timestamp(target):
            values = _request_times(field.name, values)
        try:
            arrays[field.name] = _typed(values, target)
        except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
            raise EntityDataFrameError(
                f"request data {field.name!r} must be {field.dtype} values: {exc}"
            ) from None
    if not arrays:
        return pl.DataFrame({"__row": range(rows)})
    frame = pl.from_arrow(pa.table(arrays))
    return frame


def _request_times(name: str, values: Any) -> pa.Array | pa.ChunkedArray:
    """Request times as an Arrow array: datetimes, or ISO 8601 strings. Numbers are refused:
    Arrow would read one as microseconds since 1970, so epoch seconds would silently become
    January 1970."""
    import polars as pl

    if not isinstance(values, pa.Array | pa.ChunkedArray):
        values = pa.array(values)
    if pa.types.is_integer(values.type) or pa.types.is_floating(values.type):
        raise EntityDataFrameError(
            f"request data {name!r} must be datetimes (timezone-aware, or naive meaning UTC), "
            f"not {values.type} numbers: the unit of an epoch number is ambiguous"
        )
    if pa.types.is_string(values.type) or pa.types.is_large_string(values.type):
        text = pl.Series(name, values)
        try:
            parsed = text.str.to_datetime(time_unit="us", time_zone="UTC")
        except pl.exceptions.PolarsError:
            raise EntityDataFrameError(
                f"request data {name!r} holds text that is not an ISO 8601 time "
                f"(first value {text[0]!r})"
            ) from None
        return parsed.to_arrow()
    return values


def _typed(values: Any, target: pa.DataType) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, pa.Array | pa.ChunkedArray):
        return values if values.type == target else values.cast(target)
    return pa.array(values, type=target)


def compute_on_demand(
    item: ResolvedOnDemand, columns: Mapping[str, Any], rows: int
) -> dict[str, pa.Array]:
    """Run one on-demand view's udf on `columns` (hidden inputs and request fields, as Arrow
    arrays or Python lists); return its requested outputs as Arrow arrays, by output name."""
    view = item.view
    frame = _input_frame(view, columns, rows)
    try:
        result = view.udf(frame)
    except Exception as exc:  # the user's code: say whose it is
        raise CinefeatError(
            f"on-demand view {view.name!r}: its udf failed: {type(exc).__name__}: {exc}"
        ) from exc
    missing = [f for f in item.features if f not in getattr(result, "columns", [])]
    if missing or getattr(result, "height", rows) != rows:
        raise CinefeatError(
            f"on-demand view {view.name!r}: its udf must return a DataFrame with {rows} rows and "
            f"the columns {list(item.features)}; missing {missing}"
        )
    outputs = {}
    for feature, name in zip(item.features, item.output_names, strict=True):
        target = view.field(feature).dtype.to_arrow()
        outputs[name] = result[feature].to_arrow().cast(target)
    return outputs


def check_request_columns(table: pa.Table, fields: Sequence[str]) -> None:
    missing = [f for f in fields if f not in table.column_names]
    if missing:
        raise EntityDataFrameError(
            f"entity_df lacks the request data {missing} that the requested on-demand features "
            f"need; its columns are {table.column_names}"
        )
