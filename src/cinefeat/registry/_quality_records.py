"""Feature-quality bookkeeping in the registry: JSON documents (profiles, importance results,
experiments, alerts), monitoring time series and online-experiment outcomes."""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import and_, bindparam, case, delete, func, insert, select

from cinefeat.registry import _tables as t
from cinefeat.timeutil import as_utc, from_micros, to_micros

if TYPE_CHECKING:
    from cinefeat.registry._registry import Registry

__all__ = ["ExperimentOutcome", "MonitorPoint", "QualityRecords", "StoredDocument"]


@dataclass(frozen=True)
class StoredDocument:
    """One quality artefact: what it is (`kind`), what it is about (`subject`), its key among
    that subject's documents, when it was written and its JSON body."""

    kind: str
    subject: str
    key: str
    created_at: datetime
    body: dict[str, Any]


@dataclass(frozen=True)
class MonitorPoint:
    """One monitored value: `metric` of `view` (of one `feature`, or "" for the whole view) at
    time `at`. `context` says what produced it (a pipeline run id, "materialize", ...)."""

    view: str
    feature: str
    metric: str
    at: datetime
    value: float
    context: str = ""


@dataclass(frozen=True)
class ExperimentOutcome:
    """One observed outcome of an online experiment: the metric `value` for `entity_key`, which
    was served by `arm`, at event time `at` (the caller's), recorded at `recorded_at` (the
    registry writer's clock; None for outcomes stored before recording times were kept)."""

    outcome_id: str
    arm: str
    entity_key: str
    value: float
    at: datetime
    recorded_at: datetime | None = None


# Outcome ids sort in arrival order, with no column for it (an existing registry's table stays
# as it is): "r", the recording time in epoch microseconds (16 hex digits), a random token of
# the batch (8) and the row's place in the batch (8). Ids written before were 16 random hex
# digits, which never start with "r".
_ARRIVAL_PREFIX = "r"
_ARRIVAL_ID_LENGTH = 33


def _arrival_ids(count: int) -> list[str]:
    batch = f"{_ARRIVAL_PREFIX}{to_micros(_now()):016x}{secrets.token_hex(4)}"
    return [f"{batch}{i:08x}" for i in range(count)]


def _recorded_at(outcome_id: str) -> datetime | None:
    if len(outcome_id) != _ARRIVAL_ID_LENGTH or not outcome_id.startswith(_ARRIVAL_PREFIX):
        return None
    return from_micros(int(outcome_id[1:17], 16))


def _now() -> datetime:
    return datetime.now(UTC)


class QualityRecords:
    """Quality documents, monitoring points and experiment outcomes of one registry project.

    Every call is one transaction; a document written again under the same key replaces the
    old one atomically.
    """

    def __init__(self, registry: Registry) -> None:
        self.project = registry.project
        self._writer = registry._writer
        self._reader = registry._reader

    # -- documents ------------------------------------------------------------------------

    def put_document(
        self,
        kind: str,
        subject: str,
        key: str,
        body: dict[str, Any],
        created_at: datetime | None = None,
        label: str | None = None,
    ) -> StoredDocument:
        """Store `body` (JSON; NaN and infinities are refused) under (kind, subject, key), with
        an optional `label` that `list_documents` can filter on."""
        return self.put_documents([(kind, subject, key, body, created_at, label)])[0]

    def put_documents(
        self,
        documents: Sequence[tuple[str, str, str, dict[str, Any], datetime | None, str | None]],
    ) -> list[StoredDocument]:
        """Store several (kind, subject, key, body, created_at, label) documents in one
        transaction: all of them or none."""
        rows = []
        for kind, subject, key, body, created_at, label in documents:
            created = as_utc(created_at) if created_at is not None else _now()
            text = json.dumps(body, sort_keys=True, allow_nan=False)
            rows.append((kind, subject, key, created, text, label))
        docs = t.quality_documents
        with self._writer.begin() as conn:
            for kind, subject, key, created, text, label in rows:
                conn.execute(
                    delete(docs).where(
                        docs.c.project == self.project,
                        docs.c.kind == kind,
                        docs.c.subject == subject,
                        docs.c.key == key,
                    )
                )
                conn.execute(
                    insert(docs).values(
                        project=self.project,
                        kind=kind,
                        subject=subject,
                        key=key,
                        created_at=created,
                        body=text,
                        label=label,
                    )
                )
        return [
            StoredDocument(kind, subject, key, created, json.loads(text))
            for kind, subject, key, created, text, _ in rows
        ]

    def get_document(self, kind: str, subject: str, key: str) -> StoredDocument | None:
        docs = t.quality_documents
        with self._reader.connect() as conn:
            row = conn.execute(
                select(docs).where(
                    docs.c.project == self.project,
                    docs.c.kind == kind,
                    docs.c.subject == subject,
                    docs.c.key == key,
                )
            ).first()
        return None if row is None else _document(row)

    def list_documents(
        self,
        kind: str,
        subject: str | None = None,
        *,
        since: datetime | None = None,
        limit: int | None = None,
        newest_first: bool = True,
        label: str | None = None,
    ) -> list[StoredDocument]:
        """Documents of `kind` (about `subject`, written at or after `since`, with `label`), by
        time."""
        docs = t.quality_documents
        query = select(docs).where(docs.c.project == self.project, docs.c.kind == kind)
        if subject is not None:
            query = query.where(docs.c.subject == subject)
        if label is not None:
            query = query.where(docs.c.label == label)
        if since is not None:
            query = query.where(docs.c.created_at >= as_utc(since))
        order = docs.c.created_at.desc() if newest_first else docs.c.created_at.asc()
        query = query.order_by(order, docs.c.key.desc() if newest_first else docs.c.key)
        if limit is not None:
            query = query.limit(limit)
        with self._reader.connect() as conn:
            return [_document(row) for row in conn.execute(query)]

    def delete_documents(self, kind: str, subject: str, key: str | None = None) -> int:
        """Remove one document (or all of a subject's, with no key); returns how many."""
        docs = t.quality_documents
        where = [docs.c.project == self.project, docs.c.kind == kind, docs.c.subject == subject]
        if key is not None:
            where.append(docs.c.key == key)
        with self._writer.begin() as conn:
            return int(conn.execute(delete(docs).where(*where)).rowcount)

    # -- monitoring time series -------------------------------------------------------------

    def add_points(self, points: Iterable[MonitorPoint]) -> int:
        """Record monitoring points (a point at the same view/feature/metric/time replaces the
        earlier one). Non-finite values are refused: they cannot be charted or compared."""
        rows = []
        for point in points:
            if not math.isfinite(point.value):
                raise ValueError(
                    f"monitor point {point.view}.{point.feature or '*'} {point.metric}: "
                    f"value must be finite, got {point.value}"
                )
            rows.append(
                {
                    "project": self.project,
                    "view": point.view,
                    "feature": point.feature,
                    "metric": point.metric,
                    "at_us": to_micros(point.at),
                    "value": float(point.value),
                    "context": point.context,
                }
            )
        if not rows:
            return 0
        mp = t.monitor_points
        same_point = delete(mp).where(
            mp.c.project == bindparam("project"),
            mp.c.view == bindparam("view"),
            mp.c.feature == bindparam("feature"),
            mp.c.metric == bindparam("metric"),
            mp.c.at_us == bindparam("at_us"),
        )
        with self._writer.begin() as conn:
            conn.execute(same_point, rows)  # one executemany, not a DELETE per point
            conn.execute(insert(mp), rows)
        return len(rows)

    def points(
        self,
        view: str | None = None,
        *,
        metric: str | None = None,
        feature: str | None = None,
        since: datetime | None = None,
    ) -> list[MonitorPoint]:
        """Monitoring points, oldest first, filtered by whatever is given."""
        mp = t.monitor_points
        query = select(mp).where(mp.c.project == self.project)
        if view is not None:
            query = query.where(mp.c.view == view)
        if metric is not None:
            query = query.where(mp.c.metric == metric)
        if feature is not None:
            query = query.where(mp.c.feature == feature)
        if since is not None:
            query = query.where(mp.c.at_us >= to_micros(since))
        query = query.order_by(mp.c.at_us, mp.c.view, mp.c.feature, mp.c.metric)
        with self._reader.connect() as conn:
            return [_point(row) for row in conn.execute(query)]

    def latest_points(self, view: str | None = None) -> list[MonitorPoint]:
        """The newest point of every (view, feature, metric): what /metrics exports."""
        mp = t.monitor_points
        where = [mp.c.project == self.project]
        if view is not None:
            where.append(mp.c.view == view)
        newest = (
            select(mp.c.view, mp.c.feature, mp.c.metric, func.max(mp.c.at_us).label("at_us"))
            .where(*where)
            .group_by(mp.c.view, mp.c.feature, mp.c.metric)
            .subquery()
        )
        query = (
            select(mp)
            .join(
                newest,
                and_(
                    mp.c.view == newest.c.view,
                    mp.c.feature == newest.c.feature,
                    mp.c.metric == newest.c.metric,
                    mp.c.at_us == newest.c.at_us,
                ),
            )
            .where(*where)
            .order_by(mp.c.view, mp.c.feature, mp.c.metric)
        )
        with self._reader.connect() as conn:
            return [_point(row) for row in conn.execute(query)]

    # -- online experiment outcomes ---------------------------------------------------------

    def add_outcomes(
        self,
        experiment_id: str,
        outcomes: Sequence[tuple[str, str, float, datetime]],
    ) -> list[str]:
        """Record (arm, entity_key, value, at) observations in one transaction; returns their
        fresh outcome ids, which sort in the order the outcomes were recorded."""
        rows = [
            {
                "project": self.project,
                "experiment_id": experiment_id,
                "arm": arm,
                "entity_key": entity_key,
                "value": float(value),
                "at_us": to_micros(at),
            }
            for arm, entity_key, value, at in outcomes
        ]
        if not rows:
            return []
        with self._writer.begin() as conn:
            # Stamped once the transaction holds the write lock (SQLite's BEGIN IMMEDIATE), so
            # writers' stamps follow their commit order.
            ids = _arrival_ids(len(rows))
            for row, outcome_id in zip(rows, ids, strict=True):
                row["outcome_id"] = outcome_id
            conn.execute(insert(t.experiment_outcomes), rows)
        return ids

    def outcomes(
        self, experiment_id: str, *, order: Literal["event", "arrival"] = "event"
    ) -> list[ExperimentOutcome]:
        """An experiment's outcomes, oldest first by event time (`order="event"`) or in the
        order they were recorded (`"arrival"`: what a client cannot rewrite by sending early
        times; outcomes stored before recording times were kept come first, by event time)."""
        eo = t.experiment_outcomes
        query = select(eo).where(eo.c.project == self.project, eo.c.experiment_id == experiment_id)
        if order == "event":
            query = query.order_by(eo.c.at_us, eo.c.outcome_id)
        else:
            legacy = eo.c.outcome_id.not_like(f"{_ARRIVAL_PREFIX}%")
            query = query.order_by(
                case((legacy, 0), else_=1), case((legacy, eo.c.at_us), else_=0), eo.c.outcome_id
            )
        with self._reader.connect() as conn:
            return [
                ExperimentOutcome(
                    row.outcome_id,
                    row.arm,
                    row.entity_key,
                    float(row.value),
                    from_micros(int(row.at_us)),
                    _recorded_at(row.outcome_id),
                )
                for row in conn.execute(query)
            ]


def _document(row: Any) -> StoredDocument:
    return StoredDocument(
        row.kind, row.subject, row.key, as_utc(row.created_at), json.loads(row.body)
    )


def _point(row: Any) -> MonitorPoint:
    return MonitorPoint(
        row.view,
        row.feature,
        row.metric,
        from_micros(int(row.at_us)),
        float(row.value),
        row.context,
    )
