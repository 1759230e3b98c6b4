"""Running the server: uvicorn on 127.0.0.1:8001 by default, one process or N workers
(each a process with its own FeatureStore; the cache is per worker)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from fastapi import FastAPI

from cinefeat.config import load_config
from cinefeat.server._app import create_app

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "app_from_environment", "serve"]

DEFAULT_HOST = "127.0.0.1"  # loopback unless told otherwise
DEFAULT_PORT = 8001
_REPO_ENV = "CINEFEAT_SERVER_REPO"


def app_from_environment() -> FastAPI:
    """The app of the repo named by CINEFEAT_SERVER_REPO: what each uvicorn worker builds."""
    return create_app(os.environ.get(_REPO_ENV, "."))


def serve(
    repo_path: str | Path = ".",
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    workers: int = 1,
    log_level: str = "info",
) -> None:
    """Serve the repo until interrupted (Ctrl-C)."""
    import uvicorn

    repo = Path(repo_path).resolve()
    load_config(repo)  # a bad repo fails here, with its message, not in every worker
    os.environ[_REPO_ENV] = str(repo)
    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C while shutting down
        uvicorn.run(
            "cinefeat.server._run:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=False,  # per-request logging costs more than the request; see /metrics
        )
