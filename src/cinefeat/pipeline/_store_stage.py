"""FeatureStoreWriteStage: replace the slices of each feature view that this run recomputed, one
Delta commit per view (a rerun or a resumed run replaces them again, never duplicates), then
optionally materialize the new values into the online store."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import polars as pl
from pydantic import BaseModel, ConfigDict

from cinefeat.definitions import FeatureView
from cinefeat.offline import ReplaceResult
from cinefeat.pipeline._feature_stage import FEATURE_GROUPS, feature_dataset
from cinefeat.pipeline._stage import Stage, StageContext, StageReport, kill_point
from cinefeat.pipeline._validation_stage import validated_dataset
from cinefeat.registry import OutputRecord

__all__ = ["FeatureStoreWriteStage", "slice_filter"]

Slice = Callable[[pl.LazyFrame], pl.LazyFrame]
_WRITERS = 4  # views written at once


class FeatureStoreWriteParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    materialize: bool = False


def slice_filter(view: FeatureView, slices: list[dict[str, Any]]) -> Slice:
    """The stored identities a list of slice specs covers: {"stamps": [iso, ...]} (whole
    snapshots) or {"entities": parquet path, "since": iso} (those entities from a time on)."""
    ts = view.event_timestamp_column
    stamps = [datetime.fromisoformat(s) for spec in slices for s in spec.get("stamps", [])]
    ranges = [
        (pl.read_parquet(spec["entities"]), datetime.fromisoformat(spec["since"]))
        for spec in slices
        if "entities" in spec
    ]

    def select(ids: pl.LazyFrame) -> pl.LazyFrame:
        stamp_frame = pl.LazyFrame({ts: stamps}, schema={ts: pl.Datetime("us", "UTC")})
        parts = [ids.join(stamp_frame, on=ts, how="semi")]
        for entities, since in ranges:
            keys = list(view.join_keys)
            parts.append(ids.join(entities.lazy(), on=keys, how="semi").filter(pl.col(ts) >= since))
        return pl.concat(parts).unique()

    return select


class FeatureStoreWriteStage(Stage):
    reads = tuple(validated_dataset(g) for g in FEATURE_GROUPS) + tuple(
        feature_dataset(g) for g in FEATURE_GROUPS
    )
    writes = FEATURE_GROUPS
    Params = FeatureStoreWriteParams

    def run(self, context: StageContext) -> StageReport:
        store, datasets = context.store, context.datasets
        report = StageReport()
        wanted = [
            g
            for g in FEATURE_GROUPS
            if datasets.parts(validated_dataset(g)) or datasets.parts(feature_dataset(g))
        ]
        # Each view is its own Delta table: writing them side by side keeps both cores busy
        # (Parquet encoding of one table is mostly single-threaded). Views are resolved here,
        # so the threads never touch the registry.
        views = {group: store.get_feature_view(group) for group in wanted}
        with ThreadPoolExecutor(max_workers=_WRITERS) as writers:
            futures = [writers.submit(self._replace_view, context, views[g]) for g in wanted]
            results = [future.result() for future in futures]
        for group, (rows, result) in zip(wanted, results, strict=True):
            report.rows_read += rows
            report.rows_written += rows
            report.outputs.append(
                OutputRecord(group, views[group].version, result.table, result.delta_version, rows)
            )
        if self.params.materialize and wanted:  # type: ignore[attr-defined]
            materialized = store.materialize_incremental(
                datetime.now(UTC), list(wanted), monitor=False
            )
            report.messages += [
                f"materialized {r.view}: {r.rows_written:,} rows online" for r in materialized
            ]
        return report

    def _replace_view(self, context: StageContext, view: FeatureView) -> tuple[int, ReplaceResult]:
        """Replace this run's slices of one view: validated rows when a validation stage ran,
        else the features as computed."""
        datasets = context.datasets
        validated = validated_dataset(view.name)
        dataset = validated if datasets.parts(validated) else feature_dataset(view.name)
        slices = [datasets.meta(dataset, part).get("slice", {}) for part in datasets.parts(dataset)]
        scanned = datasets.scan(dataset)
        assert scanned is not None  # only views with parts are written
        rows = scanned.collect()  # one multi-file read: Polars reads the parts in parallel
        result = context.store.replace_offline(view, rows, slice_filter(view, slices))
        kill_point(f"{self.name}:{view.name}")
        return rows.height, result
