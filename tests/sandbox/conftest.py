"""Sends the sandbox's valid requests (tests.support.sandbox) through the test client."""

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
            request.body,
            content_type=request.content_type,
            headers=request.headers,
        )

    return send
