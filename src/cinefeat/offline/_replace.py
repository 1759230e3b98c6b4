"""Replacing a slice of a managed view's stored rows in one Delta commit: what an incremental
pipeline does when it recomputes a snapshot, some users' windows, or a changed file's rows.

A row's identity is its join keys plus its event time. The slice to replace is the stored
identities a caller's `in_slice` selects, together with the identities of the new rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa
from deltalake import DeltaTable

from cinefeat.definitions import FeatureView
from cinefeat.errors import CinefeatError, SchemaMismatchError
from cinefeat.offline._conform import storage_schema

if TYPE_CHECKING:  # polars loads on first use, so `cinefeat apply` stays quick
    import polars as pl

__all__ = ["ReplacePlan", "ReplaceResult", "SliceSelector", "check_unique_identities", "plan"]

SliceSelector = Callable[["pl.LazyFrame"], "pl.LazyFrame"]

# Source-only column of the MERGE: True for an identity whose stored rows are to be deleted.
# It is never written (the insert leaves it out), so it cannot reach the table's schema.
DELETE = "__cf_delete"


@dataclass(frozen=True)
class ReplaceResult:
    """What one `replace_rows` / `replace_offline` changed."""

    view: str
    table: str
    inserted: int  # rows whose identity was not stored
    updated: int  # rows whose identity was stored (its stored row is replaced)
    deleted: int  # stored rows in the slice that no new row replaces
    delta_version: int | None  # the table's version after the call; None: it was never written


def _identity_columns(view: FeatureView) -> list[str]:
    return [*view.join_keys, view.event_timestamp_column]


def check_unique_identities(view: FeatureView, conformed: pa.Table) -> None:
    """Refuse rows that give one identity twice: which of them replaces the stored row would be
    arbitrary, and a rerun could not be relied on to leave the same table."""
    import polars as pl

    identity = _identity_columns(view)
    ids = _polars(conformed.select(identity))
    # Hashing first is several times faster than an exact check; only when two hashes agree
    # (a repeat, or rarely a collision) are the identities themselves compared.
    if ids.select(pl.struct(identity).hash().n_unique()).item() == ids.height:
        return
    repeated = ids.filter(pl.struct(identity).is_duplicated())
    if repeated.height == 0:
        return
    example = ", ".join(f"{c}={v}" for c, v in repeated.row(0, named=True).items())
    raise SchemaMismatchError(
        f"data does not match feature view {view.name!r}; nothing was written:\n"
        f"  - {repeated.height} rows share their join keys and event time (e.g. {example}); "
        "a replacement must give each key and event time at most once"
    )


@dataclass(frozen=True)
class ReplacePlan:
    """The identities whose stored rows go, worked out before anything is written."""

    doomed: pa.Table  # identities (unique) to delete: the slice's stored ones plus replaced ones
    updated: int  # how many of the new rows replace a stored identity

    @property
    def append_only(self) -> bool:
        """Nothing stored is touched, so a plain append (no MERGE) gives the same table."""
        return int(self.doomed.num_rows) == 0

    def execute(
        self, view: FeatureView, existing: DeltaTable, conformed: pa.Table
    ) -> ReplaceResult:
        """Delete the doomed identities' stored rows and insert `conformed`, in one MERGE
        (`existing` then is at the new version)."""
        source = _merge_source(conformed, self.doomed)
        stored = {f.name for f in existing.schema().fields}
        identity = self.doomed.column_names
        # Only flagged rows may match: a stored identity the new rows give again is deleted and
        # the new row inserted (rather than updated in place), so even an identity stored twice
        # (plain `write` allows that) ends up exactly once.
        # The flag goes first: with it last, delta-rs 1.6 took several times longer to MERGE.
        predicate = " AND ".join([f"s.`{DELETE}`", *(f"t.`{c}` = s.`{c}`" for c in identity)])
        metrics = (
            existing.merge(
                source,
                predicate,
                source_alias="s",
                target_alias="t",
                merge_schema=bool(set(conformed.schema.names) - stored),  # a field added later
                # The source is in memory: not streaming it lets delta-rs prune target files
                # by the source's key and time ranges, so only files of the slice are rewritten.
                streamed_exec=False,
            )
            .when_matched_delete()
            .when_not_matched_insert_all(f"NOT s.`{DELETE}`", except_cols=[DELETE])
            .execute()
        )
        removed = int(metrics["num_target_rows_deleted"])
        return ReplaceResult(
            view.name,
            view.table_name,
            inserted=conformed.num_rows - self.updated,
            updated=self.updated,
            deleted=removed - self.updated,
            delta_version=int(existing.version()),
        )


def plan(
    view: FeatureView, existing: DeltaTable | None, conformed: pa.Table, in_slice: SliceSelector
) -> ReplacePlan:
    """Read the stored identities (only those columns) and work out what the replacement
    deletes. The caller holds the store's lock, so the table cannot change in between."""
    import polars as pl

    identity = _identity_columns(view)
    if existing is None:  # no table yet: `in_slice` still runs, so its mistakes show at once
        empty = _polars(storage_schema(view).empty_table().select(identity)).lazy()
        _selected(view, in_slice(empty), empty.collect_schema()).collect()
        return ReplacePlan(pa.table({c: [] for c in identity}), 0)
    stored = pl.scan_delta(existing).select(identity)
    dtypes = stored.collect_schema()
    selected = _selected(view, in_slice(stored), dtypes)
    new = _polars(conformed.select(identity))
    if new.height:
        # The event-time range lets the scan skip files (Parquet statistics) of other times.
        times = new.get_column(view.event_timestamp_column)
        window = stored.filter(
            pl.col(view.event_timestamp_column).is_between(times.min(), times.max())
        )
        replaced = new.lazy().join(window, on=identity, how="semi")
    else:
        replaced = new.lazy()
    chosen, hits = pl.collect_all([selected, replaced])
    # Each identity once: one flagged source row deletes every stored row that carries it.
    doomed = pl.concat([chosen, hits]).unique()
    return ReplacePlan(doomed.to_arrow(compat_level=pl.CompatLevel.oldest()), hits.height)


def _selected(view: FeatureView, chosen: object, dtypes: pl.Schema) -> pl.LazyFrame:
    import polars as pl

    if isinstance(chosen, pl.DataFrame):
        chosen = chosen.lazy()
    if not isinstance(chosen, pl.LazyFrame):
        raise CinefeatError(
            f"replacing rows of feature view {view.name!r}: in_slice must return a Polars "
            f"LazyFrame of the stored identities it selects, got {type(chosen).__name__}"
        )
    missing = [c for c in dtypes if c not in chosen.collect_schema()]
    if missing:
        raise CinefeatError(
            f"replacing rows of feature view {view.name!r}: the frame in_slice returned lacks "
            f"the identity column(s) {missing}; return a subset of the rows it was given"
        )
    # Joins and filters may leave repeats or wider types; the MERGE wants each identity once.
    return chosen.select(pl.col(c).cast(t) for c, t in dtypes.items()).unique()


def _merge_source(conformed: pa.Table, doomed: pa.Table) -> pa.Table:
    """The new rows (not flagged) followed by the doomed identities (flagged, other columns
    null): one table with the storage schema plus the flag."""
    flag = pa.field(DELETE, pa.bool_(), nullable=False)
    new = conformed.append_column(flag, pa.repeat(pa.scalar(False), conformed.num_rows))
    columns = [
        doomed.column(f.name).cast(f.type)
        if f.name in doomed.column_names
        else pa.nulls(doomed.num_rows, f.type)
        for f in conformed.schema
    ]
    columns.append(pa.repeat(pa.scalar(True), doomed.num_rows))
    return pa.concat_tables([new, pa.Table.from_arrays(columns, schema=new.schema)])


def _polars(table: pa.Table) -> pl.DataFrame:
    import polars as pl

    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)  # a Table always converts to a DataFrame
    return frame
