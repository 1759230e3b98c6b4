"""The exceptions cinefeat raises. Every message names the object and the field at fault."""

from __future__ import annotations

__all__ = [
    "CinefeatError",
    "ConfigError",
    "DefinitionError",
    "EntityDataFrameError",
    "FeatureNameCollisionError",
    "FeatureNotFoundError",
    "FrameTypeError",
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


class FrameTypeError(CinefeatError, TypeError):
    """A dataframe argument is not a pandas/Polars DataFrame or an Arrow table, or cannot be
    converted to Arrow."""


class EntityDataFrameError(CinefeatError, ValueError):
    """The entity dataframe given to get_historical_features is unusable."""
