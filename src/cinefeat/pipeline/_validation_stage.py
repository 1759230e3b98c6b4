"""FeatureValidationStage: check computed feature rows before they are stored. A row with a
null join key or event time, a NaN or infinite float, or breaking one of the view's rules (on
its Fields, on the view, or in the stage's YAML `rules`) is quarantined (with the reason),
fails the run, or is kept with a warning, as `on_failure` says. Each view's rule results of a
run are stored in the registry (kind "validation", keyed by run id) as its audit trail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, field_validator

from cinefeat.definitions import FeatureView, Rule, rule_from_spec
from cinefeat.errors import CinefeatError, DefinitionError
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
    # More rules per view, beside those declared on it:
    # {movie_basic: [{rule: in_range, column: runtime, min: 0, max: 600}]}
    rules: dict[str, list[dict[str, Any]]] = {}

    @field_validator("rules")
    @classmethod
    def _rules_parse(cls, value: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
        for view, specs in value.items():
            if view not in FEATURE_GROUPS:
                raise ValueError(
                    f"{view!r} is not a view this stage checks; rules go under one of "
                    f"{list(FEATURE_GROUPS)}"
                )
            for i, spec in enumerate(specs):
                try:
                    rule_from_spec(spec, f"rules.{view}[{i}]")
                except DefinitionError as exc:
                    raise ValueError(str(exc)) from None
        return value

    def rules_of(self, view: str) -> list[Rule]:
        return [rule_from_spec(spec) for spec in self.rules.get(view, [])]


def _problems(view: FeatureView, frame: pl.DataFrame) -> list[tuple[str, pl.Expr]]:
    checks = [(f"null join key {k!r}", pl.col(k).is_null()) for k in view.join_keys]
    checks.append(("null event_timestamp", pl.col("event_timestamp").is_null()))
    for name, dtype in frame.schema.items():
        if dtype.is_float() and name not in view.join_keys:
            checks.append((f"feature {name!r} is NaN or infinite", ~pl.col(name).is_finite()))
    return checks


def validate_feature_rows(
    view: FeatureView, frame: pl.DataFrame, rules: Sequence[Rule] = ()
) -> tuple[ValidationResult, pl.DataFrame, pl.DataFrame]:
    """(result, valid rows, invalid rows with a `reason` column: the first rule each breaks).
    The built-in checks (keys, event time, finite floats) come first, then the view's rules
    and `rules`. A rule that cannot be checked at all (a missing column, a broken expression)
    raises CinefeatError: it is a mistake in the definition, not in the data."""
    from cinefeat.quality import FeatureValidator

    checks = _problems(view, frame)
    reason = pl.lit(None, pl.String)
    for label, failing in reversed(checks):
        reason = pl.when(failing.fill_null(False)).then(pl.lit(label)).otherwise(reason)
    marked = frame.with_columns(reason.alias("__cf_reason"))
    all_rules = [*view.all_rules, *rules]
    rule_counts: dict[str, int] = {}
    if all_rules:
        report = FeatureValidator(all_rules).validate_features(frame)
        broken = [r for r in report.failed() if r.row_index is None]
        if broken:
            # e.g. "movie_basic: rule 'runtime in [0, 600]': no such column"
            raise CinefeatError(f"{view.name}: rule {broken[0].rule!r}: {broken[0].message}")
        rule_counts = {r.rule: r.failing_rows for r in report.results}
        by_row = report.row_failures()
        if by_row.height:
            marked = (
                marked.with_row_index("__cf_row")
                .join(
                    by_row.rename({"index": "__cf_row", "reason": "__cf_rule"}).with_columns(
                        pl.col("__cf_row").cast(pl.UInt32)
                    ),
                    on="__cf_row",
                    how="left",
                )
                .with_columns(pl.coalesce("__cf_reason", "__cf_rule").alias("__cf_reason"))
                .drop("__cf_row", "__cf_rule")
            )
    invalid = marked.filter(pl.col("__cf_reason").is_not_null())
    valid = marked.filter(pl.col("__cf_reason").is_null()).drop("__cf_reason")
    counts = dict(invalid.group_by("__cf_reason").len().iter_rows()) if invalid.height else {}
    message = (
        f"{view.name}: {frame.height:,} rows valid"
        if not invalid.height
        else f"{view.name}: {invalid.height:,} of {frame.height:,} rows invalid ({counts})"
    )
    diagnostics = {"invalid_rows": counts, "rows": frame.height, "rule_failures": rule_counts}
    result = ValidationResult(not invalid.height, message, diagnostics)
    return result, valid, invalid.rename({"__cf_reason": "reason"})


class FeatureValidationStage(Stage):
    reads = tuple(feature_dataset(g) for g in FEATURE_GROUPS)
    writes = (*(validated_dataset(g) for g in FEATURE_GROUPS), "quarantine")
    Params = FeatureValidationParams

    def run(self, context: StageContext) -> StageReport:
        report = StageReport()
        params = self.params
        assert isinstance(params, FeatureValidationParams)
        quarantined: list[pl.DataFrame] = []
        for group in FEATURE_GROUPS:
            parts = context.datasets.parts(feature_dataset(group))
            if not parts:
                continue
            view = context.store.get_feature_view(group)
            rules = params.rules_of(group)
            summary = _ValidationSummary(view, params.on_failure)
            for part in parts:
                frame = context.datasets.get(feature_dataset(group), part)
                assert frame is not None
                result, valid, invalid = validate_feature_rows(view, frame, rules)
                summary.add(result)
                report.rows_read += frame.height
                if not result.passed:
                    report.messages.append(result.message)
                    if params.on_failure == "fail":
                        summary.store(context)
                        raise CinefeatError(f"feature validation failed: {result.message}")
                    if params.on_failure == "quarantine":
                        quarantined.append(_as_quarantine(group, part, invalid))
                kept = valid if params.on_failure == "quarantine" else frame
                meta = context.datasets.meta(feature_dataset(group), part)
                context.datasets.put(validated_dataset(group), kept, part, meta)
                report.rows_written += kept.height
            summary.store(context)
        if quarantined:
            rows = pl.concat(quarantined)
            report.rows_quarantined = rows.height
            report.outputs.append(quarantine_output(context.store, rows))
        return report


@dataclass
class _ValidationSummary:
    """One view's validation over every partition of a run, as stored in the registry."""

    view: FeatureView
    on_failure: str
    rows: int = 0
    invalid: dict[str, int] = field(default_factory=dict)
    rule_failures: dict[str, int] = field(default_factory=dict)

    def add(self, result: ValidationResult) -> None:
        self.rows += int(result.diagnostics["rows"])
        for source, target in (
            ("invalid_rows", self.invalid),
            ("rule_failures", self.rule_failures),
        ):
            for name, count in result.diagnostics[source].items():
                target[name] = target.get(name, 0) + int(count)

    def store(self, context: StageContext) -> None:
        invalid_rows = sum(self.invalid.values())
        context.store.registry.quality_records().put_document(
            "validation",
            self.view.name,
            context.run_id,
            {
                "view": self.view.name,
                "version": self.view.version,
                "run_id": context.run_id,
                "rows": self.rows,
                "invalid_rows": invalid_rows,
                "valid_share": 1 - invalid_rows / self.rows if self.rows else 1.0,
                "reasons": self.invalid,
                "rule_failures": self.rule_failures,
                "on_failure": self.on_failure,
            },
        )


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
