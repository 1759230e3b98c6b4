"""What the store does for feature quality around its writes: profile what each offline
commit writes (stored once the commit stands), and run the monitoring checks after pipeline
runs and materializations. Failures here are logged, never raised: the data is committed."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from cinefeat.definitions import FeatureView
from cinefeat.offline import ReplaceResult, StagedFiles, WriteResult
from cinefeat.store._push import PushTarget, push_rows

if TYPE_CHECKING:
    import polars as pl

    from cinefeat.store._store import FeatureStore

__all__ = [
    "monitor_after",
    "profile_files",
    "profile_rows",
    "profiled_push",
    "profiled_replace",
    "profiled_write",
    "store_profile",
]

log = logging.getLogger("cinefeat.quality")


def profile_rows(
    store: FeatureStore, view: FeatureView, rows: pa.Table, staged: Sequence[StagedFiles] = ()
) -> Any:
    """The profile (a cinefeat.quality.FrameProfile) of `rows` and the `staged` data files
    about to be committed with them; None when profiling is off or there is nothing to
    profile; the exception when profiling failed (reported by `store_profile` only if the
    commit then succeeds: rows a write refuses often cannot be profiled either). Computed
    before the commit: a replacement may delete staged files it reads back."""
    settings = store.config.quality
    if not settings.profile_on_write:
        return None
    import polars as pl

    parts: list[pl.LazyFrame] = []
    if rows.num_rows:
        frame = pl.from_arrow(rows)
        assert isinstance(frame, pl.DataFrame)
        parts.append(frame.lazy())
    paths = [path for files in staged for path in files.paths(store.offline_store.root)]
    if paths:
        parts.append(pl.scan_parquet(paths))
    if not parts:
        return None
    try:
        from cinefeat.quality import profile_written_rows

        return profile_written_rows(
            view,
            pl.concat(parts, how="diagonal_relaxed"),
            sample_rows=settings.profile_sample_rows,
        )
    except Exception as exc:  # the write goes ahead without a profile
        return exc


def profile_files(store: FeatureStore, view: FeatureView, files: Sequence[str]) -> Any:
    """The profile of the rows in data `files` a commit added (as `profile_rows` returns it)."""
    if not store.config.quality.profile_on_write or not files:
        return None
    try:
        import polars as pl

        from cinefeat.quality import profile_written_rows

        paths = [f.removeprefix("file://") for f in files]
        return profile_written_rows(
            view,
            pl.scan_parquet(paths),
            sample_rows=store.config.quality.profile_sample_rows,
        )
    except Exception as exc:  # reported by store_profile, as in profile_rows
        return exc


def store_profile(
    store: FeatureStore,
    view: FeatureView,
    profile: Any,
    delta_version: int | None,
    operation: str,
) -> None:
    """Keep `profile` in the registry as that of the commit that made `delta_version`."""
    if profile is None or delta_version is None:
        return
    if isinstance(profile, Exception):
        log.warning("could not profile the rows written to %s", view.table_name, exc_info=profile)
        return
    try:
        from cinefeat.quality import store_write_profile

        store_write_profile(
            store.registry.quality_records(),
            view,
            profile,
            delta_version=delta_version,
            operation=operation,
        )
    except Exception:  # the commit stands; a missing profile is logged, not an error
        log.warning(
            "could not store the profile of %s Delta version %s",
            view.table_name,
            delta_version,
            exc_info=True,
        )


def monitor_after(store: FeatureStore, views: Sequence[str], *, context: str, trigger: str) -> None:
    """Run the monitoring checks on `views` after a pipeline run or a materialization
    (`trigger`: "pipeline" or "materialize"), as `quality.monitoring` configures."""
    settings = store.config.quality.monitoring
    wanted = settings.after_pipeline if trigger == "pipeline" else settings.after_materialize
    names = sorted(set(views))
    if not settings.enabled or not wanted or not names:
        return
    try:
        from cinefeat.quality import monitor_views

        report = monitor_views(store, names, context=context)
    except Exception:  # the run or materialization stands; the check is logged as missing
        log.warning("monitoring after %s %s failed", trigger, context, exc_info=True)
        return
    for alert in report.alerts:
        log.warning("alert %s: %s %s: %s", alert.status, alert.view, alert.rule, alert.message)


def profiled_write(
    store: FeatureStore, view: FeatureView, rows: pa.Table, skip_existing: bool
) -> WriteResult:
    """`offline_store.write`, with the profile of what it wrote stored for its commit."""
    offline = store.offline_store
    if not skip_existing:
        profile = profile_rows(store, view, rows)
        result = offline.write(view, rows, skip_existing)
    else:  # only the new rows are written: profile the files the commit added
        before = set(offline.snapshot(view).files)
        result = offline.write(view, rows, skip_existing)
        added = [f for f in offline.snapshot(view).files if f not in before]
        profile = profile_files(store, view, added) if result.rows else None
    if result.rows:
        store_profile(store, view, profile, result.delta_version, "write")
    return result


def profiled_replace(
    store: FeatureStore,
    view: FeatureView,
    rows: pa.Table,
    in_slice: Callable[[pl.LazyFrame], pl.LazyFrame],
    staged: Sequence[StagedFiles],
) -> ReplaceResult:
    """`offline_store.replace_rows`, with the profile of the rows it wrote (`rows` and the
    staged files, profiled before the commit) stored for its commit."""
    profile = profile_rows(store, view, rows, staged)
    result = store.offline_store.replace_rows(view, rows, in_slice, staged)
    if result.inserted or result.updated:
        store_profile(store, view, profile, result.delta_version, "replace")
    return result


def profiled_push(store: FeatureStore, view: FeatureView, rows: pa.Table, to: PushTarget) -> None:
    """`push_rows`, with the profile of what it committed offline stored for its commit."""
    profile = profile_rows(store, view, rows) if to != "online" else None
    written = push_rows(
        view,
        rows,
        to,
        offline=store.offline_store,
        online=store.online_store,
        on_written=store._invalidate,
    )
    if written is not None and written.rows:
        store_profile(store, view, profile, written.delta_version, "push")
