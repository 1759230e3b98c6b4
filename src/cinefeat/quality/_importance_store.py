"""Feature importance of a feature service: build its point-in-time training set from an
entity dataframe that carries the label, rank the service's features, and keep the result
in the registry with the service."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from cinefeat.errors import CinefeatError
from cinefeat.offline import to_arrow_table
from cinefeat.quality._importance import feature_importance
from cinefeat.quality._importance_result import ImportanceResult

if TYPE_CHECKING:
    from cinefeat.store import FeatureStore

__all__ = ["IMPORTANCE_KIND", "latest_importance", "service_importance"]

IMPORTANCE_KIND = "importance"  # the registry's quality-document kind


def _document_key(result: ImportanceResult) -> str:
    """Sorts by time (UTC, microseconds); the suffix keeps two results of one microsecond
    apart."""
    assert result.created_at is not None
    return f"{result.created_at:%Y%m%dT%H%M%S.%fZ}-{secrets.token_hex(3)}"


def service_importance(
    store: FeatureStore,
    service: str,
    entity_df: Any,
    label: str,
    *,
    full_feature_names: bool = False,
    save: bool = True,
    **options: Any,
) -> ImportanceResult:
    """Rank the features of feature service `service` for predicting `label`.

    `entity_df` (pandas, Polars or Arrow) holds the join keys, the event timestamp and the
    label of each training example, as for `get_historical_features`; the features are joined
    point in time, then `feature_importance(..., **options)` ranks the service's features (join
    keys, the timestamp and other entity_df columns are never ranked). The held-out rows are
    the latest by the entity timestamp. With `save`, the result is stored with the service
    (`latest_importance` reads it back).
    """
    definition = store.get_feature_service(service)  # FeatureNotFoundError when unknown
    entity = to_arrow_table(entity_df, "entity_df")
    if label not in entity.column_names:
        raise CinefeatError(
            f"entity_df has no label column {label!r}; its columns are {entity.column_names}"
        )
    job = store.get_historical_features(entity, definition, full_feature_names)
    # Arrow, not to_df(): pandas would turn integer features with nulls into floats and lists
    # into object arrays; the join is the same.
    training = job.to_arrow()
    options.setdefault("features", list(job.feature_names))
    options.setdefault("time_column", job.entity_timestamp_column)
    result = feature_importance(training, label, **options)
    result = replace(
        result,
        service=service,
        table_versions={k: v for k, v in job.table_versions.items() if v is not None},
    )
    if save:
        store.registry.quality_records().put_document(
            IMPORTANCE_KIND,
            service,
            _document_key(result),
            result.to_dict(),
            created_at=result.created_at,
        )
    return result


def latest_importance(store: FeatureStore, service: str) -> ImportanceResult | None:
    """The newest stored importance result of `service`, or None when none is stored (an
    unknown service that has no stored result raises FeatureNotFoundError)."""
    documents = store.registry.quality_records().list_documents(IMPORTANCE_KIND, service, limit=1)
    if not documents:
        store.get_feature_service(service)
        return None
    return ImportanceResult.from_dict(documents[0].body)
