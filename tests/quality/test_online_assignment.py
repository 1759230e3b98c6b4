"""Online experiments: the arm assignment is the documented hash of the salt and the canonical
unit key, stable across calls and processes, and splits traffic in the configured share."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from cinefeat.quality import (
    ExperimentError,
    assign_arm,
    assign_arms,
    entity_key,
)
from tests.helpers import run_python
from tests.quality.test_online_experiments import spec


def test_the_canonical_entity_key() -> None:
    assert entity_key({"user_id": 1, "movie_id": 550}, ["user_id", "movie_id"]) == (
        "movie_id=550&user_id=1"
    )
    assert entity_key({"user_id": 7, "extra": 3.5}, ["user_id"]) == "user_id=7"
    assert entity_key({"user_id": "a&b=c é"}, ["user_id"]) == "user_id=a%26b%3Dc%20%C3%A9"
    for bad in (True, 1.0, None, [1]):
        with pytest.raises(ExperimentError, match="entity.user_id: a unit key must be"):
            entity_key({"user_id": bad}, ["user_id"])
    with pytest.raises(ExperimentError, match=r"missing the unit key\(s\) \['user_id'\]"):
        entity_key({"movie_id": 1}, ["user_id"])


def test_assignment_is_the_documented_hash_and_stable() -> None:
    experiment = spec()
    # The formula by hand: first 8 bytes of sha256("<salt>:<key>") / 2^64 < share.
    digest = hashlib.sha256(("0" * 32 + ":user_id=2").encode()).digest()
    assert int.from_bytes(digest[:8], "big") / 2**64 == pytest.approx(0.4923613)
    keys = [f"user_id={u}" for u in range(1, 11)]
    expected = ["control", "treatment", "control", "control", "treatment"]
    expected += ["control", "control", "control", "treatment", "treatment"]
    assert [assign_arm(experiment, key) for key in keys] == expected
    assert assign_arms(experiment, keys).tolist() == [arm == "treatment" for arm in expected]
    # Another process (another hash seed) assigns the same arms.
    code = (
        "from tests.quality.test_online_experiments import spec\n"
        "from cinefeat.quality import assign_arm\n"
        "print([assign_arm(spec(), f'user_id={u}') for u in range(1, 11)])"
    )
    result = run_python(code, cwd=Path(__file__).parents[2])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(expected)


@pytest.mark.parametrize("share", [0.5, 0.2])
def test_the_treatment_share_holds_over_100k_keys(share: float) -> None:
    experiment = spec(treatment_share=share, salt="5eed" * 8)
    keys = [f"user_id={u}" for u in range(100_000)]
    treated = assign_arms(experiment, keys)
    # Binomial sd at 100k keys is at most 0.0016: 0.005 is three of them.
    assert abs(treated.mean() - share) < 0.005
    assert np.array_equal(treated, assign_arms(experiment, keys))
    sample = [assign_arm(experiment, key) == "treatment" for key in keys[:2_000]]
    assert sample == treated[:2_000].tolist()


# -- through the registry -----------------------------------------------------------------
