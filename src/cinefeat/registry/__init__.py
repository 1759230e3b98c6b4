"""The registry: entities, feature views (every version), services, watermarks, pipeline runs
and quality records (profiles, monitoring, alerts, importance, experiments), in SQL.

SQLite through SQLAlchemy by default; a PostgreSQL URL works unchanged.
"""

from cinefeat.registry._diff import ObjectChange, RegistryDiff
from cinefeat.registry._plan import Definition
from cinefeat.registry._quality_records import (
    ExperimentOutcome,
    MonitorPoint,
    QualityRecords,
    StoredDocument,
)
from cinefeat.registry._refs import (
    FeatureRef,
    Resolution,
    ResolvedOnDemand,
    ResolvedView,
    parse_feature_ref,
    resolve_features,
)
from cinefeat.registry._registry import Registry, RegistrySnapshot, Watermark
from cinefeat.registry._run_records import (
    FinalStatus,
    InputFingerprint,
    OutputRecord,
    RunRecord,
    StageRecord,
)
from cinefeat.registry._runs import PipelineRuns

__all__ = [
    "Definition",
    "ExperimentOutcome",
    "FeatureRef",
    "FinalStatus",
    "InputFingerprint",
    "MonitorPoint",
    "ObjectChange",
    "OutputRecord",
    "PipelineRuns",
    "QualityRecords",
    "Registry",
    "RegistryDiff",
    "RegistrySnapshot",
    "Resolution",
    "ResolvedOnDemand",
    "ResolvedView",
    "RunRecord",
    "StageRecord",
    "StoredDocument",
    "Watermark",
    "parse_feature_ref",
    "resolve_features",
]
