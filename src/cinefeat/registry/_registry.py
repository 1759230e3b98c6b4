"""The registry: definitions, view versions and watermarks in SQL, changed only in transactions."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, inspect, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from cinefeat.definitions import Entity, FeatureService, FeatureView, OnDemandFeatureView
from cinefeat.errors import FeatureNotFoundError
from cinefeat.registry import _tables as t
from cinefeat.registry._diff import ObjectChange, RegistryDiff
from cinefeat.registry._engine import create_registry_engine
from cinefeat.registry._migrate import add_missing_columns, missing_columns
from cinefeat.registry._plan import Definition, Desired, State, by_kind, plan_changes
from cinefeat.registry._quality_records import QualityRecords
from cinefeat.registry._runs import PipelineRuns
from cinefeat.timeutil import from_micros, to_micros

__all__ = ["Registry", "RegistrySnapshot", "Watermark"]


def _dump(spec: dict[str, Any]) -> str:
    return json.dumps(spec, sort_keys=True)


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Watermark:
    """How far materialization got: every row up to `event_time` (and every Delta commit up to
    `delta_version`, for managed views) is in the online store."""

    event_time: datetime
    delta_version: int | None


@dataclass(frozen=True)
class RegistrySnapshot:
    """Everything live in a project, read in one transaction."""

    serial: int
    entities: dict[str, Entity] = field(default_factory=dict)
    feature_views: dict[str, FeatureView] = field(default_factory=dict)
    feature_services: dict[str, FeatureService] = field(default_factory=dict)
    on_demand_views: dict[str, OnDemandFeatureView] = field(default_factory=dict)


class Registry:
    """Definitions of one project, stored through SQLAlchemy (SQLite file or PostgreSQL URL)."""

    def __init__(self, url: str, project: str) -> None:
        self.url = url
        self.project = project
        self._writer = create_registry_engine(url, for_writes=True)
        self._reader = create_registry_engine(url, for_writes=False)
        self._create_tables()

    def _ready(self) -> bool:
        """Whether every table and this project's row exist (checked without the write lock,
        so opening a store never waits behind another process's apply). A registry made by an
        older cinefeat lacks the newer tables: they are added, the rest is left as it is."""
        try:
            inspector = inspect(self._reader)
            existing = set(inspector.get_table_names())
            if not set(t.metadata.tables) <= existing:
                return False
            if missing_columns(inspector):
                return False
            return self.serial_or_none() is not None
        except (OperationalError, ProgrammingError):  # no tables yet
            return False

    def serial_or_none(self) -> int | None:
        with self._reader.connect() as conn:
            value = conn.execute(
                select(t.projects.c.serial).where(t.projects.c.project == self.project)
            ).scalar()
        return None if value is None else int(value)

    def _create_tables(self) -> None:
        if self._ready():
            return
        # Two processes may create a fresh registry at once; the loser of the race retries.
        for attempt in range(5):
            try:
                with self._writer.begin() as conn:
                    t.metadata.create_all(conn)
                    add_missing_columns(conn)
                    exists = conn.execute(
                        select(t.projects.c.serial).where(t.projects.c.project == self.project)
                    ).first()
                    if exists is None:
                        conn.execute(
                            insert(t.projects).values(
                                project=self.project, serial=0, updated_at=_now()
                            )
                        )
                return
            except (IntegrityError, OperationalError, ProgrammingError):
                if attempt == 4:
                    raise
                time.sleep(0.05 * 2**attempt)

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()

    def pipeline_runs(self) -> PipelineRuns:
        """The project's pipeline runs, processed inputs and checkpoints (same engines)."""
        return PipelineRuns(self)

    def quality_records(self) -> QualityRecords:
        """The project's quality documents, monitoring series and experiment outcomes."""
        return QualityRecords(self)

    # -- reads ----------------------------------------------------------------------------

    def serial(self) -> int:
        """A number that changes whenever definitions change; cheap to poll."""
        value = self.serial_or_none()
        assert value is not None, "the project row is created when the registry is opened"
        return value

    def snapshot(self) -> RegistrySnapshot:
        with self._reader.connect() as conn:
            # The serial is read first: under READ COMMITTED (PostgreSQL) an apply may commit
            # between the queries, and then the snapshot must look older than it is (and be
            # refreshed), never newer.
            serial = conn.execute(
                select(t.projects.c.serial).where(t.projects.c.project == self.project)
            ).scalar_one()
            state = self._load(conn)
        entities = {n: Entity.from_spec(s) for n, s in state.entities.items()}
        views = {
            n: FeatureView.from_spec(state.versions[(n, v)], version=v)
            for n, v in state.views.items()
        }
        services = {n: FeatureService.from_spec(s) for n, s in state.services.items()}
        on_demand = {n: OnDemandFeatureView.from_spec(s) for n, s in state.on_demand.items()}
        return RegistrySnapshot(int(serial), entities, views, services, on_demand)

    def get_feature_view(self, name: str, version: int | None = None) -> FeatureView:
        """The current version of a live view, or any recorded version (also of removed views)."""
        with self._reader.connect() as conn:
            if version is None:
                version = conn.execute(
                    select(t.feature_views.c.current_version).where(
                        t.feature_views.c.project == self.project, t.feature_views.c.name == name
                    )
                ).scalar()
                if version is None:
                    raise FeatureNotFoundError(f"feature view {name!r} is not in the registry")
            spec = conn.execute(
                select(t.feature_view_versions.c.spec).where(
                    t.feature_view_versions.c.project == self.project,
                    t.feature_view_versions.c.name == name,
                    t.feature_view_versions.c.version == version,
                )
            ).scalar()
        if spec is None:
            raise FeatureNotFoundError(f"feature view {name!r} has no version v{version}")
        return FeatureView.from_spec(json.loads(spec), version=version)

    def list_feature_view_versions(self, name: str) -> list[FeatureView]:
        with self._reader.connect() as conn:
            rows = conn.execute(
                select(t.feature_view_versions.c.version, t.feature_view_versions.c.spec)
                .where(
                    t.feature_view_versions.c.project == self.project,
                    t.feature_view_versions.c.name == name,
                )
                .order_by(t.feature_view_versions.c.version)
            ).all()
        return [FeatureView.from_spec(json.loads(spec), version=v) for v, spec in rows]

    def _load(self, conn: Connection) -> State:
        p = self.project
        entities = {
            name: json.loads(spec)
            for name, spec in conn.execute(
                select(t.entities.c.name, t.entities.c.spec).where(t.entities.c.project == p)
            )
        }
        views = {
            name: int(version)
            for name, version in conn.execute(
                select(t.feature_views.c.name, t.feature_views.c.current_version).where(
                    t.feature_views.c.project == p
                )
            )
        }
        versions: dict[tuple[str, int], dict[str, Any]] = {}
        max_version: dict[str, int] = {}
        for name, version, spec in conn.execute(
            select(
                t.feature_view_versions.c.name,
                t.feature_view_versions.c.version,
                t.feature_view_versions.c.spec,
            ).where(t.feature_view_versions.c.project == p)
        ):
            versions[(name, int(version))] = json.loads(spec)
            max_version[name] = max(max_version.get(name, 0), int(version))
        services = self._specs(conn, t.feature_services)
        on_demand = self._specs(conn, t.on_demand_views)
        return State(entities, views, versions, max_version, services, on_demand)

    def _specs(self, conn: Connection, table: Any) -> dict[str, dict[str, Any]]:
        rows = conn.execute(
            select(table.c.name, table.c.spec).where(table.c.project == self.project)
        )
        return {name: json.loads(spec) for name, spec in rows}

    # -- plan and apply -------------------------------------------------------------------

    def plan(self, objects: Iterable[Definition], *, prune: bool = False) -> RegistryDiff:
        """What `apply(objects, prune=prune)` would do, without doing it."""
        desired = by_kind(objects)
        with self._reader.connect() as conn:
            state = self._load(conn)
        return plan_changes(state, desired, prune)

    def apply(self, objects: Iterable[Definition], *, prune: bool = False) -> RegistryDiff:
        """Add or update `objects` in one transaction; with `prune`, remove every live object
        not among them (what `cinefeat apply` does for a repo). Returns what changed."""
        desired = by_kind(objects)
        with self._writer.begin() as conn:
            # Bumping the serial first takes the write lock (SQLite) or the row lock
            # (PostgreSQL), so a concurrent apply waits and then plans against our result.
            conn.execute(
                update(t.projects)
                .where(t.projects.c.project == self.project)
                .values(serial=t.projects.c.serial + 1, updated_at=_now())
            )
            state = self._load(conn)
            diff = plan_changes(state, desired, prune)
            if diff.has_changes:
                self._write(conn, diff, desired)
            else:
                conn.rollback()
        return diff

    def _write(self, conn: Connection, diff: RegistryDiff, desired: Desired) -> None:
        p, now = self.project, _now()
        for change in diff.changes:
            if change.change == "unchanged":
                continue
            if change.kind == "entity":
                table, spec = t.entities, desired.entities.get(change.name)
            elif change.kind == "feature_service":
                table, spec = t.feature_services, desired.services.get(change.name)
            elif change.kind == "on_demand_feature_view":
                table, spec = t.on_demand_views, desired.on_demand.get(change.name)
            else:
                self._write_view(conn, change, desired.views.get(change.name))
                continue
            key = and_(table.c.project == p, table.c.name == change.name)
            if change.change == "remove":
                conn.execute(delete(table).where(key))
            elif change.change == "add":
                conn.execute(
                    insert(table).values(
                        project=p,
                        name=change.name,
                        spec=_dump(spec or {}),
                        created_at=now,
                        updated_at=now,
                    )
                )
            else:
                conn.execute(
                    update(table).where(key).values(spec=_dump(spec or {}), updated_at=now)
                )

    def _write_view(
        self, conn: Connection, change: ObjectChange, spec: dict[str, Any] | None
    ) -> None:
        p, now, name = self.project, _now(), change.name
        live = and_(t.feature_views.c.project == p, t.feature_views.c.name == name)
        if change.change == "remove":
            conn.execute(delete(t.feature_views).where(live))
            # Its online data is dropped too, so nothing of it counts as materialized.
            conn.execute(
                delete(t.watermarks).where(t.watermarks.c.project == p, t.watermarks.c.view == name)
            )
            return
        assert spec is not None and change.new_version is not None
        version = change.new_version
        existing = conn.execute(
            select(t.feature_view_versions.c.version).where(
                t.feature_view_versions.c.project == p,
                t.feature_view_versions.c.name == name,
                t.feature_view_versions.c.version == version,
            )
        ).first()
        if existing is None:
            conn.execute(
                insert(t.feature_view_versions).values(
                    project=p,
                    name=name,
                    version=version,
                    spec=_dump(spec),
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            conn.execute(
                update(t.feature_view_versions)
                .where(
                    t.feature_view_versions.c.project == p,
                    t.feature_view_versions.c.name == name,
                    t.feature_view_versions.c.version == version,
                )
                .values(spec=_dump(spec), updated_at=now)
            )
        if conn.execute(select(t.feature_views.c.name).where(live)).first() is None:
            conn.execute(
                insert(t.feature_views).values(
                    project=p, name=name, current_version=version, created_at=now, updated_at=now
                )
            )
        else:
            conn.execute(
                update(t.feature_views).where(live).values(current_version=version, updated_at=now)
            )

    # -- watermarks -----------------------------------------------------------------------

    def get_watermark(self, view: str, version: int) -> Watermark | None:
        with self._reader.connect() as conn:
            row = conn.execute(
                select(t.watermarks.c.watermark_us, t.watermarks.c.delta_version).where(
                    t.watermarks.c.project == self.project,
                    t.watermarks.c.view == view,
                    t.watermarks.c.version == version,
                )
            ).first()
        if row is None:
            return None
        return Watermark(from_micros(int(row[0])), None if row[1] is None else int(row[1]))

    def clear_watermarks(self) -> None:
        """Forget all materialization progress (the online store was emptied)."""
        with self._writer.begin() as conn:
            conn.execute(delete(t.watermarks).where(t.watermarks.c.project == self.project))

    def set_watermark(self, view: str, version: int, watermark: Watermark) -> None:
        micros = to_micros(watermark.event_time)
        key = and_(
            t.watermarks.c.project == self.project,
            t.watermarks.c.view == view,
            t.watermarks.c.version == version,
        )
        values = {"watermark_us": micros, "delta_version": watermark.delta_version}
        with self._writer.begin() as conn:
            if (
                conn.execute(
                    update(t.watermarks).where(key).values(**values, updated_at=_now())
                ).rowcount
                == 0
            ):
                conn.execute(
                    insert(t.watermarks).values(
                        project=self.project,
                        view=view,
                        version=version,
                        updated_at=_now(),
                        **values,
                    )
                )
