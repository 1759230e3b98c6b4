"""Property test: `get_historical_features` against a brute-force oracle of the PIT semantics.

Feature rows use few keys and a coarse time grid so equal event times, equal created times and
ttl boundaries all happen. Every feature row has a distinct value, so the oracle can name the
rows allowed to win: when (key, event time, created time) are all tied any of them may.

Oracle, for each entity row (literally the semantics of DESIGN.md):
  candidates = rows with the same key, ts <= entity_ts, and (ttl == 0 or ts >= entity_ts - ttl)
  winners    = the candidates with the greatest (ts, created)
  answer     = None if there are no candidates, else one of the winners' values

A managed view fills a missing (or null) created timestamp with the write time, so the oracle
models it as later than any explicit created time and increasing with each write.

One store per test function; each example applies a fresh view (hypothesis examples do not mix
with function-scoped fixtures, so the examples run inside the test function).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
from hypothesis import given, settings
from hypothesis import strategies as st

from cinefeat import Entity, FeatureStore, FeatureView, Field, FileSource
from cinefeat.types import Float64, Int64

T0 = datetime(2024, 3, 1, tzinfo=UTC)
UNIT = timedelta(minutes=30)  # the time grid of feature rows, entity rows and ttls
USER = Entity("user", ["user_id"])
KEYS = [1, 2, 3]
ENTITY_KEYS = [1, 2, 3, 4]  # 4 never has feature rows


@dataclass(frozen=True)
class Row:
    key: int
    ts: int  # grid units after T0
    created: tuple[int, int]  # (0, minutes) explicit; (1, write number) filled at write time
    value: float


def at_unit(units: int) -> datetime:
    return T0 + units * UNIT


def oracle(
    rows: list[Row], entities: list[tuple[int, int]], ttl_units: int
) -> list[set[float | None]]:
    answers: list[set[float | None]] = []
    for key, ets in entities:
        candidates = [
            r
            for r in rows
            if r.key == key and r.ts <= ets and (ttl_units == 0 or r.ts >= ets - ttl_units)
        ]
        if not candidates:
            answers.append({None})
            continue
        best = max((r.ts, r.created) for r in candidates)
        answers.append({r.value for r in candidates if (r.ts, r.created) == best})
    return answers


def make_store(path: Path) -> FeatureStore:
    path.mkdir(parents=True, exist_ok=True)
    (path / "cinefeat.yaml").write_text("project: t\n", encoding="utf-8")
    return FeatureStore(path)


# -- strategies -----------------------------------------------------------------------------

# (key, event ts unit, created minutes or None); None means "not given" (filled at write time)
feature_rows = st.lists(
    st.tuples(
        st.sampled_from(KEYS),
        st.integers(0, 12),
        st.one_of(st.none(), st.integers(0, 2)),
    ),
    min_size=0,
    max_size=8,
)
batches = st.lists(
    st.tuples(feature_rows, st.booleans()),  # (rows, whether the created column is present)
    min_size=1,
    max_size=3,
)
entity_rows = st.lists(
    st.tuples(st.sampled_from(ENTITY_KEYS), st.integers(-1, 15)), min_size=1, max_size=10
)
ttls = st.sampled_from([0, 1, 2, 3, 6, 100])  # in grid units; 0 means no limit
frame_kinds = st.sampled_from(["pandas", "polars", "arrow"])


def entity_frame(entities: list[tuple[int, int]], kind: str, naive: bool) -> Any:
    times = [at_unit(u) for _, u in entities]
    if naive:
        times = [t.replace(tzinfo=None) for t in times]
    data = {
        "user_id": [k for k, _ in entities],
        "event_timestamp": times,
        "label": [f"row{i}" for i in range(len(entities))],
    }
    frame = pd.DataFrame(data)
    if kind == "polars":
        return pl.from_pandas(frame)
    if kind == "arrow":
        return pa.Table.from_pandas(frame, preserve_index=False)
    return frame


def write_managed(
    store: FeatureStore, name: str, generated: list[tuple[list[Any], bool]]
) -> list[Row]:
    """Write each batch with write_offline; return the rows as the oracle sees them."""
    rows: list[Row] = []
    value = itertools.count()
    for write_number, (batch, with_created) in enumerate(generated):
        batch_rows = []
        for key, ts, created in batch:
            explicit = with_created and created is not None
            effective = (0, created) if explicit else (1, write_number)
            batch_rows.append(Row(key, ts, effective, float(next(value))))
        frame: dict[str, list[Any]] = {
            "user_id": [r.key for r in batch_rows],
            "x": [r.value for r in batch_rows],
            "event_timestamp": [at_unit(r.ts) for r in batch_rows],
        }
        if with_created:
            frame["created_timestamp"] = [
                T0 + timedelta(minutes=c) if c is not None else None for _, _, c in batch
            ]
        table = pa.table(
            {
                "user_id": pa.array(frame["user_id"], pa.int64()),
                "x": pa.array(frame["x"], pa.float64()),
                **{
                    k: pa.array(v, pa.timestamp("us", tz="UTC"))
                    for k, v in frame.items()
                    if k.endswith("timestamp")
                },
            }
        )
        store.write_offline(name, table)
        rows.extend(batch_rows)
    return rows


def check(job: Any, entities: list[tuple[int, int]], expected: list[set[Any]], col: str) -> None:
    result = job.to_arrow()
    assert result.num_rows == len(entities)
    assert result.column("label").to_pylist() == [f"row{i}" for i in range(len(entities))]
    assert result.column("user_id").to_pylist() == [k for k, _ in entities]
    got = result.column(col).to_pylist()
    for i, (value, allowed) in enumerate(zip(got, expected, strict=True)):
        assert value in allowed, (i, entities[i], value, allowed)


# -- properties -----------------------------------------------------------------------------


def test_managed_view_matches_oracle(tmp_path: Path) -> None:
    store = make_store(tmp_path / "repo")
    names = (f"v{i}" for i in itertools.count())

    @settings(max_examples=80, deadline=None)
    @given(
        generated=batches,
        entities=entity_rows,
        ttl=ttls,
        kind=frame_kinds,
        naive=st.booleans(),
    )
    def run(
        generated: list[tuple[list[Any], bool]],
        entities: list[tuple[int, int]],
        ttl: int,
        kind: str,
        naive: bool,
    ) -> None:
        name = next(names)
        view = FeatureView(
            name, [USER], [Field("user_id", Int64), Field("x", Float64)], ttl=ttl * UNIT
        )
        store.apply([USER, view])
        rows = write_managed(store, name, generated)
        job = store.get_historical_features(
            entity_frame(entities, kind, naive), [f"{name}:x"], full_feature_names=True
        )
        check(job, entities, oracle(rows, entities, ttl), f"{name}__x")

    try:
        run()
    finally:
        store.close()


def test_file_source_view_matches_oracle(tmp_path: Path) -> None:
    store = make_store(tmp_path / "repo")
    names = (f"f{i}" for i in itertools.count())

    @settings(max_examples=60, deadline=None)
    @given(
        files=st.lists(
            st.lists(
                st.tuples(st.sampled_from(KEYS), st.integers(0, 12), st.integers(0, 2)),
                min_size=1,
                max_size=8,
            ),
            min_size=1,
            max_size=3,
        ),
        with_created=st.booleans(),
        entities=entity_rows,
        ttl=ttls,
        kind=frame_kinds,
        naive=st.booleans(),
    )
    def run(
        files: list[list[tuple[int, int, int]]],
        with_created: bool,
        entities: list[tuple[int, int]],
        ttl: int,
        kind: str,
        naive: bool,
    ) -> None:
        name = next(names)
        folder = tmp_path / "sources" / name
        folder.mkdir(parents=True)
        rows: list[Row] = []
        value = itertools.count()
        for number, batch in enumerate(files):
            # Without a created column every row of a (key, ts) ties: any of them may win.
            batch_rows = [
                Row(k, ts, (0, c if with_created else 0), float(next(value))) for k, ts, c in batch
            ]
            table = {
                "user_id": pa.array([r.key for r in batch_rows], pa.int64()),
                "x": pa.array([r.value for r in batch_rows], pa.float64()),
                "ts": pa.array([at_unit(r.ts) for r in batch_rows], pa.timestamp("us", tz="UTC")),
            }
            if with_created:
                table["created"] = pa.array(
                    [T0 + timedelta(minutes=c) for *_, c in batch], pa.timestamp("us", tz="UTC")
                )
            pq.write_table(pa.table(table), folder / f"part-{number}.parquet")
            rows.extend(batch_rows)
        source = FileSource(
            str(folder),
            timestamp_field="ts",
            created_timestamp_column="created" if with_created else None,
        )
        view = FeatureView(
            name,
            [USER],
            [Field("user_id", Int64), Field("x", Float64)],
            source=source,
            ttl=ttl * UNIT,
        )
        store.apply([USER, view])
        job = store.get_historical_features(
            entity_frame(entities, kind, naive), [f"{name}:x"], full_feature_names=True
        )
        check(job, entities, oracle(rows, entities, ttl), f"{name}__x")

    try:
        run()
    finally:
        store.close()


def test_two_views_with_independent_ttls_match_oracle(tmp_path: Path) -> None:
    """Two managed views of the same entity in one call, each with its own ttl (0 included)."""
    store = make_store(tmp_path / "repo")
    names = (f"p{i}" for i in itertools.count())

    @settings(max_examples=40, deadline=None)
    @given(
        first=batches,
        second=batches,
        ttls=st.tuples(st.sampled_from([0, 1, 3]), st.sampled_from([0, 2, 6])),
        entities=entity_rows,
        kind=frame_kinds,
    )
    def run(
        first: list[tuple[list[Any], bool]],
        second: list[tuple[list[Any], bool]],
        ttls: tuple[int, int],
        entities: list[tuple[int, int]],
        kind: str,
    ) -> None:
        pair = next(names)
        views = [
            FeatureView(
                f"{pair}_{i}", [USER], [Field("user_id", Int64), Field("x", Float64)], ttl=t * UNIT
            )
            for i, t in enumerate(ttls)
        ]
        store.apply([USER, *views])
        rows = [
            write_managed(store, v.name, g) for v, g in zip(views, (first, second), strict=True)
        ]
        job = store.get_historical_features(
            entity_frame(entities, kind, naive=False),
            [f"{v.name}:x" for v in views],
            full_feature_names=True,
        )
        for view, view_rows, ttl in zip(views, rows, ttls, strict=True):
            check(job, entities, oracle(view_rows, entities, ttl), f"{view.name}__x")

    try:
        run()
    finally:
        store.close()
