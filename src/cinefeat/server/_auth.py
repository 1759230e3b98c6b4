"""Bearer-token auth: writes always need the token (no token configured means writes are
refused, never open), reads only when `server.auth_reads` is set. Tokens are compared in
constant time and never logged or echoed."""

from __future__ import annotations

import hmac
import os

from fastapi.security import HTTPAuthorizationCredentials

from cinefeat.config import ServerConfig
from cinefeat.server._errors import ApiError

__all__ = ["API_TOKEN_ENV", "TokenGate"]

API_TOKEN_ENV = "CINEFEAT_API_TOKEN"
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


class TokenGate:
    """Decides whether a request's credentials may read or write."""

    def __init__(self, config: ServerConfig, environ: dict[str, str] | None = None) -> None:
        environ = dict(os.environ) if environ is None else environ
        token = environ.get(API_TOKEN_ENV) or (
            config.api_token.get_secret_value() if config.api_token else None
        )
        self._token = token.encode() if token else None
        self.auth_reads = config.auth_reads

    @property
    def configured(self) -> bool:
        return self._token is not None

    def check(self, credentials: HTTPAuthorizationCredentials | None, *, write: bool) -> None:
        if not write and not self.auth_reads:
            return
        if self._token is None:
            what = "write endpoints are disabled" if write else "reads need a token"
            raise ApiError(
                403,
                f"{what}: no API token is configured (set server.api_token in cinefeat.yaml "
                f"or the {API_TOKEN_ENV} environment variable)",
            )
        if credentials is None:
            raise ApiError(
                401, "missing bearer token: send `Authorization: Bearer <token>`", _CHALLENGE
            )
        given = credentials.credentials.encode()
        if not hmac.compare_digest(given, self._token):
            raise ApiError(403, "the bearer token is not valid for this server")
