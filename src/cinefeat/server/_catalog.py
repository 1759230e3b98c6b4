"""Read-only registry endpoints (`/api/v1/...`): entities, feature views with their versions,
on-demand views and feature services, as JSON built from the definitions' specs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter

from cinefeat.definitions import FeatureView
from cinefeat.store import FeatureStore

__all__ = ["catalog_router"]


def _view(view: FeatureView) -> dict[str, Any]:
    spec = view.to_spec()
    return {
        "name": view.name,
        "version": view.version,
        "description": view.description,
        "owner": view.owner,
        "tags": dict(view.tags),
        "entities": [e.name for e in view.entities],
        "join_keys": list(view.join_keys),
        "features": [f.to_spec() for f in view.schema if f.name in view.feature_names],
        "ttl_seconds": spec["ttl_seconds"],
        "online": view.online,
        "source": spec["source"],
        "timestamp_field": view.event_timestamp_column,
        "aggregations": spec["aggregations"],
    }


def catalog_router(store: FeatureStore, dependencies: Sequence[Any]) -> APIRouter:
    """The routes, each behind `dependencies` (the read-access check when reads need a token)."""
    router = APIRouter(prefix="/api/v1", tags=["registry"], dependencies=list(dependencies))

    @router.get("/entities", summary="Every entity")
    async def entities() -> list[dict[str, Any]]:
        return [e.to_spec() for e in store.list_entities()]

    @router.get("/feature-views", summary="Every feature view (its live version)")
    async def feature_views() -> list[dict[str, Any]]:
        return [_view(v) for v in store.list_feature_views()]

    @router.get("/feature-views/{name}", summary="One feature view, with all its versions")
    async def feature_view(name: str) -> dict[str, Any]:
        view = store.get_feature_view(name)  # FeatureNotFoundError: 404
        versions = store.list_feature_view_versions(name)
        return {
            **_view(view),
            "versions": [
                {"version": v.version, "features": list(v.feature_names)} for v in versions
            ],
        }

    @router.get("/on-demand-feature-views", summary="Every on-demand feature view")
    async def on_demand_views() -> list[dict[str, Any]]:
        return [odfv.to_spec() for odfv in store.list_on_demand_feature_views()]

    @router.get("/feature-services", summary="Every feature service")
    async def feature_services() -> list[dict[str, Any]]:
        return [s.to_spec() for s in store.list_feature_services()]

    @router.get("/feature-services/{name}", summary="One feature service and its feature refs")
    async def feature_service(name: str) -> dict[str, Any]:
        service = store.get_feature_service(name)
        return {**service.to_spec(), "feature_refs": service.feature_refs()}

    return router
