"""Building a point-in-time retrieval job: scans per view version, plus on-demand features."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pyarrow as pa

from cinefeat.duck import connect
from cinefeat.errors import FeatureNameCollisionError
from cinefeat.offline import (
    DeltaOfflineStore,
    FeatureRequest,
    RetrievalJob,
    scan_sql,
)
from cinefeat.ondemand import check_request_columns, compute_on_demand, on_demand_inputs
from cinefeat.registry import RegistrySnapshot, Resolution

__all__ = ["historical_job"]


def historical_job(
    entity: pa.Table,
    resolution: Resolution,
    snapshot: RegistrySnapshot,
    offline: DeltaOfflineStore,
    repo_path: Path,
    pins: Mapping[str, int | None],
) -> RetrievalJob:
    inputs = on_demand_inputs(snapshot, resolution.on_demand)
    groups = [(r.view, r.features, r.output_names) for r in resolution.views] + inputs.reads
    requests, versions = [], {}
    connection = connect()  # only to inspect FileSource schemas; the job opens its own
    try:
        for view, features, names in groups:
            snap = None
            if view.is_managed:
                snap = offline.snapshot(view, pins.get(view.table_name))
                versions[view.table_name] = snap.delta_version
            scan = scan_sql(
                view, features, snapshot=snap, repo_path=repo_path, connection=connection
            )
            requests.append(FeatureRequest(view, features, names, scan))
    finally:
        connection.close()
    if not resolution.on_demand:
        return RetrievalJob(entity, requests, versions, output_order=resolution.order)

    check_request_columns(entity, inputs.request_fields)
    for item in resolution.on_demand:
        for name in item.output_names:
            if name in entity.column_names:
                raise FeatureNameCollisionError(
                    f"on-demand feature {item.view.name}:{name} would be output as {name!r}, "
                    "already a column of entity_df; pass full_feature_names=True"
                )

    def finish(joined: pa.Table) -> pa.Table:
        columns = {name: joined.column(name) for name in inputs.hidden_names}
        columns.update({name: joined.column(name) for name in inputs.request_fields})
        result = joined
        for item in resolution.on_demand:
            for name, values in compute_on_demand(item, columns, joined.num_rows).items():
                result = result.append_column(name, values)
        return result.select([*entity.column_names, *resolution.order])

    order = [*(n for r in resolution.views for n in r.output_names), *inputs.hidden_names]
    job = RetrievalJob(entity, requests, versions, output_order=order, finish=finish)
    job.feature_names = list(resolution.order)
    return job
