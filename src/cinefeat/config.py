"""Repo configuration: `cinefeat.yaml`, validated with pydantic into a RepoConfig.

Paths in the file are relative to the repo directory. Errors name the key and what was expected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from cinefeat.errors import ConfigError

__all__ = [
    "CONFIG_FILE",
    "CacheConfig",
    "OfflineStoreConfig",
    "RegistryConfig",
    "RepoConfig",
    "ServerConfig",
    "SqliteOnlineStoreConfig",
    "load_config",
    "parse_config",
]

CONFIG_FILE = "cinefeat.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RegistryConfig(_Strict):
    """Where definitions live: a SQLite path, or any SQLAlchemy URL (postgresql://...)."""

    path: str = "data/registry.db"
    # How often a long-lived store (a server) checks whether another process changed definitions.
    cache_ttl_seconds: float = Field(default=5.0, ge=0)

    def url(self, repo_path: Path) -> str:
        if self.path.startswith(("postgresql://", "postgres://")):
            # SQLAlchemy's default driver is psycopg2; cinefeat[postgres] ships psycopg 3.
            return "postgresql+psycopg://" + self.path.split("://", 1)[1]
        if "://" in self.path:
            return self.path
        path = Path(self.path).expanduser()
        path = path if path.is_absolute() else repo_path / path
        return f"sqlite:///{path}"


class OfflineStoreConfig(_Strict):
    """Where managed views' Delta tables live (one per view version)."""

    type: Literal["delta"] = "delta"
    path: str = "data/offline"


class SqliteOnlineStoreConfig(_Strict):
    """The embedded online store: one SQLite file in WAL mode."""

    type: Literal["sqlite"] = "sqlite"
    path: str = "data/online.db"


OnlineStoreConfig = Annotated[SqliteOnlineStoreConfig, Field(discriminator="type")]


class CacheConfig(_Strict):
    """The segmented-LRU + TTL read cache in front of the online store."""

    enabled: bool = True
    max_entries: int = Field(default=100_000, ge=1)
    ttl_seconds: float = Field(default=60.0, gt=0)


class ServerConfig(_Strict):
    """The REST server (`cinefeat serve`). The token may also come from the environment
    variable CINEFEAT_API_TOKEN, which wins; without one, write endpoints are refused."""

    api_token: SecretStr | None = None  # a SecretStr: never shown in reprs or logs
    auth_reads: bool = False  # reads need the token too
    max_entities: int = Field(default=1_000, ge=1)  # entities per request; more gets 413
    max_push_rows: int = Field(default=100_000, ge=1)  # rows per push; more gets 413


class RepoConfig(_Strict):
    project: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    registry: RegistryConfig = RegistryConfig()
    offline_store: OfflineStoreConfig = OfflineStoreConfig()
    online_store: OnlineStoreConfig = SqliteOnlineStoreConfig()
    cache: CacheConfig = CacheConfig()
    server: ServerConfig = ServerConfig()

    @field_validator("registry", mode="before")
    @classmethod
    def _registry_shorthand(cls, value: Any) -> Any:
        # `registry: data/registry.db` is the common form; `registry: {path: ...}` also works.
        return {"path": value} if isinstance(value, str) else value

    def resolve(self, repo_path: Path, path: str) -> Path:
        resolved = Path(path).expanduser()
        return resolved if resolved.is_absolute() else repo_path / resolved


_UNION_TAGS = {"sqlite"}


def _describe(error: dict[str, Any]) -> str:
    # The discriminated union adds its tag ("sqlite") to the location; users never wrote it.
    parts = [str(part) for part in error["loc"] if part not in _UNION_TAGS]
    location = ".".join(parts) or "(top level)"
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    if error["type"] == "union_tag_invalid":
        ctx = error.get("ctx", {})
        return (
            f"{location}.type: expected one of {ctx.get('expected_tags')}, got {ctx.get('tag')!r}"
        )
    value = error.get("input")
    shown = "" if error["type"] in ("missing",) or isinstance(value, dict) else f" (got {value!r})"
    return f"{location}: {message}{shown}"


def parse_config(data: Any, source: str = CONFIG_FILE) -> RepoConfig:
    """Validate an already-parsed config mapping; raise ConfigError naming every bad key."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping of settings, got {type(data).__name__}")
    try:
        return RepoConfig.model_validate(data)
    except ValidationError as exc:
        problems = "\n  ".join(_describe(dict(e)) for e in exc.errors())
        raise ConfigError(f"{source} is invalid:\n  {problems}") from None


def load_config(repo_path: str | Path) -> RepoConfig:
    path = Path(repo_path) / CONFIG_FILE
    if not path.is_file():
        raise ConfigError(
            f"no {CONFIG_FILE} in {Path(repo_path).resolve()}; "
            "run `cinefeat init DIR` to create a repo, or pass the repo path"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return parse_config(data, str(path))
