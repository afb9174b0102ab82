"""Customers' numbers and addresses never reach a log line in clear; a keyed hash stands in
for them, so lines about one customer can still be found together."""

from __future__ import annotations

import logging

import pytest
from django.urls import reverse

from invitations import services
from invitations.security.redaction import destination_hash, redact_personal_data

NUMBER = "+447911123456"
ADDRESS = "ann.lee@example.com"


@pytest.mark.parametrize(
    "line",
    [
        f"SMS to {NUMBER} failed",
        '"GET /invite/?phone=%2B447911123456&name=Ann+Lee&ticket=T-42 HTTP/1.1" 200 5120',
        f"mail to {ADDRESS} bounced",
        '"GET /invite/?email=ann.lee%40example.com HTTP/1.1" 200 10',
    ],
)
def test_numbers_addresses_and_deep_link_values_are_hashed(line):
    scrubbed = redact_personal_data(line)
    for personal in (NUMBER, "447911123456", "ann.lee", "Ann+Lee", "example.com"):
        assert personal not in scrubbed
    assert "#" in scrubbed


def test_the_hash_is_stable_keyed_and_short(settings):
    assert destination_hash(NUMBER) == destination_hash(NUMBER)
    assert len(destination_hash(NUMBER)) == 12
    before = destination_hash(NUMBER)
    settings.SECRET_KEY = "another-secret-key-for-this-test-only-0123456789"
    assert destination_hash(NUMBER) != before  # not a plain hash anyone can recompute


def test_ordinary_log_lines_are_left_alone():
    line = "invitee 5 queued in session 639385 at 2026-11-23 12:40:01 (http 200)"
    assert redact_personal_data(line) == line


@pytest.mark.django_db
def test_a_whole_flow_logs_no_number_or_address(
    client,
    agent,
    locmem_upstream,
    django_capture_on_commit_callbacks,
    caplog,
):
    """No record of a deep link, an invitation and a resend carries the destination, even
    before the handler's filter; the queued line carries its hash."""
    caplog.set_level(logging.DEBUG)
    client.force_login(agent)
    client.get(reverse("invitations:invite"), {"phone": NUMBER, "name": "Ann Lee"})
    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(agent=agent, destination=NUMBER, name="Ann Lee")
    invitee.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.invitee_resend(invitee=invitee, actor=agent)
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert f"#{destination_hash(NUMBER)}" in text  # the queued line, for correlation
    assert NUMBER not in text and "7911123456" not in text


def test_the_configured_handlers_scrub_runserver_request_lines(settings):
    handler = settings.LOGGING["loggers"]["django.server"]["handlers"]
    assert handler == ["console"]
    assert settings.LOGGING["handlers"]["console"]["filters"] == ["redact"]
