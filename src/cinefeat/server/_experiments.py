"""Online A/B tests over REST: experiment-aware `/get-online-features` reads (each entity row
gets its arm's feature service), the outcomes intake, and the experiments with a live analysis."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
from fastapi import APIRouter

from cinefeat.online import OnlineResponse
from cinefeat.quality import (
    Arm,
    ExperimentNotFoundError,
    ExperimentStoppedError,
    OnlineExperiment,
    analyze_online_experiment,
    assign_arms,
    entity_keys,
    get_online_experiment,
    list_online_experiments,
    record_outcomes,
)
from cinefeat.server._errors import ApiError
from cinefeat.server._models import GetOnlineFeaturesRequest, OutcomesRequest
from cinefeat.server._online import EPOCH, feast_response
from cinefeat.store import FeatureStore

__all__ = ["NOT_REQUESTED", "ExperimentSpecs", "experiments_router", "read_experiment"]

# The status of a feature that an entity row's arm does not serve (its value is null). Not a
# Feast FieldStatus: Feast has no experiments.
NOT_REQUESTED = "NOT_REQUESTED"
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No bearer token"},
    403: {"description": "Wrong token, or no token configured for this endpoint"},
    404: {"description": "Unknown experiment"},
    409: {"description": "The experiment is stopped"},
    413: {"description": "Too many outcomes"},
    422: {"description": "Malformed body, or values the experiment cannot take"},
}


@contextmanager
def _experiment_errors() -> Iterator[None]:
    """The experiment's own errors as HTTP answers (the rest of CinefeatError is a 422)."""
    try:
        yield
    except ExperimentNotFoundError as exc:
        raise ApiError(404, str(exc)) from None
    except ExperimentStoppedError as exc:
        raise ApiError(409, str(exc)) from None


class ExperimentSpecs:
    """Experiment specs by id for the read path, each re-read from the registry at most every
    `ttl` seconds (the registry's cache_ttl_seconds): a stop reaches every worker within it."""

    def __init__(self, store: FeatureStore, ttl: float) -> None:
        self.store = store
        self.ttl = ttl
        self._specs: dict[str, tuple[float, OnlineExperiment]] = {}

    def get(self, experiment_id: str) -> OnlineExperiment:
        now = time.monotonic()
        cached = self._specs.get(experiment_id)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        with _experiment_errors():
            spec = get_online_experiment(self.store, experiment_id)
        if len(self._specs) >= 1024:  # ids come from clients: keep the cache bounded
            self._specs.clear()
        self._specs[experiment_id] = (now, spec)
        return spec


def _object_array(values: Sequence[Any]) -> npt.NDArray[np.object_]:
    # fromiter keeps each item as it is (a list-valued feature stays one item).
    return np.fromiter(values, dtype=object, count=len(values))


def _merge(
    count: int, parts: list[tuple[npt.NDArray[np.intp], OnlineResponse]], entities: dict[str, Any]
) -> dict[str, Any]:
    """One Feast answer from the arms' answers: the union of their features (control's
    first), each row's values from its own arm, NOT_REQUESTED where its arm lacks a feature."""
    keys = dict.fromkeys(key for _, response in parts for key in response.join_keys)
    names = dict.fromkeys(name for _, response in parts for name in response.values)
    results: list[dict[str, Any]] = [
        {
            "values": entities.get(key, [None] * count),
            "statuses": ["PRESENT"] * count,
            "event_timestamps": [EPOCH] * count,
        }
        for key in keys
    ]
    for name in names:
        values = np.full(count, None, dtype=object)
        statuses = np.full(count, NOT_REQUESTED, dtype=object)
        stamps = np.full(count, EPOCH, dtype=object)
        for rows, response in parts:
            if name in response.values:
                values[rows] = _object_array(response.values[name])
                statuses[rows] = _object_array([str(s) for s in response.statuses[name]])
                times = response.event_timestamps[name]
                stamps[rows] = _object_array([EPOCH if t is None else t for t in times])
        results.append(
            {
                "values": values.tolist(),
                "statuses": statuses.tolist(),
                "event_timestamps": stamps.tolist(),
            }
        )
    return {"metadata": {"feature_names": [*keys, *names]}, "results": results}


def read_experiment(
    store: FeatureStore,
    specs: ExperimentSpecs,
    request: GetOnlineFeaturesRequest,
    max_entities: int,
) -> dict[str, Any]:
    """A `/get-online-features` request naming an experiment: every entity row is assigned
    its arm (by its unit keys) and gets that arm's feature service; a stopped experiment
    serves control to everyone."""
    if request.rows > max_entities:
        raise ApiError(
            413,
            f"{request.rows:,} entities in one request; this server answers at most "
            f"{max_entities:,} (server.max_entities in cinefeat.yaml)",
        )
    assert request.experiment is not None  # the caller routes only these here
    experiment = specs.get(request.experiment)
    count = request.rows
    if experiment.status == "stopped":
        treated = np.zeros(count, dtype=np.bool_)
    else:
        treated = assign_arms(experiment, entity_keys(request.entities, experiment.unit_keys))
    names = list(request.entities)
    rows = [
        dict(zip(names, values, strict=True))
        for values in zip(*request.entities.values(), strict=True)
    ]
    parts: list[tuple[npt.NDArray[np.intp], OnlineResponse]] = []
    arm_masks: tuple[tuple[Arm, npt.NDArray[np.bool_]], ...] = (
        ("control", ~treated),
        ("treatment", treated),
    )
    for arm, mask in arm_masks:
        indices = np.flatnonzero(mask)
        if indices.size:
            service = experiment.service(arm)
            arm_rows = rows if indices.size == count else [rows[i] for i in indices]
            response = store.get_online_features(service, arm_rows, request.full_feature_names)
            parts.append((indices, response))
    # One arm (a single entity, the usual case): exactly that service's answer.
    answer = (
        feast_response(parts[0][1]) if len(parts) == 1 else _merge(count, parts, request.entities)
    )
    answer["metadata"]["experiment_id"] = experiment.id
    answer["metadata"]["arms"] = np.where(treated, "treatment", "control").tolist()
    return answer


def experiments_router(
    store: FeatureStore,
    specs: ExperimentSpecs,
    reads: Sequence[Any],
    writes: Sequence[Any],
    max_outcomes: int,
) -> APIRouter:
    """`POST /experiments/{id}/outcomes` (behind `writes`), `GET /experiments` and
    `GET /experiments/{id}` (behind `reads`)."""
    router = APIRouter(prefix="/experiments", tags=["experiments"])

    @router.post(
        "/{experiment_id}/outcomes",
        responses=_ERRORS,
        dependencies=list(writes),
        summary="Record observed outcomes; each entity's arm is computed by the server",
    )
    def outcomes(experiment_id: str, body: OutcomesRequest) -> dict[str, Any]:
        if len(body.outcomes) > max_outcomes:
            raise ApiError(
                413,
                f"{len(body.outcomes):,} outcomes in one request; this server takes at most "
                f"{max_outcomes:,} (server.max_push_rows in cinefeat.yaml)",
            )
        rows = [row.model_dump() for row in body.outcomes]
        with _experiment_errors():
            arms = record_outcomes(store, experiment_id, rows)
        return {"experiment_id": experiment_id, "recorded": len(rows), "arms": arms}

    @router.get(
        "",
        responses=_ERRORS,
        dependencies=list(reads),
        summary="Every online experiment, newest first",
    )
    def experiments() -> list[dict[str, Any]]:
        return [experiment.to_dict() for experiment in list_online_experiments(store)]

    @router.get(
        "/{experiment_id}",
        responses=_ERRORS,
        dependencies=list(reads),
        summary="One online experiment and its analysis now (not stored)",
    )
    def experiment(experiment_id: str) -> dict[str, Any]:
        with _experiment_errors():
            spec = get_online_experiment(store, experiment_id)
            analysis = analyze_online_experiment(store, experiment_id, save=False)
        return {"experiment": spec.to_dict(), "analysis": analysis.to_dict()}

    return router
