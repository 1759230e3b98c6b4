"""Serving: a Feast-compatible REST API (FastAPI) over one repo's FeatureStore, with auth,
Prometheus metrics and a JSON error contract. Needs `pip install 'cinefeat[server]'`."""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import prometheus_client  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the install
    from cinefeat.errors import CinefeatError

    raise CinefeatError(
        f"the server needs its extra dependencies ({exc.name} is missing): "
        "pip install 'cinefeat[server]'"
    ) from None

from cinefeat.server._app import create_app
from cinefeat.server._auth import API_TOKEN_ENV
from cinefeat.server._run import DEFAULT_HOST, DEFAULT_PORT, serve

__all__ = ["API_TOKEN_ENV", "DEFAULT_HOST", "DEFAULT_PORT", "create_app", "serve"]
