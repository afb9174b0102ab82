"""Admin lists cost the same number of queries whatever the number of rows: everything a row
shows is fetched with the page, never once per row."""

import itertools
import re

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from invitations import services
from invitations.models import (
    AgentProfile,
    AttemptOutcome,
    AuditEvent,
    DeliveryAttempt,
    DeliveryReceipt,
    DeliveryStatus,
    Invitee,
    Session,
    Team,
)
from invitations.services import tokens

pytestmark = pytest.mark.django_db

_numbers = itertools.count(1)


def user():
    return get_user_model().objects.create(username=f"user-{next(_numbers)}")


def credential():
    made, _ = services.credential_upsert(
        label=f"cred-{next(_numbers)}",
        provider="glance",
        base_url="https://glance.invalid",
        group_id=72,
        api_key="key",
    )
    return made


def session():
    # Every row gets related objects of its own, so a per-row query cannot hide in a cache.
    return Session.objects.create(
        credential=credential(), created_by=user(), session_type=1, session_key="123456"
    )


def invitee():
    return Invitee.objects.create(
        session=session(),
        channel="sms",
        destination=f"+1415555{next(_numbers):04d}",
        status=DeliveryStatus.SENT,
    )


def make_agent_profile():
    AgentProfile.objects.create(
        user=user(),
        partner_user_id="puid",
        default_credential=credential(),
        team=Team.objects.create(name=f"team-{next(_numbers)}"),
    )


def delivery_receipt():
    DeliveryReceipt.objects.create(
        source=DeliveryReceipt.Source.SMS_GATEWAY,
        event_id=f"evt-{next(_numbers)}",
        message_id=f"m-{next(_numbers)}",
        status="delivered",
        occurred_at=timezone.now(),
        invitee=invitee(),
        applied=True,
    )


MAKERS = {
    "partnercredential": credential,
    "agentprofile": make_agent_profile,
    "team": lambda: Team.objects.create(name=f"team-{next(_numbers)}"),
    "session": session,
    "invitee": invitee,
    "deliveryattempt": lambda: DeliveryAttempt.objects.create(
        invitee=invitee(), outcome=AttemptOutcome.SENT, http_status=200
    ),
    "deliveryreceipt": delivery_receipt,
    "auditevent": lambda: services.audit_record(
        actor=user(), action=AuditEvent.Action.BULK_INVITE, target="list.csv"
    ),
    "apitoken": lambda: tokens.api_token_create(user=user(), name="crm", actor=None),
}


def queries_for(client, url, rows):
    client.get(url)  # warm per-process caches (content types, permissions)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    shown = re.search(r'<p class="paginator">\s*(\d+) ', html)
    assert shown is not None and int(shown.group(1)) == rows
    return len(captured)


@pytest.mark.parametrize("model", list(MAKERS))
def test_changelist_queries_do_not_grow_with_rows(admin_client, model):
    url = reverse(f"admin:invitations_{model}_changelist")
    for _ in range(2):
        MAKERS[model]()
    few = queries_for(admin_client, url, rows=2)
    for _ in range(28):
        MAKERS[model]()
    assert queries_for(admin_client, url, rows=30) == few
