"""Every invitation flow of both providers, end to end over HTTP against the sandbox.

Each test is one cell of the flow x channel x provider matrix: it sends through the service
(as the page and the commands do), lets the in-process task deliver, and checks what reached
the customer: the sandbox's outbox, the portal's e-mail outbox, or the sandbox's invitees.
"""

import pytest
from django.core import mail
from django.urls import reverse

from invitations import services
from invitations.errors import InvalidInput
from invitations.models import DeliveryStatus, Invitee, Session
from sandbox.models import OutboxMessage, SandboxRequest
from tests.support import onsync_wire

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def invite(agent, destination, **kwargs):
    invitee = services.invitation_create(agent=agent, destination=destination, **kwargs)
    invitee.refresh_from_db()
    return invitee


# --- Glance: every way to authenticate, SMS sent by Glance -----------------------------------


@pytest.mark.parametrize(
    ("auth_type", "auth_header", "secret_setting", "puid", "seen_as"),
    [
        ("gkey", "authorization", "SANDBOX_GLANCE_API_KEY", "ann-77", "ann-77"),
        (
            "gkey_address",
            "authorization",
            "SANDBOX_GLANCE_API_KEY",
            "agent.demo.glance.net",
            "agent.demo.glance.net",
        ),
        # Tokens minted by the sandbox's Authorization Service carry the agent.
        ("gssnid", "authorization", "SANDBOX_GLANCE_API_KEY", "ann & bo Ünal", "ann & bo Ünal"),
        ("gssnid", "x-gssnid", "SANDBOX_GLANCE_API_KEY", "ann-77", "ann-77"),
        ("gjwt", "authorization", "SANDBOX_GLANCE_API_KEY", "ann-77", "ann-77"),
    ],
)
def test_glance_sms_with_each_auth_type(
    auth_type,
    auth_header,
    secret_setting,
    puid,
    seen_as,
    make_credential,
    make_agent,
    sandbox_url,
    settings,
):
    credential = make_credential(
        label=f"glance-{auth_type}-{auth_header}",
        base_url=sandbox_url,
        api_key=getattr(settings, secret_setting),
        auth_type=auth_type,
        auth_header=auth_header,
        unverified_address_form=auth_type == "gkey_address",
        session_params={"camera": "back", "resolution": "352x288"},
        session_type=4,
    )
    invitee = invite(make_agent(puid=puid, credential=credential), "+44 20 7946 0958")
    assert invitee.status == DeliveryStatus.SENT, invitee.last_error
    message = OutboxMessage.objects.get()
    assert (message.provider, message.channel, message.to) == ("glance", "sms", "+442079460958")
    assert message.partner_user_id == seen_as
    assert message.session_params == {"camera": "back", "resolution": "352x288"}
    assert message.session_type == 4
    assert message.session_key == invitee.session.session_key
    assert invitee.message_text == message.body


def test_glance_address_form_sends_nothing_once_it_is_no_longer_allowed(
    make_credential, make_agent, sandbox_url, settings
):
    credential = make_credential(
        label="by-address",
        base_url=sandbox_url,
        api_key=settings.SANDBOX_GLANCE_API_KEY,
        auth_type="gkey_address",
        unverified_address_form=True,
        glance_address=settings.SANDBOX_GLANCE_ADDRESSES[0],
    )
    agent = make_agent(puid="ann-77", credential=credential)
    # The credential's address, not the agent's partner user id, is who Glance sees.
    assert invite(agent, "+44 20 7946 0958").status == DeliveryStatus.SENT
    assert OutboxMessage.objects.get().partner_user_id == settings.SANDBOX_GLANCE_ADDRESSES[0]

    # Switched off behind the model's back (the admin refuses it while the auth type stays).
    type(credential).objects.filter(pk=credential.pk).update(unverified_address_form=False)
    requests_before = SandboxRequest.objects.count()
    invitee = invite(agent, "+44 20 7946 0959")
    assert invitee.status == DeliveryStatus.FAILED
    assert "unverified" in invitee.last_error
    assert "Nothing was sent" in invitee.last_error
    assert OutboxMessage.objects.count() == 1
    assert SandboxRequest.objects.count() == requests_before


def test_glance_session_type_override(sandbox_credential, make_agent):
    invitee = invite(make_agent(credential=sandbox_credential), "(415) 555-0134", session_type=7)
    assert invitee.session.session_type == 7
    assert OutboxMessage.objects.get().session_type == 7


def test_glance_cannot_send_email_and_says_so(sandbox_credential, make_agent):
    with pytest.raises(InvalidInput, match="cannot send E-mail invitations; it sends SMS"):
        invite(make_agent(credential=sandbox_credential), "ann@example.com")
    assert not Session.objects.exists()


# --- OnSync: generic link, provider-sent e-mail, portal-sent e-mail and SMS ------------------


def onsync_requests(method=None):
    """(method, status) of every request the sandbox's OnSync answered, oldest first."""
    found = SandboxRequest.objects.filter(target="onsync").order_by("id")
    if method:
        found = found.filter(method=method)
    return list(found.values_list("method", "status"))


def test_onsync_generic_link_is_read_after_creating_the_session(
    make_onsync_credential, make_agent, live_server
):
    credential = make_onsync_credential()
    invitee = invite(make_agent(credential=credential), "ann@example.com", name="Ann")
    session = invitee.session
    assert session.session_key.isdigit()  # OnSync's integer session id
    upstream = onsync_wire.read(credential, "session", session.session_key).json()
    assert session.join_url == upstream["session_link"]
    assert session.join_url.startswith(f"{live_server.url}/sandbox/onsync/")


def test_onsync_emails_personal_links_itself(make_onsync_credential, make_agent):
    credential = make_onsync_credential(link_delivery="provider")
    invitee = invite(make_agent(credential=credential), "Ann.Lee@Example.COM", name="Ann Lee")
    assert invitee.status == DeliveryStatus.SENT, invitee.last_error
    assert invitee.destination == "Ann.Lee@example.com"
    message = OutboxMessage.objects.get()
    assert (message.provider, message.channel, message.to) == (
        "onsync",
        "email",
        invitee.destination,
    )
    [participant] = onsync_wire.invitees(credential, invitee.session.session_key)
    assert (participant["email"], participant["first_name"], participant["last_name"]) == (
        invitee.destination,
        "Ann",
        "Lee",
    )
    assert mail.outbox == []  # the portal sent nothing itself
    assert invitee.personal_link == ""


def test_onsync_provider_mode_refuses_sms(make_onsync_credential, make_agent):
    agent = make_agent(credential=make_onsync_credential(link_delivery="provider"))
    with pytest.raises(InvalidInput, match="cannot send SMS invitations; it sends E-mail"):
        invite(agent, "(415) 555-0134")


def test_portal_emails_the_personal_link(make_onsync_credential, make_agent):
    credential = make_onsync_credential()
    invitee = invite(make_agent(credential=credential), "ann@example.com", name="Ann")
    assert invitee.status == DeliveryStatus.SENT, invitee.last_error
    [participant] = onsync_wire.invitees(credential, invitee.session.session_key)
    assert participant["email"] == "ann@example.com"
    assert participant["personal_session_link"] == invitee.personal_link
    [email] = mail.outbox
    assert email.to == ["ann@example.com"]
    assert invitee.personal_link in email.body
    assert invitee.personal_link in email.alternatives[0][0]  # type: ignore[attr-defined]
    assert not OutboxMessage.objects.exists()  # OnSync sent nothing


def test_portal_texts_the_personal_link_through_the_sms_gateway(
    make_onsync_credential, make_agent, sandbox_sms_gateway, settings
):
    credential = make_onsync_credential()
    invitee = invite(make_agent(credential=credential), "(415) 555-0134", name="Ann")
    assert invitee.status == DeliveryStatus.SENT, invitee.last_error
    message = OutboxMessage.objects.get()
    assert (message.provider, message.channel, message.to) == ("sms-gateway", "sms", "+14155550134")
    assert invitee.personal_link in message.body
    assert message.reference == invitee.reference
    assert invitee.message_text == message.body
    # OnSync knows an SMS invitee by an address nobody receives mail for, and mailed nothing.
    [participant] = onsync_wire.invitees(credential, invitee.session.session_key)
    assert (
        participant["email"] == f"invitee-{invitee.reference}@{settings.ONSYNC_SMS_INVITEE_DOMAIN}"
    )
    assert participant["personal_session_link"] == invitee.personal_link


def test_invite_another_person_into_the_same_onsync_session(
    client, make_onsync_credential, make_agent, sandbox_sms_gateway
):
    credential = make_onsync_credential()
    agent = make_agent(credential=credential)
    first = invite(agent, "ann@example.com", name="Ann")
    client.force_login(agent)
    response = client.post(
        reverse("invitations:session-invite", args=[first.session_id]),
        {"destination": "+44 20 7946 0958", "name": "Bo", "idempotency_key": "second-1"},
    )
    assert response.status_code == 302
    assert Session.objects.count() == 1
    assert [status for _, status in onsync_requests("PUT")] == [201]  # one session created
    assert [status for _, status in onsync_requests("POST")] == [200]  # the second added to it
    second = Invitee.objects.get(name="Bo")
    assert second.status == DeliveryStatus.SENT, second.last_error
    upstream = onsync_wire.invitees(credential, first.session.session_key)
    assert [p["email"] for p in upstream] == [
        "ann@example.com",
        f"invitee-{second.reference}@sms.invalid",
    ]
    assert second.personal_link != first.personal_link
    assert OutboxMessage.objects.get(channel="sms").to == "+442079460958"
    page = client.get(response.url).content.decode()
    assert "a•••@example.com" in page and "••• ••• 0958" in page


def test_session_that_no_longer_exists_upstream(make_onsync_credential, make_agent):
    agent = make_agent(credential=make_onsync_credential())
    first = invite(agent, "ann@example.com")
    Session.objects.filter(pk=first.session_id).update(session_key="999999")
    session = Session.objects.get()
    second = invite(agent, "bo@example.com", session=session)
    assert second.status == DeliveryStatus.FAILED
    assert "Session 999999 no longer exists at OnSync; nothing was sent" in second.last_error
    assert onsync_requests("POST") == [("POST", 404)]
    assert len(mail.outbox) == 1


def test_wrong_onsync_password_fails_with_what_to_check(make_onsync_credential, make_agent):
    agent = make_agent(credential=make_onsync_credential(password="not-the-password"))
    invitee = invite(agent, "ann@example.com")
    assert invitee.status == DeliveryStatus.FAILED
    assert "OnSync did not accept the credential 'sandbox-onsync' (401" in invitee.last_error
    assert "account and password" in invitee.last_error
    assert "not-the-password" not in invitee.last_error
    assert onsync_requests() == [("PUT", 401)]  # no session was created


def test_gateway_failure_keeps_the_link_and_resend_does_not_add_the_invitee_again(
    make_onsync_credential,
    make_agent,
    sandbox_sms_gateway,
    settings,
    django_capture_on_commit_callbacks,
):
    settings.SMS_GATEWAY_TOKEN = "wrong-gateway-token"
    credential = make_onsync_credential()
    agent = make_agent(credential=credential)
    invitee = invite(agent, "(415) 555-0134")
    assert invitee.status == DeliveryStatus.FAILED
    assert "The SMS gateway did not accept" in invitee.last_error
    assert "SMS_GATEWAY_TOKEN" in invitee.last_error
    assert invitee.personal_link

    settings.SMS_GATEWAY_TOKEN = settings.SANDBOX_SMS_GATEWAY_TOKEN
    services.invitee_resend(invitee=invitee)
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.SENT
    assert len(onsync_wire.invitees(credential, invitee.session.session_key)) == 1
    assert OutboxMessage.objects.get().body == invitee.message_text


def test_send_invitation_command_by_email(make_onsync_credential, make_agent):
    import io

    from django.core.management import call_command

    make_agent(username="ann", credential=make_onsync_credential())
    out = io.StringIO()
    call_command("send_invitation", "--agent=ann", "--email=ann@example.com", stdout=out)
    session = Session.objects.get()
    link = session.invitees.get().personal_link
    assert out.getvalue() == (
        f"session key: {session.session_key}\njoin link: {session.join_url}\n"
        f"personal link: {link}\nstatus: sent\n"
    )
    assert len(mail.outbox) == 1
    assert link in mail.outbox[0].body


def test_agent_page_offers_only_what_the_credential_can_do(
    client, make_onsync_credential, make_agent, sandbox_credential
):
    agent = make_agent(credential=sandbox_credential)
    make_onsync_credential(label="onsync-provider", link_delivery="provider")
    make_onsync_credential(label="onsync-portal")
    client.force_login(agent)
    home = reverse("invitations:home")
    glance = client.get(home).content.decode()
    assert ">Send SMS</button>" in glance and ">Send e-mail</button>" not in glance
    provider = client.get(home, {"credential": "onsync-provider"}).content.decode()
    assert ">Send SMS</button>" not in provider and ">Send e-mail</button>" in provider
    assert "E-mail address" in provider
    portal = client.get(home, {"credential": "onsync-portal"}).content.decode()
    assert ">Send SMS</button>" in portal and ">Send e-mail</button>" in portal
    assert "Mobile number or e-mail address" in portal


def test_deliveries_on_one_thread_reuse_one_connection(
    sandbox_credential, make_agent, settings, monkeypatch, django_capture_on_commit_callbacks
):
    """Two invitations in a row go over one kept connection (no new TCP or TLS set-up); with
    reuse off, each opens its own."""
    from urllib3.connectionpool import HTTPConnectionPool

    opened = []
    new_connection = HTTPConnectionPool._new_conn

    def counting(pool):
        opened.append(pool.port)
        return new_connection(pool)

    monkeypatch.setattr(HTTPConnectionPool, "_new_conn", counting)
    agent = make_agent(credential=sandbox_credential)

    def invite(number: str) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            services.invitation_create(agent=agent, destination=number)

    invite("+14155550101")
    invite("+14155550102")
    assert len(opened) == 1
    settings.UPSTREAM_CONNECTION_REUSE_SECONDS = 0
    invite("+14155550103")
    invite("+14155550104")
    assert len(opened) == 3
    assert Invitee.objects.filter(status=DeliveryStatus.SENT).count() == 4


def test_kept_connections_are_per_origin_not_per_credential(
    sandbox_credential,
    make_credential,
    make_agent,
    settings,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    """Two credentials of the same provider host share one kept connection, and a secret
    changed between two calls is the one the next call sends (nothing kept holds it)."""
    from urllib3.connectionpool import HTTPConnectionPool

    opened = []
    new_connection = HTTPConnectionPool._new_conn

    def counting(pool):
        opened.append(pool.port)
        return new_connection(pool)

    monkeypatch.setattr(HTTPConnectionPool, "_new_conn", counting)
    second = make_credential(
        label="sandbox-glance-2",
        base_url=sandbox_credential.base_url,
        api_key=settings.SANDBOX_GLANCE_API_KEY,
    )
    first_agent = make_agent(username="ann", credential=sandbox_credential)
    second_agent = make_agent(username="bob", credential=second)

    def invite(agent, number: str) -> Invitee:
        with django_capture_on_commit_callbacks(execute=True):
            invitee = services.invitation_create(agent=agent, destination=number)
        invitee.refresh_from_db()
        return invitee

    assert invite(first_agent, "+14155550111").status == DeliveryStatus.SENT
    assert invite(second_agent, "+14155550112").status == DeliveryStatus.SENT
    assert len(opened) == 1

    services.credential_upsert(
        label="sandbox-glance-2",
        provider="glance",
        base_url=second.base_url,
        group_id=72,
        api_key="not-the-sandbox-key",
    )
    refused = invite(second_agent, "+14155550113")
    assert refused.status == DeliveryStatus.FAILED
    assert "did not accept the credential" in refused.last_error
