"""The home page's "Sending with" picker and CRM deep links: friendly sender names, links that
carry what the form holds, and addresses a sender cannot use named instead of dropped."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from invitations import services
from invitations.web import senders

HOME = reverse("invitations:home")
INVITE = reverse("invitations:invite")


@pytest.fixture
def mailer(db):
    credential, _ = services.credential_upsert(
        label="mailer",
        provider="onsync",
        base_url="https://onsync.invalid/api/1",
        account="acct",
        api_key="k",
        link_delivery="provider",
    )
    credential.company_name = "Acme Support"
    credential.save()
    return credential


def query(link: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}


def test_senders_are_named_by_provider_company_and_what_they_send(credential, mailer):
    names = senders.sender_names([credential, mailer])
    assert names[credential.pk] == "Glance: test-glance (SMS)"
    assert names[mailer.pk] == "OnSync: Acme Support (e-mail)"


def test_senders_that_would_share_a_name_are_told_apart_by_label(make_credential):
    one = make_credential(label="one", company_name="Acme")
    two = make_credential(label="two", company_name="Acme")
    assert set(senders.sender_names([one, two]).values()) == {
        "Glance: Acme (SMS), one",
        "Glance: Acme (SMS), two",
    }


def test_a_deep_link_fills_the_form_and_every_sender_link_carries_it(credential, mailer):
    filled = senders.prefill(
        {"phone": "+14155550134", "name": "Ann", "ticket": "T-42", "session_type": "3"},
        channels=["sms"],
        credentials=[credential, mailer],
        current=credential,
    )
    assert filled.initial == {
        "destination": "+14155550134",
        "name": "Ann",
        "ticket_reference": "T-42",
        "session_type": "3",
    }
    assert filled.misfits == []
    assert query(filled.link(mailer)) == {
        "credential": "mailer",
        "destination": "+14155550134",
        "name": "Ann",
        "ticket": "T-42",
        "session_type": "3",
    }


def test_an_address_the_sender_cannot_use_is_named_with_the_senders_that_can(credential, mailer):
    filled = senders.prefill(
        {"phone": "+14155550134", "email": "ann@example.com"},
        channels=["sms"],
        credentials=[credential, mailer],
        current=credential,
    )
    assert filled.initial["destination"] == "+14155550134"
    [misfit] = filled.misfits
    assert (misfit.channel, misfit.address) == ("email", "ann@example.com")
    [(name, link)] = misfit.alternatives
    assert name == "OnSync: Acme Support (e-mail)"
    # The link puts the address in the form and keeps the number beside it.
    assert query(link) == {
        "credential": "mailer",
        "destination": "ann@example.com",
        "phone": "+14155550134",
    }
    # The picker's own links keep the address too.
    assert query(filled.link(mailer))["email"] == "ann@example.com"


def test_the_page_says_the_sender_cannot_email_and_keeps_the_address(agent_client, mailer):
    html = agent_client.get(INVITE, {"email": "ann@example.com"}).content.decode()
    assert "This sender can't e-mail ann@example.com." in html
    assert 'value="ann@example.com"' in html
    assert "OnSync: Acme Support (e-mail)" in html


def test_without_any_sender_that_can_the_page_says_whom_to_ask(agent_client):
    html = agent_client.get(INVITE, {"email": "ann@example.com"}).content.decode()
    assert "This sender can't e-mail ann@example.com." in html
    assert "None of the senders you may use can: ask an administrator for one." in html


def test_picking_a_sender_by_label_still_works(agent_client, mailer):
    html = agent_client.get(HOME, {"credential": "mailer"}).content.decode()
    assert '<strong aria-current="true">OnSync: Acme Support (e-mail)</strong>' in html
    assert 'name="credential" value="mailer"' in html


def test_the_session_type_says_it_is_optional_and_what_empty_means(agent_client, credential):
    html = agent_client.get(HOME).content.decode()
    assert "Session type (optional)" in html
    assert f'placeholder="usual: {credential.session_type}"' in html
