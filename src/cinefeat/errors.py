"""The exceptions cinefeat raises. Every message names the object and the field at fault."""

from __future__ import annotations

__all__ = [
    "CinefeatError",
    "ConfigError",
    "DefinitionError",
    "EntityDataFrameError",
    "FeatureNameCollisionError",
    "FeatureNotFoundError",
    "MissingExtraError",
    "RegistryConflictError",
    "SchemaMismatchError",
]


class CinefeatError(Exception):
    """Base class of every error cinefeat raises on purpose."""


class DefinitionError(CinefeatError, ValueError):
    """An Entity, Field, FeatureView or FeatureService is malformed."""


class ConfigError(CinefeatError, ValueError):
    """cinefeat.yaml (or a config passed in code) is invalid."""


class FeatureNotFoundError(CinefeatError, KeyError):
    """A feature reference, view, service or version does not exist in the registry."""

    def __str__(self) -> str:  # KeyError would otherwise wrap the message in quotes
        return str(self.args[0]) if self.args else ""


class FeatureNameCollisionError(CinefeatError, ValueError):
    """Two requested features (or a feature and an entity column) would share an output name."""


class SchemaMismatchError(CinefeatError, ValueError):
    """Data written to a feature view does not match the view's schema; nothing was written."""


class EntityDataFrameError(CinefeatError, ValueError):
    """The entity dataframe given to get_historical_features is unusable."""


class RegistryConflictError(CinefeatError):
    """The registry changed under an operation in a way it cannot reconcile."""


class MissingExtraError(CinefeatError, ImportError):
    """An optional dependency is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(f"{package} is not installed; run: pip install 'cinefeat[{extra}]'")
