"""A Digital Samba credential in the admin: added with its team id, Test connection registers
its webhook, and the webhook's secret is never shown."""

import pytest
import responses
from django.contrib.messages import constants
from django.urls import reverse

from invitations.models import PartnerCredential
from tests.support.digitalsamba import BASE, DEVELOPER_KEY, TEAM_ID, FakeDigitalSamba

pytestmark = pytest.mark.django_db


def form(**fields):
    return {
        "provider": "digitalsamba",
        "label": "acme-ds",
        "base_url": BASE,
        "account": TEAM_ID,
        "auth_type": "basic",
        "auth_header": "authorization",
        "session_params": "",
        "link_delivery": "portal",
        "session_type": "1",
        "is_active": "on",
        "secret": DEVELOPER_KEY,
        **fields,
    }


def test_the_team_id_is_required(admin_client):
    response = admin_client.post(
        reverse("admin:invitations_partnercredential_add"), form(account="")
    )
    assert response.status_code == 200
    assert "Digital Samba credentials need the Digital Samba team id." in response.content.decode()
    assert not PartnerCredential.objects.exists()


@responses.activate
def test_test_connection_registers_the_webhook_and_its_secret_stays_hidden(admin_client, settings):
    settings.PORTAL_BASE_URL = "https://portal.example.com"
    fake = FakeDigitalSamba().install()
    added = admin_client.post(reverse("admin:invitations_partnercredential_add"), form())
    assert added.status_code == 302
    credential = PartnerCredential.objects.get(label="acme-ds")
    change = reverse("admin:invitations_partnercredential_change", args=[credential.pk])
    assert "not registered yet" in admin_client.get(change).content.decode()

    response = admin_client.post(
        reverse("admin:invitations_partnercredential_changelist"),
        {"action": "test_connection", "_selected_action": [credential.pk]},
        follow=True,
    )

    [(level, message)] = [(m.level, str(m)) for m in response.context["messages"]]
    assert level == constants.SUCCESS
    assert message == (
        "acme-ds: Digital Samba accepted the credential. Its webhook is registered at "
        "https://portal.example.com/webhooks/digitalsamba/acme-ds/."
    )
    [hook] = fake.webhooks.values()
    credential.refresh_from_db()
    page = admin_client.get(change).content.decode()
    assert f"registered ({hook['id']})" in page
    assert credential.reveal_webhook_secret() not in page
    assert DEVELOPER_KEY not in page
