"""API tokens: created and revoked in the admin or by command, shown once, stored as digests."""

from __future__ import annotations

import hashlib
import io
import re
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from invitations.errors import InvalidInput
from invitations.models import ApiToken, AuditEvent
from invitations.services import tokens

pytestmark = pytest.mark.django_db

TOKEN_SHAPE = re.compile(r"ap_[A-Za-z0-9_\-]{43}")


def stored_text() -> str:
    """Every stored value that could hold the token by mistake."""
    rows = [
        *ApiToken.objects.values_list("name", "prefix", "digest"),
        *AuditEvent.objects.values_list("target", "details"),
    ]
    return "\n".join(str(value) for row in rows for value in row)


def test_create_stores_only_a_digest_and_a_prefix(agent):
    token, raw = tokens.api_token_create(user=agent, name=" CRM ", actor=None)
    assert TOKEN_SHAPE.fullmatch(raw)
    token.refresh_from_db()
    assert token.name == "CRM"
    assert token.digest == hashlib.sha256(raw.encode()).hexdigest()
    assert token.prefix == raw[:10]
    assert raw not in stored_text() and raw[10:] not in stored_text()
    event = AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_CREATED)
    assert event.actor_name == "command"
    assert token.prefix in event.target and "ann" in event.target


def test_tokens_are_unique(agent):
    raws = {tokens.api_token_create(user=agent, name="t", actor=None)[1] for _ in range(5)}
    assert len(raws) == 5


@pytest.mark.parametrize(
    ("name", "message"), [("  ", "Give the token a name"), ("x" * 101, "long")]
)
def test_create_needs_a_name(agent, name, message):
    with pytest.raises(InvalidInput, match=message):
        tokens.api_token_create(user=agent, name=name, actor=None)
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.API_TOKEN_CREATED).exists()


def test_no_token_for_an_inactive_user(agent):
    agent.is_active = False
    agent.save()
    with pytest.raises(InvalidInput, match="inactive"):
        tokens.api_token_create(user=agent, name="crm", actor=None)


def test_authenticate(agent):
    token, raw = tokens.api_token_create(user=agent, name="crm", actor=None)
    assert tokens.api_token_authenticate(raw) == agent
    for wrong in ("", "ap_", raw[:-1], raw + "x", raw.upper(), token.digest, "ap_" + "a" * 200):
        assert tokens.api_token_authenticate(wrong) is None


def test_revoked_tokens_and_inactive_users_are_refused(agent, make_agent, credential):
    token, raw = tokens.api_token_create(user=agent, name="crm", actor=agent)
    assert tokens.api_token_revoke(token=token, actor=agent) is True
    assert tokens.api_token_authenticate(raw) is None
    assert tokens.api_token_revoke(token=token, actor=agent) is False  # once is enough
    assert AuditEvent.objects.filter(action=AuditEvent.Action.API_TOKEN_REVOKED).count() == 1

    other = make_agent(username="bo", credential=credential)
    _token, other_raw = tokens.api_token_create(user=other, name="crm", actor=None)
    other.is_active = False
    other.save()
    assert tokens.api_token_authenticate(other_raw) is None


def test_last_used_is_written_at_most_once_a_minute(agent, django_assert_num_queries):
    token, raw = tokens.api_token_create(user=agent, name="crm", actor=None)
    assert token.last_used_at is None
    with django_assert_num_queries(2):  # the lookup, the update
        tokens.api_token_authenticate(raw)
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    with django_assert_num_queries(1):  # the lookup only
        tokens.api_token_authenticate(raw)
    token.refresh_from_db()
    assert token.last_used_at == first
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=first - timedelta(minutes=2))
    tokens.api_token_authenticate(raw)
    token.refresh_from_db()
    assert token.last_used_at > first - timedelta(seconds=1)
    assert token.last_used_at <= timezone.now()


# --- Admin ------------------------------------------------------------------------------------


def test_admin_adds_a_token_and_shows_it_once(admin_client, agent, locmem_upstream):
    add = reverse("admin:invitations_apitoken_add")
    page = admin_client.get(add).content.decode()
    assert 'name="user"' in page and 'name="name"' in page
    assert 'name="digest"' not in page and 'name="prefix"' not in page
    response = admin_client.post(add, {"user": agent.pk, "name": "CRM"})
    assert response.status_code == 200  # shown on this response itself, not after a redirect
    # Not handed to the messages framework, whose cookie or session would keep a copy.
    assert "messages" not in response.cookies
    shown = TOKEN_SHAPE.findall(response.content.decode())
    assert len(shown) == 1
    raw = shown[0]
    token = ApiToken.objects.get()
    assert (token.user, token.name, token.prefix) == (agent, "CRM", raw[:10])
    assert tokens.api_token_authenticate(raw) == agent
    assert raw not in stored_text()
    event = AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_CREATED)
    assert event.actor_name == "admin"
    # Never again: not in the list, not on the token's page.
    changelist = admin_client.get(reverse("admin:invitations_apitoken_changelist"))
    change = admin_client.get(reverse("admin:invitations_apitoken_change", args=[token.pk]))
    for later in (changelist, change):
        text = later.content.decode()
        assert raw not in text and raw[10:] not in text
        assert f"{token.prefix}…" in text
    assert "ann" in changelist.content.decode()


def test_admin_refuses_a_token_for_an_inactive_user(admin_client, agent):
    agent.is_active = False
    agent.save()
    response = admin_client.post(
        reverse("admin:invitations_apitoken_add"), {"user": agent.pk, "name": "CRM"}
    )
    assert response.status_code == 200
    assert "This user is inactive" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_admin_revokes_tokens(admin_client, agent):
    token, raw = tokens.api_token_create(user=agent, name="crm", actor=None)
    response = admin_client.post(
        reverse("admin:invitations_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [token.pk]},
        follow=True,
    )
    assert "1 tokens revoked." in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert tokens.api_token_authenticate(raw) is None
    event = AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_REVOKED)
    assert event.actor_name == "admin"


def test_admin_never_deletes_tokens(admin_client, agent):
    token, _raw = tokens.api_token_create(user=agent, name="crm", actor=None)
    delete = reverse("admin:invitations_apitoken_delete", args=[token.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert ApiToken.objects.filter(pk=token.pk).exists()


# --- Command ----------------------------------------------------------------------------------


def test_create_api_token_command_prints_the_token_once(agent):
    out, err = io.StringIO(), io.StringIO()
    call_command("create_api_token", "--user=ann", "--name=CRM", stdout=out, stderr=err)
    raw = out.getvalue().strip()
    assert TOKEN_SHAPE.fullmatch(raw)
    assert raw not in err.getvalue() and "shown only now" in err.getvalue()
    assert tokens.api_token_authenticate(raw) == agent
    assert AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_CREATED).actor is None


@pytest.mark.parametrize(
    ("args", "message"),
    [(["--user=nobody", "--name=CRM"], "No user 'nobody'"), (["--user=ann", "--name= "], "name")],
)
def test_create_api_token_command_errors(agent, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_token", *args)
    assert not ApiToken.objects.exists()


def test_create_api_token_in_a_real_process(manage):
    assert manage("create_agent", "ann", "--puid", "ann-77").returncode == 0
    result = manage("create_api_token", "--user", "ann", "--name", "CRM")
    assert result.returncode == 0, result.stderr
    assert TOKEN_SHAPE.fullmatch(result.stdout.strip())
    assert result.stdout.strip() not in result.stderr


# --- Who may create a token for whom ----------------------------------------------------------


@pytest.fixture
def token_adder(django_user_model):
    """A staff user whose only permission is to add API tokens."""
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("tam", password="pw-tam-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="add_apitoken"))
    return user


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", "pw-root-1")


def test_staff_cannot_create_a_token_for_the_superuser_in_the_admin(client, token_adder, root):
    client.force_login(token_adder)
    add = reverse("admin:invitations_apitoken_add")
    page = client.get(add).content.decode()
    # The form offers the staff user themselves only.
    assert f'<option value="{token_adder.pk}" selected>tam</option>' in page
    assert f'value="{root.pk}"' not in page
    response = client.post(add, {"user": root.pk, "name": "CRM"})
    assert response.status_code == 200
    text = response.content.decode()
    assert "Only superusers may create API tokens for other users" in text
    assert not TOKEN_SHAPE.search(text)
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.API_TOKEN_CREATED).exists()


def test_staff_with_the_add_permission_creates_a_token_for_themselves(client, token_adder):
    client.force_login(token_adder)
    response = client.post(
        reverse("admin:invitations_apitoken_add"), {"user": token_adder.pk, "name": "script"}
    )
    assert response.status_code == 200
    [raw] = TOKEN_SHAPE.findall(response.content.decode())
    assert tokens.api_token_authenticate(raw) == token_adder
    assert ApiToken.objects.get().user == token_adder


def test_service_refuses_a_token_for_another_user_unless_a_superuser_asks(agent, token_adder, root):
    for target in (root, agent):
        with pytest.raises(InvalidInput, match="Only superusers may create API tokens") as err:
            tokens.api_token_create(user=target, name="crm", actor=token_adder)
        assert err.value.field == "user"
    assert not ApiToken.objects.exists()
    # Themselves; a superuser for anyone; an operator's command (no actor) for anyone.
    tokens.api_token_create(user=token_adder, name="own", actor=token_adder)
    tokens.api_token_create(user=agent, name="for ann", actor=root)
    tokens.api_token_create(user=root, name="by command", actor=None)
    assert ApiToken.objects.count() == 3


# --- Expiry ------------------------------------------------------------------------------------


def test_a_token_stops_at_its_expiry(agent):
    token, raw = tokens.api_token_create(
        user=agent, name="crm", actor=None, expires_at=timezone.now() + timedelta(hours=1)
    )
    assert tokens.api_token_authenticate(raw) == agent
    assert "expires" in AuditEvent.objects.get(action=AuditEvent.Action.API_TOKEN_CREATED).details
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert tokens.api_token_authenticate(raw) is None
    with pytest.raises(tokens.TokenRefused, match="expired"):
        tokens.api_token_user(raw)


def test_no_token_that_has_already_expired(agent):
    with pytest.raises(InvalidInput, match="expiry is in the past") as err:
        tokens.api_token_create(
            user=agent, name="crm", actor=None, expires_at=timezone.now() - timedelta(minutes=1)
        )
    assert err.value.field == "expires_at"
    assert not ApiToken.objects.exists()


def test_admin_adds_a_token_with_an_expiry(admin_client, agent):
    add = reverse("admin:invitations_apitoken_add")
    assert 'name="expires_at_0"' in admin_client.get(add).content.decode()
    past = admin_client.post(
        add,
        {"user": agent.pk, "name": "CRM", "expires_at_0": "2001-01-01", "expires_at_1": "12:00"},
    )
    assert past.status_code == 200
    assert "The expiry is in the past" in past.content.decode()
    assert not ApiToken.objects.exists()
    response = admin_client.post(
        add,
        {"user": agent.pk, "name": "CRM", "expires_at_0": "2099-01-01", "expires_at_1": "12:00"},
    )
    [raw] = TOKEN_SHAPE.findall(response.content.decode())
    token = ApiToken.objects.get()
    assert token.expires_at is not None and token.expires_at.year == 2099
    assert tokens.api_token_authenticate(raw) == agent
    # Shown on the token's page, and not to be pushed later there.
    change = admin_client.get(reverse("admin:invitations_apitoken_change", args=[token.pk]))
    assert 'name="expires_at_0"' not in change.content.decode()
    assert "2099" in change.content.decode()


def test_create_api_token_command_with_an_expiry(agent):
    err = io.StringIO()
    call_command(
        "create_api_token",
        "--user=ann",
        "--name=CRM",
        "--expires-in-days=30",
        stdout=io.StringIO(),
        stderr=err,
    )
    token = ApiToken.objects.get()
    assert token.expires_at is not None
    assert abs(token.expires_at - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert "expires" in err.getvalue()


@pytest.mark.parametrize("days", ["0", "-3", "3651"])
def test_create_api_token_command_refuses_an_odd_expiry(agent, days):
    with pytest.raises(CommandError, match="--expires-in-days must be from 1 to 3650"):
        call_command("create_api_token", "--user=ann", "--name=CRM", f"--expires-in-days={days}")
    assert not ApiToken.objects.exists()
