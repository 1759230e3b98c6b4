"""Profiles of what each offline commit wrote, kept in the registry (kind "profile", one per
view version and Delta version), so every write's data can be inspected and compared later."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from cinefeat.definitions import FeatureView
from cinefeat.quality._json import json_safe
from cinefeat.quality._profile import FrameProfile, profile_frame
from cinefeat.registry import QualityRecords, StoredDocument

__all__ = [
    "PROFILE_KIND",
    "WriteProfile",
    "list_write_profiles",
    "profile_written_rows",
    "store_write_profile",
]

PROFILE_KIND = "profile"


@dataclass(frozen=True)
class WriteProfile:
    """The profile of the rows one commit wrote to a view's table: which commit (view version,
    Delta version, operation: "write", "replace" or "push") and when."""

    view: str
    version: int
    delta_version: int
    operation: str
    written_at: datetime
    profile: FrameProfile

    @classmethod
    def from_document(cls, document: StoredDocument) -> WriteProfile:
        body = document.body
        return cls(
            body["view"],
            int(body["version"]),
            int(body["delta_version"]),
            body["operation"],
            document.created_at,
            FrameProfile.from_dict(body["profile"]),
        )


def profile_key(version: int, delta_version: int) -> str:
    """Sorts by view version, then Delta version (zero-padded)."""
    return f"v{version:06d}-d{delta_version:012d}"


def profile_written_rows(
    view: FeatureView, rows: pl.LazyFrame, *, sample_rows: int | None
) -> FrameProfile:
    """The profile of the view's features and event time in `rows` (what a commit writes)."""
    present = set(rows.collect_schema().names())
    columns = [c for c in (*view.feature_names, view.event_timestamp_column) if c in present]
    return profile_frame(rows, columns, sample_rows=sample_rows)


def store_write_profile(
    records: QualityRecords,
    view: FeatureView,
    profile: FrameProfile,
    *,
    delta_version: int,
    operation: str,
) -> WriteProfile:
    """Store the profile of one commit under its key (replacing one stored for it before)."""
    assert view.version is not None, "profiles are of applied views"
    body: dict[str, Any] = {
        "view": view.name,
        "version": view.version,
        "delta_version": delta_version,
        "operation": operation,
        "profile": json_safe(profile.to_dict()),
    }
    document = records.put_document(
        PROFILE_KIND, view.name, profile_key(view.version, delta_version), body
    )
    return WriteProfile.from_document(document)


def list_write_profiles(
    records: QualityRecords, view: str, *, limit: int | None = None
) -> list[WriteProfile]:
    """A view's write profiles, newest first."""
    documents = records.list_documents(PROFILE_KIND, view, limit=limit)
    return [WriteProfile.from_document(d) for d in documents]
