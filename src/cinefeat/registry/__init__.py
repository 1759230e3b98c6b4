"""The registry: entities, feature views (every version), services and watermarks, in SQL.

SQLite through SQLAlchemy by default; a PostgreSQL URL works unchanged.
"""

from cinefeat.registry._diff import ObjectChange, RegistryDiff
from cinefeat.registry._plan import Definition
from cinefeat.registry._refs import (
    FeatureRef,
    Resolution,
    ResolvedOnDemand,
    ResolvedView,
    parse_feature_ref,
    resolve_features,
)
from cinefeat.registry._registry import Registry, RegistrySnapshot, Watermark

__all__ = [
    "Definition",
    "FeatureRef",
    "ObjectChange",
    "Registry",
    "RegistryDiff",
    "RegistrySnapshot",
    "Resolution",
    "ResolvedOnDemand",
    "ResolvedView",
    "Watermark",
    "parse_feature_ref",
    "resolve_features",
]
