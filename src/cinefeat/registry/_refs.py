"""Feature references ("view:feature", "view@v2:feature") and resolving them to view versions."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cinefeat.definitions import FeatureService, FeatureView, OnDemandFeatureView
from cinefeat.errors import DefinitionError, FeatureNameCollisionError, FeatureNotFoundError
from cinefeat.registry._registry import RegistrySnapshot

__all__ = [
    "FeatureRef",
    "Resolution",
    "ResolvedOnDemand",
    "ResolvedView",
    "parse_feature_ref",
    "resolve_features",
]

_REF_RE = re.compile(
    r"^(?P<view>[A-Za-z_][A-Za-z0-9_]*)(?:@v(?P<version>\d+))?:(?P<feature>[^:]+)$"
)


@dataclass(frozen=True)
class FeatureRef:
    view: str
    feature: str
    version: int | None = None  # None: the view's current version

    def __str__(self) -> str:
        pin = f"@v{self.version}" if self.version is not None else ""
        return f"{self.view}{pin}:{self.feature}"

    def full_name(self) -> str:
        pin = f"@v{self.version}" if self.version is not None else ""
        return f"{self.view}{pin}__{self.feature}"


def parse_feature_ref(ref: str) -> FeatureRef:
    if not isinstance(ref, str):
        raise DefinitionError(
            f"feature reference must be a string like 'view:feature', got {ref!r}"
        )
    match = _REF_RE.match(ref.strip())
    if match is None:
        raise DefinitionError(
            f"feature reference {ref!r} is malformed; write 'view:feature' or 'view@v2:feature'"
        )
    version = match.group("version")
    return FeatureRef(
        match.group("view"), match.group("feature"), int(version) if version else None
    )


@dataclass(frozen=True)
class ResolvedView:
    """One view version's share of a feature list, in the order first asked for."""

    view: FeatureView
    features: tuple[str, ...]
    output_names: tuple[str, ...]


@dataclass(frozen=True)
class ResolvedOnDemand:
    """Features asked of one on-demand view, with their output names."""

    view: OnDemandFeatureView
    features: tuple[str, ...]
    output_names: tuple[str, ...]


@dataclass(frozen=True)
class Resolution:
    views: list[ResolvedView]
    on_demand: list[ResolvedOnDemand]
    order: list[str]  # every output name, in the order requested


def resolve_features(
    snapshot: RegistrySnapshot,
    load_version: Callable[[str, int], FeatureView],
    features: Sequence[str] | FeatureService | str,
    full_feature_names: bool,
) -> Resolution:
    """Group references by view version (and on-demand view); keep the request order.

    `features` may be a list of references, a FeatureService, or the name of a registered one.
    """
    refs = _refs_of(snapshot, features)
    groups: dict[tuple[str, int], tuple[FeatureView, list[str], list[str]]] = {}
    on_demand: dict[str, tuple[OnDemandFeatureView, list[str], list[str]]] = {}
    order: list[str] = []
    seen: set[FeatureRef] = set()
    for ref in refs:
        if ref in seen:
            raise DefinitionError(f"feature {ref} is requested twice")
        seen.add(ref)
        name = ref.full_name() if full_feature_names else ref.feature
        order.append(name)
        computed = snapshot.on_demand_views.get(ref.view)
        if computed is not None and ref.version is None:
            if ref.feature not in computed.feature_names:
                raise FeatureNotFoundError(
                    f"on-demand view {ref.view!r} has no feature {ref.feature!r}; its features "
                    f"are {list(computed.feature_names)}"
                )
            entry = on_demand.setdefault(computed.name, (computed, [], []))
            entry[1].append(ref.feature)
            entry[2].append(name)
            continue
        view = _view_of(snapshot, load_version, ref)
        group = groups.setdefault((view.name, view.version or 0), (view, [], []))
        group[1].append(ref.feature)
        group[2].append(name)
    _check_unique(refs, order)
    return Resolution(
        [ResolvedView(v, tuple(f), tuple(n)) for v, f, n in groups.values()],
        [ResolvedOnDemand(v, tuple(f), tuple(n)) for v, f, n in on_demand.values()],
        order,
    )


def _view_of(
    snapshot: RegistrySnapshot, load_version: Callable[[str, int], FeatureView], ref: FeatureRef
) -> FeatureView:
    view = snapshot.feature_views.get(ref.view)
    if ref.version is not None and (view is None or view.version != ref.version):
        view = load_version(ref.view, ref.version)
    if view is None:
        known = sorted([*snapshot.feature_views, *snapshot.on_demand_views])
        raise FeatureNotFoundError(
            f"feature view {ref.view!r} (in {ref}) is not in the registry; known views: {known}"
        )
    if ref.feature not in view.feature_names:
        raise FeatureNotFoundError(
            f"feature view {ref.view!r} (v{view.version}) has no feature {ref.feature!r}; "
            f"its features are {list(view.feature_names)}"
        )
    return view


def _check_unique(refs: Sequence[FeatureRef], names: Sequence[str]) -> None:
    first: dict[str, FeatureRef] = {}
    for ref, name in zip(refs, names, strict=True):
        if name in first:
            raise FeatureNameCollisionError(
                f"features {first[name]} and {ref} would both be named {name!r}; "
                "pass full_feature_names=True to name them view__feature"
            )
        first[name] = ref


def _refs_of(
    snapshot: RegistrySnapshot, features: Sequence[str] | FeatureService | str
) -> list[FeatureRef]:
    if isinstance(features, str):
        if ":" in features:
            return [parse_feature_ref(features)]
        service = snapshot.feature_services.get(features)
        if service is None:
            raise FeatureNotFoundError(
                f"feature service {features!r} is not in the registry; "
                f"known services: {sorted(snapshot.feature_services)}"
            )
        features = service
    if isinstance(features, FeatureService):
        return [parse_feature_ref(ref) for ref in features.feature_refs()]
    if not features:
        raise DefinitionError("no features requested; pass feature references or a service")
    return [parse_feature_ref(ref) for ref in features]
