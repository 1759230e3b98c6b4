"""The online read path: entity rows in, one cached store round trip per view, a response out.

Everything that can be worked out once per feature list (which views, which columns, how to
decode) lives in a ReadPlan that the store caches; a request only does lookups and list building.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cinefeat.definitions import FeatureView
from cinefeat.errors import CinefeatError, EntityDataFrameError
from cinefeat.ondemand import compute_on_demand, on_demand_inputs
from cinefeat.online._cache import CACHE_MISS, OnlineCache
from cinefeat.online._protocol import EntityKey, OnlineStore
from cinefeat.online._response import FieldStatus, OnlineResponse
from cinefeat.packed import decode_values, restore_timestamps, timestamp_kind
from cinefeat.registry import RegistrySnapshot, Resolution, ResolvedOnDemand
from cinefeat.timeutil import from_micros

__all__ = ["OnlineReader", "ReadPlan", "ViewRead", "read_plan"]

_PRESENT, _NULL = FieldStatus.PRESENT, FieldStatus.NULL_VALUE
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_NOT_FOUND, _TOO_OLD = FieldStatus.NOT_FOUND, FieldStatus.OUTSIDE_MAX_AGE


def _key_coercer(dtype_name: str, key: str) -> Any:
    if dtype_name == "String":

        def as_string(value: Any) -> str:
            if not isinstance(value, str):
                raise EntityDataFrameError(f"entity key {key!r} must be a string, got {value!r}")
            return value

        return as_string

    def as_int(value: Any) -> int:
        if isinstance(value, bool):
            raise EntityDataFrameError(f"entity key {key!r} must be an integer, got {value!r}")
        try:
            number = operator.index(value)
        except TypeError:
            raise EntityDataFrameError(
                f"entity key {key!r} must be an integer, got {value!r}"
            ) from None
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise EntityDataFrameError(f"entity key {key!r} must fit in 64 bits, got {number}")
        return number

    return as_int


class ViewRead:
    """The features to read from one view version, the names they are returned under, and what
    is needed to read them fast (key coercion, which values are timestamps, the ttl)."""

    __slots__ = ("coercers", "features", "output_names", "timestamps", "ttl_us", "view")

    def __init__(
        self, view: FeatureView, features: Sequence[str], output_names: Sequence[str]
    ) -> None:
        self.view = view
        self.features = tuple(features)
        self.output_names = tuple(output_names)
        self.coercers = tuple(_key_coercer(f.dtype.name, f.name) for f in view.key_fields)
        self.timestamps = tuple(timestamp_kind(view.field(f).dtype) for f in self.features)
        self.ttl_us = view.ttl_micros


@dataclass(frozen=True)
class ReadPlan:
    """Everything a lookup of one feature list needs, worked out once: the view reads (the
    on-demand inputs among them, under hidden names), the on-demand views to run, the request
    fields they take from `entity_rows`, and the output order."""

    views: tuple[ViewRead, ...]
    on_demand: tuple[ResolvedOnDemand, ...] = ()
    hidden: tuple[str, ...] = ()
    request_fields: tuple[str, ...] = ()
    order: tuple[str, ...] = ()

    @property
    def join_keys(self) -> tuple[str, ...]:
        keys: dict[str, None] = {}
        for read in self.views:
            keys.update(dict.fromkeys(read.view.join_keys))
        return tuple(keys)


class OnlineReader:
    def __init__(
        self,
        store: OnlineStore,
        cache: OnlineCache | None,
        on_store_read: Callable[[str, float], None] | None = None,
    ) -> None:
        self.store = store
        self.cache = cache
        # Told (view name, seconds) after each online store round trip: a server's metrics.
        self.on_store_read = on_store_read

    def read(self, plan: ReadPlan, entity_rows: Sequence[Mapping[str, Any]]) -> OnlineResponse:
        if self.cache is not None:
            changed = self.store.changed_views()
            if changed:
                self.cache.invalidate(changed)
        now_us = int(time.time() * 1_000_000)
        values: dict[str, list[Any]] = {}
        statuses: dict[str, list[FieldStatus]] = {}
        stamps: dict[str, list[datetime | None]] = {}
        for read in plan.views:
            rows = self._lookup(read, self._keys(read, entity_rows))
            self._fill(read, rows, now_us, values, statuses, stamps)
        if plan.on_demand:
            self._on_demand(plan, entity_rows, values, statuses, stamps)
        # Join keys come back in the order the caller wrote them in the first entity row.
        keys = plan.join_keys
        if entity_rows and len(keys) > 1:
            first = list(entity_rows[0])
            keys = tuple(sorted(keys, key=lambda k: first.index(k) if k in first else len(first)))
        join_keys = {key: [row.get(key) for row in entity_rows] for key in keys}
        return OnlineResponse(join_keys, values, statuses, stamps)

    @staticmethod
    def _on_demand(
        plan: ReadPlan,
        entity_rows: Sequence[Mapping[str, Any]],
        values: dict[str, list[Any]],
        statuses: dict[str, list[FieldStatus]],
        stamps: dict[str, list[datetime | None]],
    ) -> None:
        columns: dict[str, Any] = {name: values.pop(name) for name in plan.hidden}
        for name in plan.hidden:
            statuses.pop(name)
            stamps.pop(name)
        for field in plan.request_fields:
            missing = [i for i, row in enumerate(entity_rows) if field not in row]
            if missing:
                raise EntityDataFrameError(
                    f"entity row {missing[0]} lacks request data {field!r}, which the requested "
                    "on-demand features need"
                )
            columns[field] = [row[field] for row in entity_rows]
        for item in plan.on_demand:
            for name, array in compute_on_demand(item, columns, len(entity_rows)).items():
                column = array.to_pylist()
                values[name] = column
                statuses[name] = [_NULL if v is None else _PRESENT for v in column]
                stamps[name] = [None] * len(column)
        ordered = {name: values[name] for name in plan.order}
        values.clear()
        values.update(ordered)

    def _keys(self, read: ViewRead, entity_rows: Sequence[Mapping[str, Any]]) -> list[EntityKey]:
        coercers = read.coercers
        names = read.view.join_keys
        keys = []
        for row in entity_rows:
            try:
                keys.append(tuple(c(row[n]) for c, n in zip(coercers, names, strict=True)))
            except KeyError as exc:
                raise EntityDataFrameError(
                    f"entity row {dict(row)!r} has no {exc.args[0]!r}, the join key of feature "
                    f"view {read.view.name!r}"
                ) from None
        return keys

    def _lookup(
        self, read: ViewRead, keys: list[EntityKey]
    ) -> list[tuple[int, dict[str, Any]] | None]:
        table = read.view.table_name
        cache = self.cache
        epoch = None if cache is None else cache.epoch(table)
        found: dict[EntityKey, tuple[int, dict[str, Any]] | None] = {}
        missing: list[EntityKey] = []
        for key in keys:
            if key in found:
                continue
            cached = CACHE_MISS if cache is None else cache.get(table, key)
            if cached is CACHE_MISS:
                missing.append(key)
                found[key] = None
            else:
                found[key] = cached  # type: ignore[assignment]  # the cache holds these rows
        if missing:
            started = time.perf_counter()
            stored = self.store.online_read(read.view, missing)
            if self.on_store_read is not None:
                self.on_store_read(read.view.name, time.perf_counter() - started)
            for key in missing:
                row = stored.get(key)
                value = None if row is None else (row[0], decode_values(row[1]))
                found[key] = value
                if cache is not None and epoch is not None:
                    cache.put(table, key, value, epoch)
        return [found[key] for key in keys]

    @staticmethod
    def _fill(
        read: ViewRead,
        rows: list[tuple[int, dict[str, Any]] | None],
        now_us: int,
        values: dict[str, list[Any]],
        statuses: dict[str, list[FieldStatus]],
        stamps: dict[str, list[datetime | None]],
    ) -> None:
        ttl_us = read.ttl_us
        row_times = [None if r is None else from_micros(r[0]) for r in rows]
        too_old = [r is not None and ttl_us > 0 and now_us - r[0] > ttl_us for r in rows]
        for feature, name, kind in zip(
            read.features, read.output_names, read.timestamps, strict=True
        ):
            column: list[Any] = []
            column_status: list[FieldStatus] = []
            for row, old in zip(rows, too_old, strict=True):
                if row is None:
                    column.append(None)
                    column_status.append(_NOT_FOUND)
                elif old:
                    column.append(None)
                    column_status.append(_TOO_OLD)
                else:
                    value = row[1].get(feature)
                    if value is None:
                        column_status.append(_NULL)
                    else:
                        column_status.append(_PRESENT)
                        if kind is not None:
                            value = restore_timestamps(value, kind)
                    column.append(value)
            values[name] = column
            statuses[name] = column_status
            stamps[name] = row_times


def read_plan(snapshot: RegistrySnapshot, resolution: Resolution) -> ReadPlan:
    """The ReadPlan of a resolved feature list; offline-only views are refused here."""
    offline_only = sorted({r.view.name for r in resolution.views if not r.view.online})
    inputs = on_demand_inputs(snapshot, resolution.on_demand)
    offline_only += sorted({view.name for view, _, _ in inputs.reads if not view.online})
    if offline_only:
        raise CinefeatError(
            f"feature view(s) {sorted(set(offline_only))} are offline only (online=False); "
            "read them with get_historical_features"
        )
    # One read per view table: an on-demand view's inputs join the direct features of their
    # view (the answer is put back in the requested order after the on-demand step).
    merged: dict[str, tuple[FeatureView, list[str], list[str]]] = {}
    wanted = [(r.view, r.features, r.output_names) for r in resolution.views]
    for view, features, names in [*wanted, *inputs.reads]:
        _, all_features, all_names = merged.setdefault(view.table_name, (view, [], []))
        all_features.extend(features)
        all_names.extend(names)
    reads = [ViewRead(view, features, names) for view, features, names in merged.values()]
    return ReadPlan(
        tuple(reads),
        tuple(resolution.on_demand),
        tuple(inputs.hidden_names),
        inputs.request_fields,
        tuple(resolution.order),
    )
