"""Online experiments at the horizon: the analysis tests the first outcomes as recorded, so a
late batch with early event times cannot change a complete result."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from cinefeat import FeatureStore
from cinefeat.quality import (
    analyze_online_experiment,
    assign_arm,
    record_outcomes,
)
from cinefeat.timeutil import to_micros
from tests.quality.test_online_experiments import pinned_experiment, services

T0 = datetime(2024, 3, 1, tzinfo=UTC)


__all__ = ["services"]  # the fixture, imported for pytest


def test_a_late_batch_with_early_event_times_does_not_change_a_complete_result(
    services: FeatureStore,
) -> None:
    experiment = pinned_experiment(services, "frozen")
    assert experiment.required_per_arm == {"control": 16, "treatment": 16}
    created = experiment.created_at
    values = np.random.default_rng(0).normal(0.0, 1.0, 60)
    first = [
        {
            "entity": {"user_id": u},
            "value": float(values[u]),
            "event_timestamp": (created + timedelta(seconds=u)).isoformat(),
        }
        for u in range(60)
    ]
    record_outcomes(services, experiment.id, first)
    before = analyze_online_experiment(services, experiment.id)
    arms = np.array([assign_arm(experiment, f"user_id={u}") for u in range(60)])
    expected = values[arms == "treatment"][:16].mean() - values[arms == "control"][:16].mean()
    assert before.status == "complete" and before.effect == pytest.approx(expected, abs=1e-12)
    # Recorded later, sent with times before every earlier outcome, and a huge effect.
    early = (created - timedelta(hours=1)).isoformat()
    late = [
        {
            "entity": {"user_id": u},
            "value": 3.0 if assign_arm(experiment, f"user_id={u}") == "treatment" else 0.0,
            "event_timestamp": early,
        }
        for u in range(1_000, 1_060)
    ]
    record_outcomes(services, experiment.id, late)
    after = analyze_online_experiment(services, experiment.id)
    frozen = ["decision", "effect", "ci_low", "ci_high", "statistic", "p_value"]
    assert [getattr(after, name) for name in frozen] == [getattr(before, name) for name in frozen]
    assert (after.control.mean, after.treatment.std) == (before.control.mean, before.treatment.std)
    assert after.control.outcomes + after.treatment.outcomes == 120
    assert any("in the order they were recorded; 88 later" in m for m in after.messages)
    records = services.registry.quality_records()
    by_event = records.outcomes(experiment.id)
    by_arrival = records.outcomes(experiment.id, order="arrival")
    assert {o.entity_key for o in by_event[:60]} == {f"user_id={u}" for u in range(1_000, 1_060)}
    assert [o.entity_key for o in by_arrival[:60]] == [f"user_id={u}" for u in range(60)]
    recorded = [o.recorded_at for o in by_arrival]
    assert None not in recorded and recorded == sorted(recorded)  # type: ignore[type-var]


def test_outcomes_stored_before_arrival_ids_come_first_by_event_time(
    services: FeatureStore,
) -> None:
    from sqlalchemy import insert

    from cinefeat.registry import _tables as tables

    records = services.registry.quality_records()
    records.add_outcomes("exp-1", [("control", "user_id=new", 1.0, T0)])
    old = [("ffffffffffffffff", "user_id=old2", 2), ("0000000000000000", "user_id=old1", 1)]
    rows = [
        {"project": records.project, "experiment_id": "exp-1", "outcome_id": outcome_id,
         "arm": "control", "entity_key": key, "value": 0.0, "at_us": to_micros(T0) + hours}
        for outcome_id, key, hours in old
    ]  # fmt: skip
    with services.registry._writer.begin() as conn:
        conn.execute(insert(tables.experiment_outcomes), rows)
    arrival = records.outcomes("exp-1", order="arrival")
    assert [o.entity_key for o in arrival] == ["user_id=old1", "user_id=old2", "user_id=new"]
    assert [o.recorded_at is None for o in arrival] == [True, True, False]
    by_event = [o.entity_key for o in records.outcomes("exp-1")]
    assert by_event == ["user_id=new", "user_id=old1", "user_id=old2"]
