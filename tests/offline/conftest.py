"""Fixtures for the point-in-time join tests (local to tests/offline).

`pit_store` is a fresh repo and store. `backend` writes a view's rows either through the managed
Delta table (`write_offline`) or as external Parquet files read by a `FileSource`, so the same
test checks that both kinds of view join identically.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cinefeat import Entity, FeatureStore, FeatureView, Field, FileSource
from cinefeat.types import DType, Float64, Int64

LONG_TTL = timedelta(days=3650)  # effectively unlimited, but non-zero


@pytest.fixture
def pit_store(tmp_path: Path) -> Iterator[FeatureStore]:
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "cinefeat.yaml").write_text("project: t\n", encoding="utf-8")
    store = FeatureStore(repo)
    yield store
    store.close()


class ViewBackend:
    """Defines views and writes their rows, as a managed view or as a FileSource view.

    Rows are given as for `write_offline`: join key, features, `event_timestamp` and optionally
    `created_timestamp`. For a FileSource they are written to a new Parquet file in the view's
    directory, with the time columns renamed to `ts` and `created`.
    """

    def __init__(self, store: FeatureStore, kind: str, root: Path) -> None:
        self.store = store
        self.kind = kind
        self.root = root
        self._written: dict[str, int] = {}

    @property
    def managed(self) -> bool:
        return self.kind == "managed"

    def view(
        self,
        name: str,
        entity: Entity,
        *,
        key_dtype: DType = Int64,
        features: Sequence[str] = ("x",),
        dtype: DType = Float64,
        ttl: timedelta | None = LONG_TTL,
        created: bool = True,
    ) -> FeatureView:
        schema = [Field(key, key_dtype) for key in entity.join_keys]
        schema += [Field(feature, dtype) for feature in features]
        if self.managed:
            return FeatureView(name, [entity], schema, ttl=ttl)
        folder = self.root / "sources" / name
        folder.mkdir(parents=True)
        source = FileSource(
            str(folder),
            timestamp_field="ts",
            created_timestamp_column="created" if created else None,
        )
        return FeatureView(name, [entity], schema, source=source, ttl=ttl)

    def write(self, name: str, rows: pd.DataFrame | dict[str, list[object]]) -> None:
        frame = pd.DataFrame(rows) if isinstance(rows, dict) else rows
        if self.managed:
            self.store.write_offline(name, frame)
            return
        frame = frame.rename(columns={"event_timestamp": "ts", "created_timestamp": "created"})
        declared = self.store.get_feature_view(name).created_column
        if declared is not None and declared not in frame.columns:
            # Files must hold every column the view declares; rows without one carry nulls.
            frame = frame.assign(
                **{declared: pd.Series([None] * len(frame), dtype="datetime64[us, UTC]")}
            )
        count = self._written.get(name, 0)
        self._written[name] = count + 1
        path = self.root / "sources" / name / f"part-{count:04d}.parquet"
        pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


@pytest.fixture(params=["managed", "file"])
def backend(request: pytest.FixtureRequest, pit_store: FeatureStore, tmp_path: Path) -> ViewBackend:
    return ViewBackend(pit_store, request.param, tmp_path)
