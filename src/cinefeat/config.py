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
    "AlertSinkConfig",
    "CacheConfig",
    "FileAlertSinkConfig",
    "HttpAlertSinkConfig",
    "MonitoringConfig",
    "OfflineStoreConfig",
    "QualityConfig",
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


class FileAlertSinkConfig(_Strict):
    """Alerts appended as JSON lines to a file (relative to the repo)."""

    type: Literal["file"] = "file"
    path: str = "data/alerts.jsonl"


class HttpAlertSinkConfig(_Strict):
    """Alerts POSTed as JSON to a URL on your own network (a webhook receiver, Alertmanager's
    generic webhook bridge, a chat relay, ...)."""

    type: Literal["http"] = "http"
    url: str = Field(pattern=r"^https?://")
    timeout_seconds: float = Field(default=5.0, gt=0)
    headers: dict[str, str] = {}


AlertSinkConfig = Annotated[FileAlertSinkConfig | HttpAlertSinkConfig, Field(discriminator="type")]


class MonitoringConfig(_Strict):
    """What is checked after each pipeline run and each materialization, and what breaches.
    Every check reads at most `sample_rows` rows per view version (drift, null rates)."""

    enabled: bool = True
    after_pipeline: bool = True
    after_materialize: bool = True
    sample_rows: int = Field(default=100_000, ge=100)
    # A feature's null rate above this raises an alert (a NotNull rule's allowance wins);
    # unset: only features with a NotNull rule have an absolute limit.
    max_null_rate: float | None = Field(default=None, ge=0, le=1)
    # A feature's null rate rising by more than this against the previous window raises an
    # alert too: sparse features (a genre few users rate) stay quiet until they change.
    max_null_rate_increase: float = Field(default=0.1, gt=0, le=1)
    # Newest event older than this raises an alert; unset: the view's ttl (no alert without).
    max_staleness_seconds: float | None = Field(default=None, gt=0)
    # Drift against the data the previous check saw: see cinefeat.quality.DriftThresholds.
    drift_alpha: float = Field(default=0.01, gt=0, lt=1)
    drift_psi: float = Field(default=0.1, gt=0)
    drift_js: float = Field(default=0.1, gt=0)


class QualityConfig(_Strict):
    """Profiles on write, monitoring and where alerts go (none: only listed by `cinefeat
    alerts`)."""

    profile_on_write: bool = True
    # Above this many rows a write's profile estimates quantiles, histograms and top values
    # from a sample (counts, nulls, range and moments stay exact).
    profile_sample_rows: int = Field(default=100_000, ge=100)
    monitoring: MonitoringConfig = MonitoringConfig()
    alert_sink: AlertSinkConfig | None = None


class RepoConfig(_Strict):
    project: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    registry: RegistryConfig = RegistryConfig()
    offline_store: OfflineStoreConfig = OfflineStoreConfig()
    online_store: OnlineStoreConfig = SqliteOnlineStoreConfig()
    cache: CacheConfig = CacheConfig()
    server: ServerConfig = ServerConfig()
    quality: QualityConfig = QualityConfig()

    @field_validator("registry", mode="before")
    @classmethod
    def _registry_shorthand(cls, value: Any) -> Any:
        # `registry: data/registry.db` is the common form; `registry: {path: ...}` also works.
        return {"path": value} if isinstance(value, str) else value

    def resolve(self, repo_path: Path, path: str) -> Path:
        resolved = Path(path).expanduser()
        return resolved if resolved.is_absolute() else repo_path / resolved


_UNION_TAGS = {"sqlite", "file", "http"}


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
