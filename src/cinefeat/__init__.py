"""cinefeat: a feature store for movie-recommendation ML.

Definitions are imported eagerly (they are light); the store and its heavy dependencies
(DuckDB, Arrow, Delta Lake) load on first use, so `import cinefeat` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cinefeat._lazy import lazy_exports
from cinefeat.definitions import (
    Aggregation,
    Entity,
    FeatureService,
    FeatureView,
    FeatureViewProjection,
    Field,
    FileSource,
    ServiceFeatures,
)
from cinefeat.errors import (
    CinefeatError,
    ConfigError,
    DefinitionError,
    EntityDataFrameError,
    FeatureNameCollisionError,
    FeatureNotFoundError,
    FrameTypeError,
    SchemaMismatchError,
)
from cinefeat.types import Array, Bool, Float32, Float64, Int32, Int64, String, UnixTimestamp

if TYPE_CHECKING:
    from cinefeat.compat import AdvancedTMDBPreProcessor, SimpleFeatureStore
    from cinefeat.online import FieldStatus, OnlineResponse
    from cinefeat.pipeline import PerformanceProfiler, Pipeline
    from cinefeat.server import create_app
    from cinefeat.store import FeatureStore

__version__ = "0.1.0"

__all__ = [
    "AdvancedTMDBPreProcessor",
    "Aggregation",
    "Array",
    "Bool",
    "CinefeatError",
    "ConfigError",
    "DefinitionError",
    "Entity",
    "EntityDataFrameError",
    "FeatureNameCollisionError",
    "FeatureNotFoundError",
    "FeatureService",
    "FeatureStore",
    "FeatureView",
    "FeatureViewProjection",
    "Field",
    "FieldStatus",
    "FileSource",
    "Float32",
    "Float64",
    "FrameTypeError",
    "Int32",
    "Int64",
    "OnlineResponse",
    "PerformanceProfiler",
    "Pipeline",
    "SchemaMismatchError",
    "ServiceFeatures",
    "SimpleFeatureStore",
    "String",
    "UnixTimestamp",
    "__version__",
    "create_app",
]

_LAZY = {
    "FeatureStore": "cinefeat.store",
    "AdvancedTMDBPreProcessor": "cinefeat.compat",
    "SimpleFeatureStore": "cinefeat.compat",
    "FieldStatus": "cinefeat.online",
    "OnlineResponse": "cinefeat.online",
    "Pipeline": "cinefeat.pipeline",
    "PerformanceProfiler": "cinefeat.pipeline",
    "create_app": "cinefeat.server",
}


__getattr__, __dir__ = lazy_exports("cinefeat", _LAZY, globals())
