"""Property-based fuzzing of the whole API from its own /openapi.json (schemathesis): whatever
a client sends, with or without the token, the server never answers with a 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from cinefeat.server import create_app
from tests.server.conftest import auth

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("with_token", [False, True])
def test_no_input_gets_a_server_error(served: Path, with_token: bool) -> None:
    """With the token, pushes and materializations get past auth to their own validation."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(served))
    headers = auth() if with_token else None
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 16  # every endpoint is in the schema, so every one is fuzzed
    for operation in operations:

        @given(case=operation.as_strategy())
        @FUZZ
        def fuzz(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        fuzz()
