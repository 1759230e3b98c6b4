"""The registry's SQL tables (SQLAlchemy Core), shared by SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "entities",
    "experiment_outcomes",
    "feature_services",
    "feature_view_versions",
    "feature_views",
    "metadata",
    "monitor_points",
    "on_demand_views",
    "pipeline_checkpoints",
    "pipeline_inputs",
    "pipeline_runs",
    "projects",
    "quality_documents",
    "watermarks",
]

metadata = MetaData()

# One row per project; `serial` is bumped by every apply, so readers can tell when to refresh,
# and updating it first makes concurrent applies queue behind each other's row lock.
projects = Table(
    "cinefeat_projects",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("serial", BigInteger, nullable=False, default=0),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


def _spec_table(name: str, *extra: Column[object]) -> Table:
    """A table of definitions keyed by (project, name, *extra keys), each a JSON spec."""
    return Table(
        name,
        metadata,
        Column("project", String(255), primary_key=True),
        Column("name", String(255), primary_key=True),
        *extra,
        Column("spec", Text, nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )


entities = _spec_table("cinefeat_entities")

# The live views: name -> current version. Removed views lose this row but keep their versions.
feature_views = Table(
    "cinefeat_feature_views",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("name", String(255), primary_key=True),
    Column("current_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

feature_view_versions = _spec_table(
    "cinefeat_feature_view_versions", Column("version", Integer, primary_key=True)
)

feature_services = _spec_table("cinefeat_feature_services")
on_demand_views = _spec_table("cinefeat_on_demand_views")

# Materialization progress per view version: event time reached and the Delta version read.
watermarks = Table(
    "cinefeat_watermarks",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("view", String(255), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("watermark_us", BigInteger, nullable=False),
    Column("delta_version", BigInteger, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# -- feature pipelines ---------------------------------------------------------------------

# The input files each pipeline has processed, with the fingerprint they had then, so the next
# run only reprocesses what is new or changed. Paths may be long: 4096 is Linux's PATH_MAX.
pipeline_inputs = Table(
    "cinefeat_pipeline_inputs",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("pipeline", String(255), primary_key=True),
    Column("input", String(255), primary_key=True),
    Column("path", String(4096), primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mtime_ns", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False),
)

# One row per pipeline run. The columns are what runs are looked up and listed by; `record`
# holds the rest (inputs, skipped files, stages, outputs, options) as JSON.
pipeline_runs = Table(
    "cinefeat_pipeline_runs",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("pipeline", String(255), nullable=False),
    Column("config_hash", String(64), nullable=False),
    Column("status", String(32), nullable=False),
    Column("error", Text, nullable=True),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    Column("record", Text, nullable=False),
    # Listing a pipeline's runs newest first is the common query (history, --resume).
    Index("ix_cinefeat_pipeline_runs_pipeline", "project", "pipeline", "started_at"),
)

# What each (stage, partition) of a run produced, so a killed run can resume after the last
# finished partition instead of starting over.
pipeline_checkpoints = Table(
    "cinefeat_pipeline_checkpoints",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("run_id", String(64), primary_key=True),
    Column("stage", String(255), primary_key=True),
    Column("partition", String(1024), primary_key=True),
    Column("output", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# -- feature quality -----------------------------------------------------------------------

# Quality artefacts as JSON documents, one kind per producer: "profile" (subject: view, key:
# view version and Delta version), "importance" (subject: feature service), "experiment"
# (subject: experiment id), "alert" (subject: view). The kinds differ in shape but are all
# written once, read back whole and listed by subject in time order, so one table serves them.
quality_documents = Table(
    "cinefeat_quality_documents",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("kind", String(64), primary_key=True),
    Column("subject", String(255), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("body", Text, nullable=False),
    # A state to look documents up by without reading them (an alert's "firing"/"resolved").
    Column("label", String(64), nullable=True),
    Index("ix_cinefeat_quality_documents_time", "project", "kind", "subject", "created_at"),
    Index("ix_cinefeat_quality_documents_label", "project", "kind", "label"),
)

# Monitoring time series: one value of one metric (freshness_seconds, null_rate, psi, ...) of
# a view (or one of its features; "" for the view as a whole) at one time.
monitor_points = Table(
    "cinefeat_monitor_points",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("view", String(255), primary_key=True),
    Column("feature", String(255), primary_key=True),
    Column("metric", String(64), primary_key=True),
    Column("at_us", BigInteger, primary_key=True),
    Column("value", Float, nullable=False),
    Column("context", String(255), nullable=False),
)

# Outcomes of online experiments (POST /experiments/{id}/outcomes): one row per observation.
experiment_outcomes = Table(
    "cinefeat_experiment_outcomes",
    metadata,
    Column("project", String(255), primary_key=True),
    Column("experiment_id", String(64), primary_key=True),
    Column("outcome_id", String(64), primary_key=True),
    Column("arm", String(32), nullable=False),
    Column("entity_key", String(1024), nullable=False),
    Column("value", Float, nullable=False),
    Column("at_us", BigInteger, nullable=False),
    Index("ix_cinefeat_experiment_outcomes_time", "project", "experiment_id", "at_us"),
)
