"""FeatureValidationStage: check computed feature rows before they are stored. A row with a
null join key or event time, or a NaN or infinite float, is quarantined (with the reason),
fails the run, or is kept with a warning, as `on_failure` says."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict

from cinefeat.definitions import FeatureView
from cinefeat.errors import CinefeatError
from cinefeat.pipeline._feature_stage import FEATURE_GROUPS, feature_dataset
from cinefeat.pipeline._ingest_stage import quarantine_output
from cinefeat.pipeline._stage import Stage, StageContext, StageReport
from cinefeat.sources import QUARANTINE_SCHEMA

__all__ = [
    "FeatureValidationStage",
    "ValidationResult",
    "validate_feature_rows",
    "validated_dataset",
]


def validated_dataset(group: str) -> str:
    return f"validated:{group}"


@dataclass(frozen=True)
class ValidationResult:
    """The outcome of checking one frame: `diagnostics` counts the failing rows per rule."""

    passed: bool
    message: str
    diagnostics: dict[str, Any] = field(default_factory=dict)


class FeatureValidationParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    on_failure: Literal["quarantine", "fail", "warn"] = "quarantine"


def _problems(view: FeatureView, frame: pl.DataFrame) -> list[tuple[str, pl.Expr]]:
    checks = [(f"null join key {k!r}", pl.col(k).is_null()) for k in view.join_keys]
    checks.append(("null event_timestamp", pl.col("event_timestamp").is_null()))
    for name, dtype in frame.schema.items():
        if dtype.is_float() and name not in view.join_keys:
            checks.append((f"feature {name!r} is NaN or infinite", ~pl.col(name).is_finite()))
    return checks


def validate_feature_rows(
    view: FeatureView, frame: pl.DataFrame
) -> tuple[ValidationResult, pl.DataFrame, pl.DataFrame]:
    """(result, valid rows, invalid rows with a `reason` column: the first rule each breaks)."""
    checks = _problems(view, frame)
    reason = pl.lit(None, pl.String)
    for label, failing in reversed(checks):
        reason = pl.when(failing.fill_null(False)).then(pl.lit(label)).otherwise(reason)
    marked = frame.with_columns(reason.alias("__cf_reason"))
    invalid = marked.filter(pl.col("__cf_reason").is_not_null())
    valid = marked.filter(pl.col("__cf_reason").is_null()).drop("__cf_reason")
    counts = dict(invalid.group_by("__cf_reason").len().iter_rows()) if invalid.height else {}
    message = (
        f"{view.name}: {frame.height:,} rows valid"
        if not invalid.height
        else f"{view.name}: {invalid.height:,} of {frame.height:,} rows invalid ({counts})"
    )
    result = ValidationResult(not invalid.height, message, {"invalid_rows": counts})
    return result, valid, invalid.rename({"__cf_reason": "reason"})


class FeatureValidationStage(Stage):
    reads = tuple(feature_dataset(g) for g in FEATURE_GROUPS)
    writes = (*(validated_dataset(g) for g in FEATURE_GROUPS), "quarantine")
    Params = FeatureValidationParams

    def run(self, context: StageContext) -> StageReport:
        report = StageReport()
        on_failure = self.params.on_failure  # type: ignore[attr-defined]
        quarantined: list[pl.DataFrame] = []
        for group in FEATURE_GROUPS:
            parts = context.datasets.parts(feature_dataset(group))
            view = context.store.get_feature_view(group) if parts else None
            for part in parts:
                frame = context.datasets.get(feature_dataset(group), part)
                assert frame is not None and view is not None
                result, valid, invalid = validate_feature_rows(view, frame)
                report.rows_read += frame.height
                if not result.passed:
                    report.messages.append(result.message)
                    if on_failure == "fail":
                        raise CinefeatError(f"feature validation failed: {result.message}")
                    if on_failure == "quarantine":
                        quarantined.append(_as_quarantine(group, part, invalid))
                kept = valid if on_failure == "quarantine" else frame
                meta = context.datasets.meta(feature_dataset(group), part)
                context.datasets.put(validated_dataset(group), kept, part, meta)
                report.rows_written += kept.height
        if quarantined:
            rows = pl.concat(quarantined)
            report.rows_quarantined = rows.height
            report.outputs.append(quarantine_output(context.store, rows))
        return report


def _as_quarantine(group: str, part: str, invalid: pl.DataFrame) -> pl.DataFrame:
    raw = invalid.drop("reason").select(pl.struct(pl.all()).struct.json_encode().alias("raw"))
    return pl.DataFrame(
        {
            "kind": f"features:{group}",
            "raw": raw["raw"],
            "reason": invalid["reason"],
            "source": f"pipeline partition {part}",
            "snapshot_ts": invalid["event_timestamp"],
        }
    ).cast(QUARANTINE_SCHEMA)
