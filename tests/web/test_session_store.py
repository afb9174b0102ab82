"""The session store (invitations.web.session_store) answers as Django's database sessions do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session as StoredSession
from django.utils import timezone

from invitations.web.session_store import SessionStore

pytestmark = pytest.mark.django_db


def test_a_signed_in_session_is_read_and_an_expired_one_is_not(agent_client):
    assert agent_client.get("/").status_code == 200
    key = agent_client.cookies["sessionid"].value
    StoredSession.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    answer = agent_client.get("/")
    assert answer.status_code == 302
    assert answer["Location"].startswith("/accounts/login/")


def test_an_unknown_key_is_forgotten():
    store = SessionStore(session_key="no-such-session-key-0123456789")
    assert store.load() == {}
    assert store.session_key is None
