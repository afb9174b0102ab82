"""Sends the sandbox's valid requests (tests.support.sandbox) through the test client."""

import json

import pytest

from tests.support.sandbox import valid_call


@pytest.fixture
def call(client, settings):
    """call(target) sends the target's valid request through Django's test client."""

    def send(target):
        request = valid_call(target, settings)
        return client.generic(
            request.method,
            request.path,
            json.dumps(request.body),
            content_type="application/json",
            headers=request.headers,
        )

    return send
