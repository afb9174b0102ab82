"""Who may do what, and the defences against guessing, abuse and leaks."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from invitations import services
from invitations.errors import InvalidInput
from invitations.models import DeliveryStatus, Invitee, Session, Team
from invitations.services.limits import RateLimited

pytestmark = pytest.mark.django_db

# role -> (what the role sees of a session started by "owner" in team red)
ROLES = [
    "anonymous",
    "inactive owner",
    "user without agent profile",
    "owner",
    "other agent, same team",
    "supervisor, same team",
    "supervisor, other team",
    "superuser",
]
CAN_SEE = {"owner", "supervisor, same team", "superuser"}


@pytest.fixture
def world(
    make_team_agent,
    make_agent,
    credential,
    locmem_upstream,
    django_user_model,
    django_capture_on_commit_callbacks,
):
    red, blue = Team.objects.create(name="red"), Team.objects.create(name="blue")

    def agent(username, team, supervisor=False):
        return make_team_agent(username=username, team=team, supervisor=supervisor)

    owner = agent("owner", red)
    users = {
        "owner": owner,
        "other agent, same team": agent("peer", red),
        "supervisor, same team": agent("sue", red, supervisor=True),
        "supervisor, other team": agent("bob", blue, supervisor=True),
        "superuser": django_user_model.objects.create_superuser("root", "r@example.com", "pw-x-1"),
        "user without agent profile": django_user_model.objects.create_user("nobody"),
    }
    inactive = agent("gone", red)
    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(agent=owner, destination="(415) 555-0134")
        gone_invitee = services.invitation_create(agent=inactive, destination="(415) 555-0135")
    inactive.is_active = False
    inactive.save()
    users["inactive owner"] = inactive
    return {"users": users, "invitee": invitee, "gone_invitee": gone_invitee}


def client_for(world, role):
    client = Client()
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


@pytest.mark.parametrize("role", ROLES)
def test_session_pages_and_actions_by_role(world, role):
    client = client_for(world, role)
    invitee = world["gone_invitee"] if role == "inactive owner" else world["invitee"]
    session = invitee.session
    detail = client.get(session.get_absolute_url())
    resend = client.post(reverse("invitations:invitee-resend", args=[invitee.pk]))
    invite = client.post(
        reverse("invitations:session-invite", args=[session.pk]),
        {"destination": "+14155550199", "idempotency_key": f"k-{role}"},
    )
    listing = client.get(reverse("invitations:session-list"))
    if role in ("anonymous", "inactive owner"):
        for response in (detail, resend, invite, listing):
            assert response.status_code == 302
            assert response.url.startswith(reverse("login"))
        assert Invitee.objects.get(pk=invitee.pk).status == DeliveryStatus.SENT
        return
    if role in CAN_SEE:
        assert detail.status_code == 200
        assert resend.status_code == 302
        assert Invitee.objects.get(pk=invitee.pk).status == DeliveryStatus.QUEUED  # resent
        assert str(session.pk) in listing.content.decode()
    else:
        assert detail.status_code == 404
        assert resend.status_code == 404
        assert invite.status_code == 404
        assert Invitee.objects.get(pk=invitee.pk).status == DeliveryStatus.SENT
        assert session.get_absolute_url() not in listing.content.decode()


def test_user_without_profile_is_told_what_is_missing_and_cannot_send(world):
    client = client_for(world, "user without agent profile")
    page = client.get(reverse("invitations:home"))
    assert page.status_code == 200
    assert "is not set up as an agent" in page.content.decode()
    response = client.post(
        reverse("invitations:home"), {"destination": "+14155550100", "idempotency_key": "k"}
    )
    assert response.status_code == 400
    assert Session.objects.count() == 2


def test_admin_is_for_staff_only(world):
    for role in ("owner", "supervisor, same team", "user without agent profile"):
        response = client_for(world, role).get(reverse("admin:invitations_invitee_changelist"))
        assert response.status_code == 302 and "/admin/login/" in response.url
    assert client_for(world, "superuser").get(reverse("admin:index")).status_code == 200


def test_posts_need_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world["users"]["owner"])
    invitee = world["invitee"]
    assert client.post(reverse("invitations:invitee-resend", args=[invitee.pk])).status_code == 403
    home = client.post(reverse("invitations:home"), {"destination": "+14155550100"})
    assert home.status_code == 403
    assert Invitee.objects.get(pk=invitee.pk).status == DeliveryStatus.SENT


def test_password_guessing_is_locked_out(make_agent, credential):
    make_agent(username="ann", password="the-right-password-1", credential=credential)
    client = Client()
    url = reverse("login")
    for _ in range(4):
        response = client.post(url, {"username": "ann", "password": "wrong"})
        assert response.status_code == 200  # the form again, with an error
    fifth = client.post(url, {"username": "ann", "password": "wrong"})
    assert fifth.status_code == 429
    locked = client.post(url, {"username": "ann", "password": "the-right-password-1"})
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    other = Client().post(url, {"username": "someone-else", "password": "wrong"})
    assert other.status_code == 200  # the lockout is per username and address


def test_successful_login_works_and_resets_the_count(make_agent, credential):
    make_agent(username="ann", password="the-right-password-1", credential=credential)
    client = Client()
    url = reverse("login")
    for _ in range(4):
        client.post(url, {"username": "ann", "password": "wrong"})
    ok = client.post(url, {"username": "ann", "password": "the-right-password-1"})
    assert ok.status_code == 302


# Behind the documented nginx (docs/production.md), every request comes from the proxy's
# address and nginx appends the client's to X-Forwarded-For ($proxy_add_x_forwarded_for).
PROXY = "127.0.0.1"


def through_proxy(client_address, sent_by_client=""):
    forwarded = f"{sent_by_client}, {client_address}" if sent_by_client else client_address
    return Client(REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded)


def guess_five_times(client, username="ann"):
    for _ in range(5):
        client.post(reverse("login"), {"username": username, "password": "wrong"})


def test_lockout_behind_the_proxy_is_per_client_not_per_proxy(make_agent, credential, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    make_agent(username="ann", password="the-right-password-1", credential=credential)
    attacker = through_proxy("203.0.113.7")
    guess_five_times(attacker)

    right = {"username": "ann", "password": "the-right-password-1"}
    assert attacker.post(reverse("login"), right).status_code == 429
    ann = through_proxy("198.51.100.20").post(reverse("login"), right)
    assert ann.status_code == 302  # the real user, from another address, still gets in


def test_addresses_the_client_writes_into_x_forwarded_for_are_not_believed(
    make_agent, credential, settings
):
    settings.AXES_IPWARE_PROXY_COUNT = 1
    make_agent(username="ann", password="the-right-password-1", credential=credential)
    # Claiming a new address on every guess does not escape the lockout: nginx appends the
    # real one, and only that is counted.
    for n in range(5):
        through_proxy("203.0.113.7", sent_by_client=f"192.0.2.{n}").post(
            reverse("login"), {"username": "ann", "password": "wrong"}
        )
    locked = through_proxy("203.0.113.7", sent_by_client="192.0.2.99").post(
        reverse("login"), {"username": "ann", "password": "the-right-password-1"}
    )
    assert locked.status_code == 429


def test_without_a_proxy_x_forwarded_for_is_not_believed(make_agent, credential, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 0
    make_agent(username="ann", password="the-right-password-1", credential=credential)
    for n in range(5):
        Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").post(
            reverse("login"), {"username": "ann", "password": "wrong"}
        )
    spoofed = Client(REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR="198.51.100.20")
    right = {"username": "ann", "password": "the-right-password-1"}
    assert spoofed.post(reverse("login"), right).status_code == 429


# --- anti-abuse limits -------------------------------------------------------------------------


def test_per_agent_limit(agent, locmem_upstream, settings):
    settings.RATE_LIMIT_PER_AGENT = "2/600"
    for number in ("+14155550101", "+442079460958"):
        services.invitation_create(agent=agent, destination=number)
    with pytest.raises(RateLimited, match="You have sent 2 invitations in the last 10 minutes"):
        services.invitation_create(agent=agent, destination="+4915123456789")
    assert Invitee.objects.count() == 2
    # Operator bulk runs leave out the per-agent limit, not the others.
    services.invitation_create(agent=agent, destination="+4915123456789", skip_agent_limit=True)


def test_per_destination_limit_counts_every_agent_and_resends(
    agent, make_agent, credential, locmem_upstream, settings, django_capture_on_commit_callbacks
):
    settings.RATE_LIMIT_PER_DESTINATION = "2/3600"
    with django_capture_on_commit_callbacks(execute=True):
        first = services.invitation_create(agent=agent, destination="(415) 555-0134")
    first.refresh_from_db()
    assert first.status == DeliveryStatus.SENT
    with django_capture_on_commit_callbacks(execute=True):
        services.invitee_resend(invitee=first, actor=agent)
    other = make_agent(username="bo", credential=credential)
    # How often the number was invited, not by whom.
    with pytest.raises(
        RateLimited, match=r"^This number was invited 2 times in the last hour; try again after"
    ):
        services.invitation_create(agent=other, destination="+1 415 555 0134")
    first.refresh_from_db()
    with pytest.raises(RateLimited):
        services.invitee_resend(invitee=first, actor=agent)
    assert len(locmem_upstream.outbox) == 2


def test_per_prefix_limit_stops_number_range_pumping(
    agent, make_agent, credential, locmem_upstream, settings
):
    settings.RATE_LIMIT_PER_PREFIX = "3/3600"
    for last in range(3):
        services.invitation_create(agent=agent, destination=f"+1415555010{last}")
    with pytest.raises(RateLimited, match="Numbers in this range were invited too often"):
        services.invitation_create(
            agent=make_agent(username="bo", credential=credential), destination="+14155550109"
        )
    services.invitation_create(agent=agent, destination="+14155560109")  # another range


@pytest.mark.parametrize("country_and_range", ["+68340", "+69072"])  # Niue, Tokelau
def test_per_prefix_limit_counts_short_numbers_too(
    country_and_range, agent, locmem_upstream, settings
):
    """Numbers of 8 characters are counted without their last two digits."""
    settings.RATE_LIMIT_PER_PREFIX = "10/3600"
    for last in range(10):
        services.invitation_create(
            agent=agent, destination=f"{country_and_range}{last:02d}", skip_agent_limit=True
        )
    with pytest.raises(RateLimited, match="Numbers in this range were invited too often"):
        services.invitation_create(
            agent=agent, destination=f"{country_and_range}11", skip_agent_limit=True
        )
    assert Invitee.objects.count() == 10


@pytest.mark.parametrize(
    "address",
    [
        "Ann.Lee@Example.com",
        "ann.lee+crm@example.com",
        "ANN.LEE+x@EXAMPLE.COM",
    ],
)
def test_per_destination_limit_counts_an_address_however_written(
    address, agent, portal_credential, settings
):
    settings.RATE_LIMIT_PER_DESTINATION = "2/3600"
    services.invitation_create(
        agent=agent, destination="ann.lee@example.com", credential=portal_credential
    )
    services.invitation_create(agent=agent, destination=address, credential=portal_credential)
    with pytest.raises(RateLimited, match="This address was invited 2 times in the last hour"):
        services.invitation_create(
            agent=agent, destination="ann.lee@example.com", credential=portal_credential
        )
    # Only the count is shared: the second invitation went to the address as typed.
    stored = list(Invitee.objects.order_by("pk").values_list("destination", flat=True))
    assert stored == ["ann.lee@example.com", address.rpartition("@")[0] + "@example.com"]


def test_gmail_addresses_with_and_without_dots_are_one_destination(
    agent, portal_credential, settings
):
    settings.RATE_LIMIT_PER_DESTINATION = "3/3600"
    for address in ("annlee@gmail.com", "Ann.Lee@gmail.com", "a.n.n.l.e.e+x@googlemail.com"):
        services.invitation_create(agent=agent, destination=address, credential=portal_credential)
    with pytest.raises(RateLimited):
        services.invitation_create(
            agent=agent, destination="ann.lee@GoogleMail.com", credential=portal_credential
        )
    # Elsewhere dots count: another person.
    services.invitation_create(
        agent=agent, destination="ann.lee@example.com", credential=portal_credential
    )
    services.invitation_create(
        agent=agent, destination="annlee@example.com", credential=portal_credential
    )


def test_a_refused_invitation_counts_nothing(agent, locmem_upstream, settings):
    """A refusal rolls its counts back: retrying a refused number does not use up the agent's
    own limit (nor any other)."""
    settings.RATE_LIMIT_PER_AGENT = "3/600"
    settings.RATE_LIMIT_PER_DESTINATION = "1/3600"
    services.invitation_create(agent=agent, destination="+14155550134")
    for _ in range(5):
        with pytest.raises(RateLimited, match="This number was invited 1 time in the last hour"):
            services.invitation_create(agent=agent, destination="+14155550134")
    services.invitation_create(agent=agent, destination="+14155560135")
    services.invitation_create(agent=agent, destination="+14155570136")
    with pytest.raises(RateLimited, match="You have sent 3 invitations in the last 10 minutes"):
        services.invitation_create(agent=agent, destination="+14155580137")
    assert Invitee.objects.count() == 3


def test_rate_limit_message_reaches_the_agent_page(agent_client, locmem_upstream, settings):
    settings.RATE_LIMIT_PER_AGENT = "1/600"
    home = reverse("invitations:home")
    agent_client.post(home, {"destination": "+14155550100", "idempotency_key": "a"})
    response = agent_client.post(home, {"destination": "+14155550101", "idempotency_key": "b"})
    assert response.status_code == 400
    assert (
        "You have sent 1 invitation in the last 10 minutes, the most allowed; try again after "
        in response.content.decode()
    )
    assert Invitee.objects.count() == 1


def test_send_invitation_command_exits_non_zero_when_limited(agent, locmem_upstream, settings):
    from django.core.management import CommandError, call_command

    settings.RATE_LIMIT_PER_DESTINATION = "1/3600"
    call_command("send_invitation", "--agent=ann", "--sms=+14155550100", stdout=None)
    with pytest.raises(CommandError, match="This number was invited 1 time in the last hour"):
        call_command("send_invitation", "--agent=ann", "--sms=+14155550100")


@pytest.mark.parametrize(
    ("number", "credential_settings", "message"),
    [
        ("+1 900 555 0199", {}, "premium-rate number"),
        ("+1 800 555 0199", {}, "toll-free number"),
        ("+44 20 7946 0958", {"mobile_only": True}, "is a landline"),
        ("+44 20 7946 0958", {"allowed_countries": "US,CA"}, "SMS to GB numbers are not allowed"),
    ],
)
def test_numbers_that_must_not_get_an_sms(
    number, credential_settings, message, agent, credential, locmem_upstream
):
    for field, value in credential_settings.items():
        setattr(credential, field, value)
    credential.save()
    with pytest.raises(InvalidInput, match=message):
        services.invitation_create(agent=agent, destination=number)
    assert not Invitee.objects.exists()


@pytest.mark.parametrize(
    "number",
    [
        "+881 6 3123 4567",  # Iridium (global mobile satellite system)
        "+870 773 111 632",  # Inmarsat
        "+882 34 2123 4",  # international networks
        "+883 510 012 345",
    ],
)
def test_satellite_and_international_networks_are_refused_by_default(
    number, agent, credential, locmem_upstream
):
    with pytest.raises(InvalidInput, match="is on a satellite or international network"):
        services.invitation_create(agent=agent, destination=number)
    credential.allowed_countries = "US,GB"  # countries do not name them either
    credential.save()
    with pytest.raises(InvalidInput, match="whose allowed countries name"):
        services.invitation_create(agent=agent, destination=number)
    assert not Invitee.objects.exists()


def test_allowed_countries_let_a_named_network_through(agent, credential, locmem_upstream):
    credential.allowed_countries = "us, +881"
    credential.full_clean()
    credential.save()
    services.invitation_create(agent=agent, destination="+881 6 3123 4567")
    with pytest.raises(InvalidInput, match=r"\(\+870\)"):
        services.invitation_create(agent=agent, destination="+870 773 111 632")
    assert Invitee.objects.count() == 1


@pytest.mark.parametrize(("entry", "valid"), [("+881", True), ("+44", False), ("USA", False)])
def test_allowed_countries_take_country_and_network_codes(entry, valid, credential):
    from django.core.exceptions import ValidationError

    credential.allowed_countries = f"GB,{entry}"
    if valid:
        credential.full_clean()
    else:
        with pytest.raises(ValidationError, match="Not ISO country codes or international"):
            credential.full_clean()


def test_allowed_countries_let_listed_countries_through(agent, credential, locmem_upstream):
    credential.allowed_countries = "us, gb"
    credential.save()
    services.invitation_create(agent=agent, destination="+44 20 7946 0958")
    services.invitation_create(agent=agent, destination="(415) 555-0134")
    assert Invitee.objects.count() == 2


def test_log_lines_are_scrubbed_by_the_configured_handler(capsys):
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
    key = "$1$1589912963$z5H7IXHSBEkxbAnDO5wlkuNno4ZgkFcqhAyJnJ577iU"
    logging.getLogger("requests.debug").warning(
        "header %s", f"Authorization: Bearer GKEY 72&a&{key}"
    )
    logging.getLogger("sandbox").warning("X-GSSNID: 208859.1588190775.HIM-TWY0")
    try:
        raise RuntimeError(f"failed with {key}")
    except RuntimeError:
        logging.getLogger("invitations").exception("boom")
    written = capsys.readouterr().err
    assert "z5H7IX" not in written and "208859" not in written
    assert written.count("[redacted]") >= 3


def test_resends_from_the_agent_page_are_audited_and_purged_invitees_refused(
    agent, agent_client, locmem_upstream, django_capture_on_commit_callbacks
):
    from invitations.errors import NotAllowed
    from invitations.models import AuditEvent

    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(agent=agent, destination="(415) 555-0134")
    agent_client.post(reverse("invitations:invitee-resend", args=[invitee.pk]))
    event = AuditEvent.objects.get(action="invitee_resent")
    assert (event.actor_name, event.target) == ("ann", f"invitee #{invitee.pk}")

    Invitee.objects.filter(pk=invitee.pk).update(destination="purged", status="sent")
    invitee.refresh_from_db()
    with pytest.raises(NotAllowed, match="purged"):
        services.invitee_resend(invitee=invitee, actor=agent)


def test_overlong_ticket_reference_is_a_form_error(agent, locmem_upstream):
    with pytest.raises(InvalidInput, match="ticket reference is too long"):
        services.invitation_create(
            agent=agent, destination="+14155550100", ticket_reference="T" * 101
        )
    assert not Session.objects.exists()
