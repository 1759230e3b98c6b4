"""FeatureService: a named, reusable list of features that one model consumes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cinefeat.definitions._names import check_metadata, check_name
from cinefeat.definitions._on_demand import OnDemandFeatureView
from cinefeat.definitions._view import FeatureView, FeatureViewProjection
from cinefeat.errors import DefinitionError

__all__ = ["FeatureService", "ServiceFeatures"]


@dataclass(frozen=True)
class ServiceFeatures:
    """One entry of a service: a view (by name, optionally a pinned version) and its features.

    Views and projections put in a service follow the view's current version; to pin one,
    give `ServiceFeatures("user_stats", ("rating_count",), version=1)`.
    """

    view: str
    features: tuple[str, ...]
    version: int | None = None

    def __post_init__(self) -> None:
        check_name("FeatureView", self.view, "ServiceFeatures")
        where = f"ServiceFeatures({self.view!r})"
        features = (self.features,) if isinstance(self.features, str) else tuple(self.features)
        if not features:
            raise DefinitionError(f"{where}: features must name at least one feature")
        for name in features:
            check_name("Field", name, where)
        if self.version is not None and (
            isinstance(self.version, bool) or not isinstance(self.version, int) or self.version < 1
        ):
            raise DefinitionError(f"{where}: version must be a positive integer or None")
        object.__setattr__(self, "features", features)

    def refs(self) -> list[str]:
        pin = f"@v{self.version}" if self.version is not None else ""
        return [f"{self.view}{pin}:{name}" for name in self.features]


def _entry(where: str, item: Any) -> ServiceFeatures:
    if isinstance(item, ServiceFeatures):
        return item
    if isinstance(item, FeatureView):
        return ServiceFeatures(item.name, item.feature_names)
    if isinstance(item, FeatureViewProjection):
        return ServiceFeatures(item.view.name, item.features)
    if isinstance(item, OnDemandFeatureView):
        return ServiceFeatures(item.name, item.feature_names)
    raise DefinitionError(
        f"{where}: features must be FeatureViews or projections like view[['a', 'b']], got {item!r}"
    )


@dataclass(frozen=True, eq=True)
class FeatureService:
    """Features from one or more views, grouped under a name a model can ask for."""

    name: str
    features: Sequence[FeatureView | FeatureViewProjection | OnDemandFeatureView | ServiceFeatures]
    description: str = ""
    tags: dict[str, str] = field(default_factory=dict, hash=False)
    owner: str = ""

    def __post_init__(self) -> None:
        check_name("FeatureService", self.name)
        where = f"FeatureService {self.name!r}"
        _, tags, _ = check_metadata(where, self.description, self.tags, self.owner)
        object.__setattr__(self, "tags", tags)
        if isinstance(self.features, FeatureView | FeatureViewProjection):
            raise DefinitionError(f"{where}: features must be a list, e.g. [{self.features.name}]")
        entries = tuple(_entry(where, item) for item in self.features)
        if not entries:
            raise DefinitionError(f"{where}: features must list at least one view")
        seen: set[tuple[str, int | None, str]] = set()
        for entry in entries:
            for name in entry.features:
                key = (entry.view, entry.version, name)
                if key in seen:
                    raise DefinitionError(f"{where}: feature {entry.view}:{name} is listed twice")
                seen.add(key)
        object.__setattr__(self, "features", entries)

    @property
    def entries(self) -> tuple[ServiceFeatures, ...]:
        return tuple(self.features)  # type: ignore[arg-type]  # normalised in __post_init__

    def feature_refs(self) -> list[str]:
        return [ref for entry in self.entries for ref in entry.refs()]

    def to_spec(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "features": [
                {"view": e.view, "version": e.version, "features": list(e.features)}
                for e in self.entries
            ],
            "description": self.description,
            "tags": dict(self.tags),
            "owner": self.owner,
        }

    @classmethod
    def from_spec(cls, spec: dict[str, Any]) -> FeatureService:
        return cls(
            name=spec["name"],
            features=[
                ServiceFeatures(e["view"], tuple(e["features"]), e.get("version"))
                for e in spec["features"]
            ],
            description=spec.get("description", ""),
            tags=spec.get("tags", {}),
            owner=spec.get("owner", ""),
        )
