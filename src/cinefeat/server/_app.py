"""The FastAPI app: Feast's online endpoints, read-only registry endpoints, cache stats,
health and Prometheus metrics over one FeatureStore opened when the app starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, FastAPI
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

import cinefeat
from cinefeat.materialize import MaterializationResult
from cinefeat.server._auth import TokenGate
from cinefeat.server._catalog import catalog_router
from cinefeat.server._errors import ApiError, install_error_handlers, json_response
from cinefeat.server._experiments import ExperimentSpecs, experiments_router, read_experiment
from cinefeat.server._metrics import Metrics, MetricsMiddleware
from cinefeat.server._models import (
    GetOnlineFeaturesRequest,
    GetOnlineFeaturesResponse,
    MaterializeIncrementalRequest,
    MaterializeRequest,
    PushRequest,
)
from cinefeat.server._online import push_table, read_online
from cinefeat.store import FeatureStore
from cinefeat.timeutil import as_utc

__all__ = ["create_app"]

_bearer = HTTPBearer(auto_error=False, description="The server's API token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No bearer token"},
    403: {"description": "Wrong token, or no token configured for this endpoint"},
    404: {"description": "Unknown feature, view, service or experiment"},
    413: {"description": "Too many entities or rows"},
    422: {"description": "Malformed body or values of the wrong type"},
}


def _time(value: str, field: str) -> datetime:
    try:
        return as_utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        raise ApiError(422, f"{field}: not an ISO 8601 time: {value!r}") from None


def _materialized(results: list[MaterializationResult]) -> list[dict[str, Any]]:
    return [{"feature_view": r.view, "rows_written": r.rows_written} for r in results]


def create_app(repo_path: str | Path = ".") -> FastAPI:
    """The server of the repo at `repo_path`. Its FeatureStore (and so the registry, the
    online store and the cache) opens once and serves every request; definitions are re-read
    only when the registry changes."""
    store = FeatureStore(repo_path)
    server = store.config.server
    gate = TokenGate(server)
    metrics = Metrics(store)
    experiment_specs = ExperimentSpecs(store, store.config.registry.cache_ttl_seconds)
    store.on_online_read = metrics.observe_online_read

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store.refresh_registry()  # resolve definitions before the first request
        yield
        store.close()

    app = FastAPI(
        title="cinefeat",
        version=cinefeat.__version__,
        description="Feature serving for movie recommendation (Feast-compatible REST).",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.add_middleware(MetricsMiddleware, metrics=metrics)

    # Async, so FastAPI runs them inline rather than on its thread pool (a hop per request).
    async def read_access(credentials: Credentials) -> None:
        gate.check(credentials, write=False)

    async def write_access(credentials: Credentials) -> None:
        gate.check(credentials, write=True)

    # Open reads (the default) carry no dependency at all: nothing to solve per request.
    reads = [Depends(read_access)] if gate.auth_reads else []

    @app.post(
        "/get-online-features",
        response_model=GetOnlineFeaturesResponse,
        responses=_ERRORS,
        dependencies=reads,
        tags=["online"],
        summary="Latest feature values per entity (Feast's request and response)",
    )
    async def get_online_features(body: GetOnlineFeaturesRequest) -> Response:
        # Called inline (no thread hop): a cached read takes microseconds.
        if body.experiment is not None:
            answer = read_experiment(store, experiment_specs, body, server.max_entities)
            return json_response(answer)
        return json_response(read_online(store, body, server.max_entities))

    @app.post(
        "/push",
        status_code=200,
        responses=_ERRORS,
        dependencies=[Depends(write_access)],
        tags=["online"],
        summary="Write rows to the online store, the offline store or both (Feast's body)",
    )
    def push(body: PushRequest) -> dict[str, Any]:
        view = store.get_feature_view(body.view_name)  # cached: only to parse its times
        # By name: the store resolves the view afresh, so a push never lands in a version
        # that another process replaced moments ago.
        store.push(view.name, push_table(view, body, server.max_push_rows), to=body.to)
        return {"feature_view": view.name, "rows": body.rows, "to": body.to}

    @app.post(
        "/materialize",
        responses=_ERRORS,
        dependencies=[Depends(write_access)],
        tags=["online"],
        summary="Materialize offline values in [start_ts, end_ts] into the online store",
    )
    def materialize(body: MaterializeRequest) -> list[dict[str, Any]]:
        start, end = _time(body.start_ts, "start_ts"), _time(body.end_ts, "end_ts")
        return _materialized(store.materialize(start, end, body.feature_views))

    @app.post(
        "/materialize-incremental",
        responses=_ERRORS,
        dependencies=[Depends(write_access)],
        tags=["online"],
        summary="Materialize everything new up to end_ts into the online store",
    )
    def materialize_incremental(body: MaterializeIncrementalRequest) -> list[dict[str, Any]]:
        end = _time(body.end_ts, "end_ts")
        return _materialized(store.materialize_incremental(end, body.feature_views))

    app.include_router(catalog_router(store, reads))
    writes = [Depends(write_access)]
    app.include_router(
        experiments_router(store, experiment_specs, reads, writes, server.max_push_rows)
    )

    @app.get("/api/v1/cache/stats", tags=["operations"], dependencies=reads)
    async def cache_stats() -> dict[str, Any]:
        return store.get_cache_stats()

    @app.get("/health", tags=["operations"], summary="Liveness: the registry can be read")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "project": store.project,
            "registry_serial": store.registry.serial(),
        }

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics (text format)")
    async def prometheus_metrics() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
