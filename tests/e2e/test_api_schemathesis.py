"""The served OpenAPI document against the API it describes: schemathesis generates requests
from /api/v1/openapi.json and sends them over real HTTP to a live server, with a real token
whose agent delivers through the sandbox. Every answer must be no server error and match the
document: its status, content type, headers and body.

Bounded and repeatable: at most 25 examples per operation, drawn from data the document allows,
its own examples and data it does not allow; derandomized (the same examples on every run),
no example database kept.
"""

from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from invitations import services
from invitations.services import tokens

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

MAX_EXAMPLES = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
def seeded(make_agent, sandbox_credential, live_server, settings):
    """An agent with a session and a sent invitation, and a token acting as them. The rate
    limits are raised so that the examples meet more than 429s (tests/test_api.py has those)."""
    settings.RATE_LIMIT_PER_AGENT = settings.RATE_LIMIT_PER_DESTINATION = "1000/60"
    settings.RATE_LIMIT_PER_PREFIX = "1000/60"
    agent = make_agent(credential=sandbox_credential)
    invitee = services.invitation_create(agent=agent, destination="+14155550134")
    _token, raw = tokens.api_token_create(user=agent, name="schemathesis", actor=None)
    return {"token": raw, "session_id": invitee.session_id, "invitee_id": invitee.pk}


def test_every_answer_matches_the_served_schema(live_server, seeded):
    schema = schemathesis.openapi.from_url(f"{live_server.url}/api/v1/openapi.json")
    statuses: Counter[tuple[str, int]] = Counter()
    # Ending the session last, so that the others meet it open.
    results = list(schema.get_all_operations())
    assert all(isinstance(result, Ok) for result in results), results  # the document is valid
    operations = sorted(
        (result.ok() for result in results if isinstance(result, Ok)),
        key=lambda operation: operation.path.endswith("/end/"),
    )
    assert len(operations) == 7

    for operation in operations:
        # Data the document allows, its own examples (a destination that can be sent to), and
        # data it does not allow (which must be refused with a documented error, not a 500).
        strategies = [
            operation.as_strategy(GenerationMode.POSITIVE),
            *schema.get_strategies_from_examples(operation),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ]

        @given(case=st.one_of(strategies))
        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        def answers_as_documented(case):
            # Generated ids would almost never name the agent's own session or invitee: the
            # path names them, so that bodies and headers meet real objects (404s for
            # others' and missing ones are tested in tests/test_api.py).
            for name in ("session_id", "invitee_id"):
                if case.path_parameters and name in case.path_parameters:
                    case.path_parameters[name] = seeded[name]
            response = case.call_and_validate(
                base_url=live_server.url,
                headers={"Authorization": f"Bearer {seeded['token']}"},
                checks=CHECKS,
                timeout=30,
            )
            statuses[(case.operation.label, response.status_code)] += 1

        answers_as_documented()

    print(f"schemathesis: {len(operations)} operations, {statuses.total()} requests", statuses)
    assert {label for label, _status in statuses} == {operation.label for operation in operations}
