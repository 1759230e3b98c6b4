"""The registry's SQL tables (SQLAlchemy Core), shared by SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

__all__ = [
    "entities",
    "feature_services",
    "feature_view_versions",
    "feature_views",
    "metadata",
    "on_demand_views",
    "projects",
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
