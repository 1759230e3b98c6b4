"""Feature pipelines: YAML-configured stages that turn raw TMDB/MovieLens data into features,
in parallel, incrementally and resumably, with a record of every run."""

from cinefeat.pipeline._config import (
    ExecutionConfig,
    InputConfig,
    PipelineConfig,
    PipelineConfigError,
    StageConfig,
    load_pipeline_config,
    parse_pipeline_config,
)
from cinefeat.pipeline._feature_stage import FeatureExtractionStage
from cinefeat.pipeline._ingest_stage import DataValidationStage
from cinefeat.pipeline._partitions import Partition
from cinefeat.pipeline._profile import PerformanceProfiler, PipelineProfile
from cinefeat.pipeline._runner import Pipeline, PipelinePlan
from cinefeat.pipeline._stage import PartitionOutput, Stage, StageContext, StageReport
from cinefeat.pipeline._stage_types import BUILTIN_STAGES, resolve_stage_type
from cinefeat.pipeline._store_stage import FeatureStoreWriteStage
from cinefeat.pipeline._validation_stage import FeatureValidationStage, ValidationResult

__all__ = [
    "BUILTIN_STAGES",
    "DataValidationStage",
    "ExecutionConfig",
    "FeatureExtractionStage",
    "FeatureStoreWriteStage",
    "FeatureValidationStage",
    "InputConfig",
    "Partition",
    "PartitionOutput",
    "PerformanceProfiler",
    "Pipeline",
    "PipelineConfig",
    "PipelineConfigError",
    "PipelinePlan",
    "PipelineProfile",
    "Stage",
    "StageConfig",
    "StageContext",
    "StageReport",
    "ValidationResult",
    "load_pipeline_config",
    "parse_pipeline_config",
    "resolve_stage_type",
]
