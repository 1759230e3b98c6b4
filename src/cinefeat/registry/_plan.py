"""Plan: what `apply` would change, and which changes break readers of a feature view.

A breaking change (a dtype change, a removed field, changed entities or time columns, a switch
between managed and file-backed data) makes a new version of the view with its own tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cinefeat.definitions import (
    Aggregation,
    Entity,
    FeatureService,
    FeatureView,
    OnDemandFeatureView,
)
from cinefeat.errors import DefinitionError
from cinefeat.registry._diff import ObjectChange, RegistryDiff

__all__ = ["Definition", "Desired", "State", "by_kind", "plan_changes", "view_change_reasons"]

Definition = Entity | FeatureView | FeatureService | OnDemandFeatureView


@dataclass
class State:
    """The rows an apply starts from (and, once planned, the rows it will write)."""

    entities: dict[str, dict[str, Any]]
    views: dict[str, int]  # live view -> current version
    versions: dict[tuple[str, int], dict[str, Any]]
    max_version: dict[str, int]
    services: dict[str, dict[str, Any]]
    on_demand: dict[str, dict[str, Any]]


def _fields(spec: Mapping[str, Any]) -> dict[str, str]:
    return {f["name"]: f["dtype"] for f in spec["schema"]}


def _entity_keys(spec: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    return [(e["name"], tuple(e["join_keys"])) for e in spec["entities"]]


def _time_columns(spec: Mapping[str, Any]) -> tuple[Any, ...]:
    source = spec.get("source")
    if source:
        return (source["timestamp_field"], source.get("created_timestamp_column"))
    return (spec.get("timestamp_field"), spec.get("created_timestamp_column"))


def _aggregated_outputs(spec: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """Each aggregation output -> what computes it (column, function, window, group value)."""
    outputs: dict[str, tuple[Any, ...]] = {}
    for aggregation in map(Aggregation.from_spec, spec.get("aggregations", [])):
        how = (aggregation.column, aggregation.function, aggregation.window_days)
        if aggregation.groups is None:
            outputs[aggregation.output] = how
            continue
        for (value, _), output in zip(aggregation.groups.items(), aggregation.outputs, strict=True):
            outputs[output] = (*how, aggregation.group_by, value)
    return outputs


def view_change_reasons(
    old: Mapping[str, Any], new: Mapping[str, Any]
) -> tuple[list[str], list[str]]:
    """Return (breaking reasons, other reasons) for a change of a view's spec."""
    breaking: list[str] = []
    other: list[str] = []
    old_fields, new_fields = _fields(old), _fields(new)
    for name, dtype in old_fields.items():
        if name not in new_fields:
            breaking.append(f"field {name!r} removed")
        elif new_fields[name] != dtype:
            breaking.append(f"field {name!r} dtype {dtype} -> {new_fields[name]}")
    for name in new_fields:
        if name not in old_fields:
            other.append(f"field {name!r} added")
    if _entity_keys(old) != _entity_keys(new):
        breaking.append(f"entities {_entity_keys(old)} -> {_entity_keys(new)}")
    if bool(old.get("source")) != bool(new.get("source")):
        breaking.append("switched between managed data and a FileSource")
    elif _time_columns(old) != _time_columns(new):
        # Event times decide which value every past training row saw: a different column is
        # different data, for a FileSource as much as for a managed view.
        breaking.append(f"time columns {_time_columns(old)} -> {_time_columns(new)}")
    elif old.get("source") != new.get("source"):
        other.append("source path changed")
    # Stored values of an aggregated field mean what its aggregation computed: a new window,
    # function or column (or a field that starts or stops being aggregated) is different data.
    old_aggregated, new_aggregated = _aggregated_outputs(old), _aggregated_outputs(new)
    for name in sorted(set(old_fields) & set(new_fields)):
        if old_aggregated.get(name) != new_aggregated.get(name):
            breaking.append(f"field {name!r} is computed differently by its aggregation")
    for key in ("ttl_seconds", "online", "description", "tags", "owner", "aggregations", "rules"):
        default: list[Any] | None = [] if key in ("aggregations", "rules") else None
        if old.get(key, default) != new.get(key, default):
            other.append(f"{key} changed")
    old_schema = {f["name"]: f for f in old["schema"]}
    for spec in new["schema"]:
        previous = old_schema.get(spec["name"])
        if previous and previous["dtype"] == spec["dtype"] and previous != spec:
            same_but_rules = {**previous, "rules": None} == {**spec, "rules": None}
            other.append(
                f"field {spec['name']!r} {'rules' if same_but_rules else 'metadata'} changed"
            )
    if old["entities"] != new["entities"] and _entity_keys(old) == _entity_keys(new):
        other.append("entity metadata changed")
    return breaking, other


@dataclass
class Desired:
    entities: dict[str, dict[str, Any]]
    views: dict[str, dict[str, Any]]
    services: dict[str, dict[str, Any]]
    on_demand: dict[str, dict[str, Any]]


def by_kind(objects: Iterable[Definition]) -> Desired:
    desired = Desired({}, {}, {}, {})
    for obj in objects:
        bucket: dict[str, dict[str, Any]]
        if isinstance(obj, Entity):
            bucket, kind = desired.entities, "Entity"
        elif isinstance(obj, FeatureView):
            bucket, kind = desired.views, "FeatureView"
        elif isinstance(obj, FeatureService):
            bucket, kind = desired.services, "FeatureService"
        elif isinstance(obj, OnDemandFeatureView):
            bucket, kind = desired.on_demand, "OnDemandFeatureView"
        else:
            raise DefinitionError(
                "apply takes Entity, FeatureView, OnDemandFeatureView and FeatureService "
                f"objects, got {obj!r}"
            )
        spec = obj.to_spec()
        if obj.name in bucket and bucket[obj.name] != spec:
            raise DefinitionError(f"two different {kind}s are named {obj.name!r}")
        bucket[obj.name] = spec
    for name in set(desired.views) & set(desired.on_demand):
        raise DefinitionError(f"a FeatureView and an OnDemandFeatureView are both named {name!r}")
    for view in desired.views.values():  # a view brings its entities if they were not given
        for entity in view["entities"]:
            desired.entities.setdefault(entity["name"], entity)
    return desired


def plan_changes(state: State, desired: Desired, prune: bool) -> RegistryDiff:
    changes: list[ObjectChange] = []
    for name, spec in desired.entities.items():
        old = state.entities.get(name)
        if old is None:
            changes.append(ObjectChange("entity", name, "add"))
        elif old == spec:
            changes.append(ObjectChange("entity", name, "unchanged"))
        else:
            breaking = old["join_keys"] != spec["join_keys"]
            reason = (
                f"join_keys {old['join_keys']} -> {spec['join_keys']}" if breaking else "metadata"
            )
            changes.append(ObjectChange("entity", name, "update", breaking, (reason,)))
    for name, spec in desired.views.items():
        changes.append(_plan_view(state, name, spec))
    for name, spec in desired.on_demand.items():
        old = state.on_demand.get(name)
        kind = "add" if old is None else ("unchanged" if old == spec else "update")
        changes.append(ObjectChange("on_demand_feature_view", name, kind))  # type: ignore[arg-type]
    for name, spec in desired.services.items():
        old = state.services.get(name)
        kind = "add" if old is None else ("unchanged" if old == spec else "update")
        changes.append(ObjectChange("feature_service", name, kind))  # type: ignore[arg-type]
    if prune:
        for kind, live, wanted in (
            ("entity", state.entities, desired.entities),
            ("feature_view", state.views, desired.views),
            ("on_demand_feature_view", state.on_demand, desired.on_demand),
            ("feature_service", state.services, desired.services),
        ):
            for name in sorted(set(live) - set(wanted)):
                changes.append(ObjectChange(kind, name, "remove"))  # type: ignore[arg-type]
    _check_references(state, desired, changes, prune)
    return RegistryDiff(tuple(changes))


def _plan_view(state: State, name: str, spec: dict[str, Any]) -> ObjectChange:
    current = state.views.get(name)
    latest = current if current is not None else state.max_version.get(name)
    if latest is None:
        return ObjectChange("feature_view", name, "add", new_version=1)
    breaking, other = view_change_reasons(state.versions[(name, latest)], spec)
    if breaking:
        return ObjectChange(
            "feature_view",
            name,
            "add" if current is None else "update",
            True,
            tuple(breaking + other),
            state.max_version[name] + 1,
        )
    if current is None:  # re-added after removal, compatible with its last version
        return ObjectChange("feature_view", name, "add", False, tuple(other), latest)
    if not other:
        return ObjectChange("feature_view", name, "unchanged")
    return ObjectChange("feature_view", name, "update", False, tuple(other), current)


def _check_references(
    state: State, desired: Desired, changes: Sequence[ObjectChange], prune: bool
) -> None:
    """Refuse an apply that would leave a view without its entity or a service without a feature."""
    removed = {(c.kind, c.name) for c in changes if c.change == "remove"}
    entities = {n: s for n, s in state.entities.items() if ("entity", n) not in removed}
    entities.update(desired.entities)
    views: dict[str, dict[str, Any]] = {
        n: state.versions[(n, v)]
        for n, v in state.views.items()
        if ("feature_view", n) not in removed
    }
    views.update(desired.views)
    for name, spec in views.items():
        for entity in spec["entities"]:
            known = entities.get(entity["name"])
            if known is None:
                raise DefinitionError(
                    f"FeatureView {name!r} uses entity {entity['name']!r}, which would not exist"
                )
            if known["join_keys"] != entity["join_keys"]:
                raise DefinitionError(
                    f"FeatureView {name!r} uses entity {entity['name']!r} with join keys "
                    f"{entity['join_keys']}, but the entity has {known['join_keys']}"
                )
    on_demand = {
        n: s for n, s in state.on_demand.items() if ("on_demand_feature_view", n) not in removed
    }
    on_demand.update(desired.on_demand)
    # Checked again over the whole registry: the two may come from different applies.
    for name in sorted(set(views) & set(on_demand)):
        raise DefinitionError(
            f"a FeatureView and an OnDemandFeatureView would both be named {name!r}; "
            "feature references (view:feature) need one meaning per name"
        )
    _check_on_demand_inputs(on_demand, views)
    services = {n: s for n, s in state.services.items() if ("feature_service", n) not in removed}
    services.update(desired.services)
    new_version = {c.name: c.new_version for c in changes if c.kind == "feature_view"}
    for name, spec in services.items():
        for entry in spec["features"]:
            view_name, pinned = entry["view"], entry.get("version")
            if pinned is not None:
                view_spec = state.versions.get((view_name, pinned))
            else:
                view_spec = views.get(view_name) or on_demand.get(view_name)
            if view_spec is None:
                pin = f"@v{pinned}" if pinned else ""
                raise DefinitionError(
                    f"FeatureService {name!r} uses view {view_name}{pin}, which would not exist"
                )
            fields = {f["name"] for f in view_spec["schema"]}
            for feature in entry["features"]:
                if feature not in fields:
                    raise DefinitionError(
                        f"FeatureService {name!r} uses {view_name}:{feature}, which view "
                        f"{view_name!r} would not have (new version {new_version.get(view_name)})"
                    )


def _check_on_demand_inputs(
    on_demand: Mapping[str, dict[str, Any]], views: Mapping[str, dict[str, Any]]
) -> None:
    """Every feature an on-demand view reads must exist, with the dtype its udf was written for."""
    for name, spec in on_demand.items():
        for source in spec["sources"]:
            if source["kind"] != "view":
                continue
            view = views.get(source["view"])
            if view is None:
                raise DefinitionError(
                    f"OnDemandFeatureView {name!r} reads view {source['view']!r}, which would "
                    "not exist"
                )
            fields = _fields(view)
            for feature, dtype in zip(source["features"], source["dtypes"], strict=True):
                if fields.get(feature) != dtype:
                    found = fields.get(feature, "no such feature")
                    raise DefinitionError(
                        f"OnDemandFeatureView {name!r} reads {source['view']}:{feature} as "
                        f"{dtype}, but the view would have {found}; update the on-demand view"
                    )
