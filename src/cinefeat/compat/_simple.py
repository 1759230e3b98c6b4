"""SimpleFeatureStore: the original simple API, a thin wrapper over FeatureStore.

`SimpleFeatureStore(base_path)` needs no definitions: `save_features` infers a managed view from
each DataFrame (creating or extending it) and pushes the rows online and offline;
`get_features` returns the latest value per entity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from cinefeat.config import CONFIG_FILE
from cinefeat.definitions import Entity, FeatureView, Field
from cinefeat.errors import DefinitionError, FeatureNotFoundError
from cinefeat.offline import to_arrow_table
from cinefeat.store import FeatureStore
from cinefeat.types import Array, Bool, DType, Float32, Float64, Int32, Int64, String, UnixTimestamp

__all__ = ["SimpleFeatureStore"]

_EVENT = "event_timestamp"


def _dtype_of(name: str, arrow_type: pa.DataType) -> DType | Array:
    t = arrow_type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        inner = _dtype_of(name, t.value_type)
        if isinstance(inner, Array):
            raise DefinitionError(f"column {name!r}: nested lists are not supported")
        return Array(inner)
    if pa.types.is_dictionary(t):
        t = t.value_type
    for check, dtype in (
        (pa.types.is_boolean, Bool),
        (lambda x: x in (pa.int8(), pa.int16(), pa.int32(), pa.uint8(), pa.uint16()), Int32),
        (pa.types.is_integer, Int64),
        (lambda x: x in (pa.float16(), pa.float32()), Float32),
        (pa.types.is_floating, Float64),
        (lambda x: pa.types.is_string(x) or pa.types.is_large_string(x), String),
        (pa.types.is_timestamp, UnixTimestamp),
    ):
        if check(t):
            return dtype
    raise DefinitionError(f"column {name!r}: cannot store values of type {arrow_type}")


class SimpleFeatureStore:
    """Save and fetch feature tables by name, without writing definitions first.

    >>> fs = SimpleFeatureStore("features/")
    >>> fs.save_features("movie", {"movie_popularity": df})   # df has movie_id + feature columns
    >>> fs.get_features(["movie_popularity"], entity_ids=[550, 603])
    """

    def __init__(self, base_path: str | Path) -> None:
        base = Path(base_path)
        base.mkdir(parents=True, exist_ok=True)
        if not (base / CONFIG_FILE).exists():
            (base / CONFIG_FILE).write_text("project: simple_features\n", encoding="utf-8")
        self.store = FeatureStore(base)

    @staticmethod
    def _join_key(entity_group: str, columns: Sequence[str]) -> str:
        for candidate in (f"{entity_group}_id", "entity_id", "id"):
            if candidate in columns:
                return candidate
        raise DefinitionError(
            f"save_features: the frame for entity group {entity_group!r} needs an id column "
            f"('{entity_group}_id', 'entity_id' or 'id'); its columns are {list(columns)}"
        )

    def save_features(self, entity_group: str, features: Mapping[str, Any]) -> dict[str, int]:
        """Store each `{view_name: frame}`; a frame without `event_timestamp` is stamped now.
        New columns extend the view; returns rows written per view."""
        written: dict[str, int] = {}
        for name, frame in features.items():
            table = to_arrow_table(frame, f"features[{name!r}]")
            if _EVENT not in table.column_names:
                stamp = pa.repeat(
                    pa.scalar(datetime.now(UTC), pa.timestamp("us", "UTC")), table.num_rows
                )
                table = table.append_column(_EVENT, stamp)
            key = self._join_key(entity_group, table.column_names)
            schema = [
                Field(col, _dtype_of(col, table.schema.field(col).type))
                for col in table.column_names
                if col != _EVENT
            ]
            entity = Entity(entity_group, [key])
            view = FeatureView(name, [entity], schema, description="saved by SimpleFeatureStore")
            try:
                existing = self.store.get_feature_view(name)
            except FeatureNotFoundError:
                existing = None
            if existing is not None:  # keep fields this frame lacks, so saving extends a view
                keep = [f for f in existing.schema if f.name not in table.column_names]
                table = self._with_current_values(existing, table, key, keep)
                view = FeatureView(name, [entity], [*keep, *schema], description=view.description)
            self.store.apply([entity, view])
            self.store.push(name, table, to="online_and_offline")
            written[name] = table.num_rows
        return written

    def _with_current_values(
        self, view: FeatureView, table: pa.Table, key: str, fields: list[Field]
    ) -> pa.Table:
        """Fill features the frame leaves out with each entity's current values, so saving
        some columns never blanks the others."""
        if not fields:
            return table
        rows = [{key: value} for value in table.column(key).to_pylist()]
        current = self.store.get_online_features([f"{view.name}:{f.name}" for f in fields], rows)
        for field in fields:
            values = pa.array(current.values[field.name], field.dtype.to_arrow())
            table = table.append_column(field.name, values)
        return table

    def _columns(self, names: Sequence[str]) -> list[str]:
        refs: list[str] = []
        views = {v.name: v for v in self.store.list_feature_views()}
        for name in names:
            if ":" in name:
                refs.append(name)
            elif name in views:
                refs.extend(f"{name}:{f}" for f in views[name].feature_names)
            else:
                owners = [v for v in views.values() if name in v.feature_names]
                if len(owners) != 1:
                    where = "no" if not owners else f"{len(owners)}"
                    raise FeatureNotFoundError(
                        f"get_features: {name!r} is not a saved feature table, and {where} "
                        "tables have a feature of that name; use 'table:feature'"
                    )
                refs.append(f"{owners[0].name}:{name}")
        return refs

    def get_features(
        self, names: Sequence[str], entity_ids: Sequence[Any] | None = None
    ) -> pd.DataFrame:
        """Latest values per entity of the named tables (or 'table:feature' / feature names).
        With `entity_ids`, a cached online lookup; without, every entity from the offline store."""
        refs = self._columns(names)
        views = {ref.split(":")[0] for ref in refs}
        keys = {self.store.get_feature_view(v).join_keys for v in views}
        if len(keys) != 1:
            raise DefinitionError(f"get_features: {sorted(views)} do not share one entity key")
        (key,) = keys.pop()
        if entity_ids is None:
            entity_ids = self._all_ids(views, key)
        response = self.store.get_online_features(refs, [{key: i} for i in entity_ids])
        return response.to_df()

    def _all_ids(self, views: set[str], key: str) -> list[Any]:
        ids: set[Any] = set()
        for view in views:
            ids.update(self.store.read_offline(view).column(key).to_pylist())
        return sorted(ids)

    def get_cache_stats(self) -> dict[str, Any]:
        return self.store.get_cache_stats()
