"""Finding a stage class by its YAML `type`: a built-in name, a `cinefeat.stages` entry point,
or a dotted path (`package.module.Class` or `package.module:Class`); then checking its params."""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from pydantic import ValidationError

from cinefeat.pipeline._config import (
    PipelineConfig,
    PipelineConfigError,
    StageConfig,
    located_problems,
)
from cinefeat.pipeline._feature_stage import FeatureExtractionStage
from cinefeat.pipeline._ingest_stage import DataValidationStage
from cinefeat.pipeline._stage import Stage
from cinefeat.pipeline._store_stage import FeatureStoreWriteStage
from cinefeat.pipeline._validation_stage import FeatureValidationStage

__all__ = ["BUILTIN_STAGES", "build_stages", "resolve_stage_type"]

BUILTIN_STAGES: dict[str, type[Stage]] = {
    cls.__name__: cls
    for cls in (
        DataValidationStage,
        FeatureExtractionStage,
        FeatureValidationStage,
        FeatureStoreWriteStage,
    )
}


def resolve_stage_type(name: str) -> type[Stage]:
    """The Stage subclass `name` refers to; raises LookupError saying what was tried."""
    if name in BUILTIN_STAGES:
        return BUILTIN_STAGES[name]
    for entry in entry_points(group="cinefeat.stages"):
        if entry.name == name:
            found = entry.load()
            break
    else:
        if "." not in name and ":" not in name:
            raise LookupError(
                f"unknown stage type {name!r}; built-in types are {sorted(BUILTIN_STAGES)}, "
                "or give a dotted path (package.module.Class) or a `cinefeat.stages` entry point"
            )
        module_name, _, attribute = name.replace(":", ".").rpartition(".")
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise LookupError(
                f"stage type {name!r}: cannot import {module_name!r} ({exc})"
            ) from None
        if not hasattr(module, attribute):
            raise LookupError(f"stage type {name!r}: module {module_name!r} has no {attribute!r}")
        found = getattr(module, attribute)
    if not (isinstance(found, type) and issubclass(found, Stage)):
        raise LookupError(f"stage type {name!r} is not a subclass of cinefeat.pipeline.Stage")
    return found


def _build(config: PipelineConfig, index: int, spec: StageConfig) -> Stage:
    where = f"{config.location('stages', index, 'type')}: feature_pipeline.stages[{index}].type"
    try:
        cls = resolve_stage_type(spec.type)
    except LookupError as exc:
        raise PipelineConfigError(f"{where}: {exc}") from None
    try:
        params = cls.Params.model_validate(spec.params)
    except ValidationError as exc:
        raise PipelineConfigError(
            located_problems(config, ("stages", index, "params"), exc)
        ) from None
    return cls(spec.name, params)


def build_stages(config: PipelineConfig) -> list[Stage]:
    """The configured stages, every type resolved and every params block validated; all the
    problems are reported together."""
    stages, problems = [], []
    for index, spec in enumerate(config.stages):
        try:
            stages.append(_build(config, index, spec))
        except PipelineConfigError as exc:
            problems.append(str(exc))
    if problems:
        raise PipelineConfigError("\n".join(problems))
    return stages
