"""FeatureStore: the one facade over registry, offline store, materialization and online store."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cinefeat.config import RepoConfig, load_config
from cinefeat.definitions import Entity, FeatureService, FeatureView, OnDemandFeatureView
from cinefeat.errors import FeatureNotFoundError
from cinefeat.materialize import MaterializationResult, Materializer
from cinefeat.offline import (
    DeltaOfflineStore,
    ReplaceResult,
    RetrievalJob,
    StagedFiles,
    WriteResult,
    read_quarantine,
    to_arrow_table,
)
from cinefeat.online import (
    OnlineCache,
    OnlineReader,
    OnlineResponse,
    OnlineStore,
    ReadPlan,
    create_online_store,
    read_plan,
)
from cinefeat.registry import (
    Definition,
    Registry,
    RegistryDiff,
    RegistrySnapshot,
    resolve_features,
)
from cinefeat.store._historical import historical_job
from cinefeat.store._push import PushTarget
from cinefeat.store._quality_hooks import (
    monitor_after,
    profiled_push,
    profiled_replace,
    profiled_write,
)
from cinefeat.timeutil import as_utc

if TYPE_CHECKING:  # polars-heavy; loaded when first used so `cinefeat apply` stays quick
    import polars as pl

    from cinefeat.sources import LoadResult
    from cinefeat.store._ingest import IngestReport

__all__ = ["FeatureStore"]

Features = Sequence[str] | FeatureService | str


class FeatureStore:
    """Open a repo (a directory with cinefeat.yaml) and use its features.

    >>> store = FeatureStore("my_repo")
    >>> store.apply([user, user_stats])
    >>> training = store.get_historical_features(entity_df, ["user_stats:rating_count"]).to_df()
    """

    def __init__(self, repo_path: str | Path = ".", config: RepoConfig | None = None) -> None:
        self.repo_path = Path(repo_path).resolve()
        self.config = config if config is not None else load_config(self.repo_path)
        self.registry = Registry(self.config.registry.url(self.repo_path), self.config.project)
        self.offline_store = DeltaOfflineStore(
            self.config.resolve(self.repo_path, self.config.offline_store.path)
        )
        self._online: OnlineStore | None = None
        self._reader: OnlineReader | None = None
        # Told (view, seconds) after each online store round trip (set before the first read).
        self.on_online_read: Callable[[str, float], None] | None = None
        cache = self.config.cache
        self.cache = OnlineCache(cache.max_entries, cache.ttl_seconds) if cache.enabled else None
        self._snapshot: RegistrySnapshot | None = None
        self._snapshot_checked = 0.0
        self._read_plans: dict[tuple[Any, ...], ReadPlan] = {}

    @property
    def project(self) -> str:
        return self.config.project

    def __repr__(self) -> str:
        return f"FeatureStore(repo_path={str(self.repo_path)!r}, project={self.project!r})"

    # -- registry -------------------------------------------------------------------------

    def _registry(self, fresh: bool = False) -> RegistrySnapshot:
        """The cached registry snapshot, re-read when another process changed the registry.
        Online reads check for changes at most every registry.cache_ttl_seconds; writes and
        offline work (`fresh=True`) check every time, which costs one small query."""
        now = time.monotonic()
        if self._snapshot is None:
            self.refresh_registry()
        elif fresh or now - self._snapshot_checked > self.config.registry.cache_ttl_seconds:
            self._snapshot_checked = now
            if self.registry.serial() != self._snapshot.serial:
                self.refresh_registry()
        assert self._snapshot is not None
        return self._snapshot

    def refresh_registry(self) -> None:
        self._snapshot = self.registry.snapshot()
        self._snapshot_checked = time.monotonic()
        self._read_plans.clear()

    def plan(self, objects: Iterable[Definition], *, prune: bool = False) -> RegistryDiff:
        """What `apply` would change (added, changed, removed; breaking changes marked)."""
        return self.registry.plan(objects, prune=prune)

    def apply(
        self, objects: Iterable[Definition] | Definition, *, prune: bool = False
    ) -> RegistryDiff:
        """Register definitions in one transaction. A breaking change to a view creates a new
        version with its own tables; `prune=True` also removes live objects not given."""
        if isinstance(objects, Entity | FeatureView | FeatureService | OnDemandFeatureView):
            objects = [objects]
        diff = self.registry.apply(list(objects), prune=prune)
        self.refresh_registry()
        if diff.has_changes:
            assert self._snapshot is not None
            live = [v for v in self._snapshot.feature_views.values() if v.online]
            # A removed view loses the online data of all its versions (the registry dropped
            # its watermarks in the same transaction as the view).
            removed = [
                version
                for change in diff.of("remove")
                if change.kind == "feature_view"
                for version in self.registry.list_feature_view_versions(change.name)
            ]
            self.online_store.update(removed, live)
            if self.cache is not None:
                self.cache.invalidate()
        return diff

    def list_entities(self) -> list[Entity]:
        return list(self._registry().entities.values())

    def get_entity(self, name: str) -> Entity:
        try:
            return self._registry().entities[name]
        except KeyError:
            raise FeatureNotFoundError(f"entity {name!r} is not in the registry") from None

    def list_feature_views(self) -> list[FeatureView]:
        return list(self._registry().feature_views.values())

    def get_feature_view(self, name: str, version: int | None = None) -> FeatureView:
        """The current version of a view, or `version` (earlier versions stay readable)."""
        view = self._registry().feature_views.get(name)
        if view is not None and version in (None, view.version):
            return view
        return self.registry.get_feature_view(name, version)

    def list_feature_view_versions(self, name: str) -> list[FeatureView]:
        return self.registry.list_feature_view_versions(name)

    def list_on_demand_feature_views(self) -> list[OnDemandFeatureView]:
        return list(self._registry().on_demand_views.values())

    def get_on_demand_feature_view(self, name: str) -> OnDemandFeatureView:
        try:
            return self._registry().on_demand_views[name]
        except KeyError:
            raise FeatureNotFoundError(f"on-demand view {name!r} is not in the registry") from None

    def list_feature_services(self) -> list[FeatureService]:
        return list(self._registry().feature_services.values())

    def get_feature_service(self, name: str) -> FeatureService:
        try:
            return self._registry().feature_services[name]
        except KeyError:
            raise FeatureNotFoundError(f"feature service {name!r} is not in the registry") from None

    def _view(self, view: FeatureView | str) -> FeatureView:
        if isinstance(view, FeatureView) and view.version is not None:
            return view
        name = view if isinstance(view, str) else view.name
        current = self._registry(fresh=True).feature_views.get(name)
        return current if current is not None else self.registry.get_feature_view(name)

    # -- offline --------------------------------------------------------------------------

    def write_offline(
        self, view: FeatureView | str, df: Any, *, skip_existing: bool = False
    ) -> WriteResult:
        """Append rows to a managed view's Delta table in one atomic commit. Rows must carry the
        join keys, every feature and the event timestamp (created timestamp optional); anything
        else is refused with every problem listed, and nothing is written. With
        `skip_existing`, rows whose join keys and event time are already stored are left out
        (`rows` of the result counts only the new ones): re-writing the same data is a no-op."""
        return profiled_write(self, self._view(view), to_arrow_table(df, "df"), skip_existing)

    def replace_offline(
        self,
        view: FeatureView | str,
        df: Any,
        in_slice: Callable[[pl.LazyFrame], pl.LazyFrame],
        staged: Sequence[StagedFiles] = (),
    ) -> ReplaceResult:
        """Replace a slice of a managed view's stored rows by `df`, in one atomic commit.

        `in_slice` gets a LazyFrame of the stored rows' identities (join keys and event
        timestamp) and returns those in the slice, e.g.
        `lambda ids: ids.filter(pl.col("event_timestamp") == day)`. Stored rows in the slice,
        or with the identity of a row of `df`, are removed; every row of `df` is stored; all
        other rows are kept. `df` is checked like `write_offline` (bad data writes nothing) and
        may not give one identity twice. Rerunning the same replacement leaves the same rows
        (they count as `updated`; rows without a created timestamp get the new write time).
        Without rows to write or stored rows to delete, nothing is committed. `staged` are
        data files of more rows, written ahead by `cinefeat.offline.stage_rows` (pipeline
        workers do this); they are committed with `df` (read again only when stored rows are
        replaced)."""
        rows = to_arrow_table(df, "df")
        return profiled_replace(self, self._view(view), rows, in_slice, staged)

    def read_offline(self, view: FeatureView | str, delta_version: int | None = None) -> Any:
        """All stored rows of a managed view (at a Delta version), as an Arrow table."""
        return self.offline_store.read(self._view(view), delta_version)

    def get_historical_features(
        self,
        entity_df: Any,
        features: Features,
        full_feature_names: bool = False,
        *,
        table_versions: Mapping[str, int | None] | None = None,
    ) -> RetrievalJob:
        """Point-in-time-correct feature values for each row of `entity_df` (pandas, Polars or
        Arrow, with join keys and an `event_timestamp` column). `table_versions` pins the Delta
        version read per view table (as recorded in a previous job's `.table_versions`)."""
        entity = to_arrow_table(entity_df, "entity_df")
        snapshot = self._registry(fresh=True)
        resolution = resolve_features(
            snapshot, self.registry.get_feature_view, features, full_feature_names
        )
        return historical_job(
            entity,
            resolution,
            snapshot,
            self.offline_store,
            self.repo_path,
            dict(table_versions or {}),
        )

    # -- materialization ------------------------------------------------------------------

    def materialize(
        self,
        start_date: datetime,
        end_date: datetime,
        feature_views: Sequence[str] | None = None,
        *,
        progress: bool = False,
    ) -> list[MaterializationResult]:
        """Load the latest row per entity with event time in [start_date, end_date] into the
        online store, for every online view (or those named); then the views that got rows
        are checked by monitoring (`quality.monitoring`)."""
        results = self._materializer().run(
            self._online_views(feature_views), as_utc(start_date), as_utc(end_date), progress
        )
        return self._monitored(results)

    def materialize_incremental(
        self,
        end_date: datetime,
        feature_views: Sequence[str] | None = None,
        *,
        progress: bool = False,
        monitor: bool = True,
    ) -> list[MaterializationResult]:
        """Materialize what arrived since each view's watermark, up to end_date. Running it
        again with nothing new reads nothing. Views that got rows are then checked by
        monitoring (unless `monitor=False`: a pipeline checks once, at its end)."""
        results = self._materializer().run(
            self._online_views(feature_views), None, as_utc(end_date), progress
        )
        return self._monitored(results) if monitor else results

    def _monitored(self, results: list[MaterializationResult]) -> list[MaterializationResult]:
        """`results`, after the monitoring check of the views that got rows."""
        written = [r.view for r in results if r.rows_written]
        monitor_after(self, written, context="materialize", trigger="materialize")
        return results

    def _materializer(self) -> Materializer:
        return Materializer(
            self.registry,
            self.offline_store,
            self.online_store,
            self.repo_path,
            on_written=self._invalidate,
        )

    def _invalidate(self, table: str) -> None:
        if self.cache is not None:
            self.cache.invalidate({table})

    def _online_views(self, names: Sequence[str] | None) -> list[FeatureView]:
        views = self._registry(fresh=True).feature_views
        if names is None:
            return [v for v in views.values() if v.online]
        return [self.get_feature_view(name) for name in names]

    # -- online ---------------------------------------------------------------------------

    @property
    def online_store(self) -> OnlineStore:
        if self._online is None:
            self._online = create_online_store(self.config.online_store, self.repo_path)
        return self._online

    def get_online_features(
        self,
        features: Features,
        entity_rows: Sequence[Mapping[str, Any]],
        full_feature_names: bool = False,
    ) -> OnlineResponse:
        """Latest feature values for each entity row, with event timestamps and statuses."""
        snapshot = self._registry()
        plan_key = (
            features if isinstance(features, str | FeatureService) else tuple(features),
            full_feature_names,
        )
        plan = self._read_plans.get(plan_key)
        if plan is None:
            resolution = resolve_features(
                snapshot, self.registry.get_feature_view, features, full_feature_names
            )
            plan = read_plan(snapshot, resolution)
            # Not if the registry was refreshed meanwhile: a plan of the old snapshot would stay.
            if self._snapshot is snapshot and len(self._read_plans) < 1024:
                self._read_plans[plan_key] = plan
        if self._reader is None:
            self._reader = OnlineReader(self.online_store, self.cache, self.on_online_read)
        return self._reader.read(plan, entity_rows)

    def push(self, feature_view: FeatureView | str, df: Any, to: PushTarget = "online") -> None:
        """Write fresh rows straight to the online store, the offline store, or both. Online, a
        row only replaces an entity's stored row if its event time is newer."""
        rows = to_arrow_table(df, "df")
        profiled_push(self, self._view(feature_view), rows, to)

    def ingest(self, result: LoadResult) -> IngestReport:
        """Write a loader's result into this repo: accepted movies to `tmdb_movies` (ratings to
        `rating_events`), quarantined records to the quarantine Delta table."""
        from cinefeat.store._ingest import ingest_load

        return ingest_load(self, result)

    def read_quarantine(self) -> Any:
        """Every quarantined record of every load (a pyarrow Table, or None before any)."""
        return read_quarantine(self.offline_store.root)

    def write_quarantine(self, records: Any) -> WriteResult:
        """Add quarantined records (a Polars frame in QUARANTINE_SCHEMA: kind, raw, reason,
        source, snapshot_ts) to the quarantine table, stamped with the time they were loaded;
        records already there are not added again (`rows` counts the new ones)."""
        from cinefeat.store._ingest import add_to_quarantine

        return add_to_quarantine(self, records)

    def get_cache_stats(self) -> dict[str, Any]:
        """hits, misses, hit_rate, evictions and size of the online read cache."""
        if self.cache is None:
            return {
                "enabled": False,
                "hits": 0,
                "misses": 0,
                "hit_rate": 0.0,
                "evictions": 0,
                "size": 0,
            }
        return {"enabled": True, **self.cache.stats().to_dict()}

    def teardown(self) -> None:
        """Delete the online store's data (offline Delta tables and the registry are kept).
        Watermarks go too, so the next incremental materialization loads everything again."""
        self.online_store.teardown()
        self.registry.clear_watermarks()
        if self.cache is not None:
            self.cache.invalidate()
        self._online = None
        self._reader = None

    def close(self) -> None:
        if self._online is not None:
            self._online.close()
        self.registry.close()

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
