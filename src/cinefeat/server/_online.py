"""The online endpoints' work, without HTTP: a Feast-shaped request in, the store called once,
a Feast-shaped answer out (plain lists and dicts, for orjson; no pandas on this path)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from cinefeat.definitions import FeatureView
from cinefeat.online import OnlineResponse
from cinefeat.server._errors import ApiError
from cinefeat.server._models import GetOnlineFeaturesRequest, PushRequest
from cinefeat.store import FeatureStore

__all__ = ["feast_response", "push_table", "read_online"]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)  # Feast's event time for join keys and missing rows
_PRESENT = "PRESENT"
# The times Python can represent (UTC), as microseconds since 1970: a row outside them could be
# stored but never read back.
_FIRST_US = -62_135_596_800_000_000  # 0001-01-01T00:00:00Z
_LAST_US = 253_402_300_799_999_999  # 9999-12-31T23:59:59.999999Z


def read_online(
    store: FeatureStore, request: GetOnlineFeaturesRequest, max_entities: int
) -> dict[str, Any]:
    if request.rows > max_entities:
        raise ApiError(
            413,
            f"{request.rows:,} entities in one request; this server answers at most "
            f"{max_entities:,} (server.max_entities in cinefeat.yaml)",
        )
    features: Any = request.features if request.features is not None else request.feature_service
    names = list(request.entities)
    columns = [request.entities[name] for name in names]
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]
    response = store.get_online_features(features, rows, request.full_feature_names)
    return feast_response(response)


def feast_response(response: OnlineResponse) -> dict[str, Any]:
    """Feast's JSON: metadata.feature_names (join keys first) and one result per name, each
    with values, statuses and event timestamps (datetimes; orjson writes them as RFC 3339)."""
    count = len(next(iter(response.join_keys.values()), []))
    epochs = [EPOCH] * count
    present = [_PRESENT] * count
    results: list[dict[str, Any]] = [
        {"values": values, "statuses": present, "event_timestamps": epochs}
        for values in response.join_keys.values()
    ]
    # The features of one view share one list of times: fill its gaps once.
    filled: dict[int, list[datetime]] = {}
    for name, values in response.values.items():
        stamps = response.event_timestamps[name]
        times = filled.get(id(stamps))
        if times is None:
            times = [EPOCH if t is None else t for t in stamps]
            filled[id(stamps)] = times
        results.append(
            {"values": values, "statuses": response.statuses[name], "event_timestamps": times}
        )
    return {
        "metadata": {"feature_names": [*response.join_keys, *response.values]},
        "results": results,
    }


def _column(view: FeatureView, name: str, values: list[Any]) -> pa.Array:
    """One pushed column as Arrow. Times arrive as ISO 8601 text (Feast clients send them so)
    and are parsed here; anything else is left to the view's schema check."""
    is_time = name in (view.event_timestamp_column, view.created_column) or (
        name in view.feature_names and view.field(name).dtype.name == "UnixTimestamp"
    )
    if is_time and any(isinstance(v, str) for v in values):
        import polars as pl

        try:
            parsed = pl.Series(name, values, dtype=pl.String).str.to_datetime(
                time_zone="UTC", time_unit="us"
            )
        except Exception as exc:  # polars names the value it could not parse
            raise ApiError(422, f"df.{name}: not an ISO 8601 time: {exc}") from None
        micros = parsed.dt.epoch("us")
        low, high = micros.min(), micros.max()
        if low is not None and (low < _FIRST_US or high > _LAST_US):  # type: ignore[operator]
            raise ApiError(422, f"df.{name}: times must be within the years 1 to 9999 (UTC)")
        return parsed.to_arrow()
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError) as exc:
        raise ApiError(422, f"df.{name}: the values do not share one type: {exc}") from None


def push_table(view: FeatureView, request: PushRequest, max_rows: int) -> pa.Table:
    """The pushed rows as an Arrow table (the store then checks them against the view)."""
    if request.rows > max_rows:
        raise ApiError(
            413,
            f"{request.rows:,} rows in one push; this server takes at most {max_rows:,} "
            "(server.max_push_rows in cinefeat.yaml)",
        )
    return pa.table({name: _column(view, name, values) for name, values in request.df.items()})
