"""One write path per entity: every field an operator may set on a credential or an agent's
profile is reachable from the admin and from the command, both save through the same service,
and the same change writes the same audit events whichever way it was made."""

import io
import json
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command, load_command_class
from django.db.models import Model
from django.test import RequestFactory
from django.urls import reverse

from invitations import services
from invitations.models import (
    SECRET_BOUND_FIELDS,
    AgentProfile,
    AuditEvent,
    PartnerCredential,
    Team,
)

pytestmark = pytest.mark.django_db

NEW_SECRET = "replaced-key-789"


def settable_fields(model: type[Model], *, kept_by_portal: set[str]) -> set[str]:
    """The model's editable concrete and many-to-many fields, read from its _meta here (not
    from the code under test), less the primary key and what the portal keeps itself."""
    meta = model._meta
    return {
        field.name
        for field in (*meta.concrete_fields, *meta.many_to_many)
        if field.editable and not field.primary_key
    } - kept_by_portal


CREDENTIAL_FIELDS = settable_fields(
    PartnerCredential,
    kept_by_portal={"secret_ciphertext", "last_checked_at", "created_at", "updated_at"},
)
AGENT_PROFILE_FIELDS = settable_fields(AgentProfile, kept_by_portal=set())

# For each credential field, a change that sets it (with what else that change needs to be
# valid). A new model field fails test_every_credential_field_has_a_change until it has one.
CHANGES: dict[str, dict[str, Any]] = {
    "provider": {"provider": "onsync", "auth_type": "basic", "account": "acme-login"},
    "account": {"account": "acme-login"},
    "label": {"label": "{label}-renamed"},
    "base_url": {"base_url": "https://eu.glance.invalid"},
    "group_id": {"group_id": 99},
    "auth_type": {"auth_type": "gjwt"},
    "auth_header": {"auth_type": "gssnid", "auth_header": "x-gssnid"},
    "glance_address": {"glance_address": "joe.glance.invalid"},
    "unverified_address_form": {"unverified_address_form": True, "auth_type": "gkey_address"},
    "session_type": {"session_type": 4},
    "session_params": {"session_params": {"camera": "back"}},
    "link_delivery": {"link_delivery": "provider"},
    "allowed_countries": {"allowed_countries": "US,CA"},
    "mobile_only": {"mobile_only": True},
    "company_name": {"company_name": "Acme Support"},
    "invitation_validity_minutes": {"invitation_validity_minutes": 90},
    "is_active": {"is_active": False},
    "teams": {"teams": ["red"]},
}


def credential_admin_form_fields() -> set[str]:
    """The fields of the form the admin really shows (its fieldsets decide, not the form's
    Meta)."""
    model_admin = admin.site._registry[PartnerCredential]
    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True)
    return set(model_admin.get_form(request, obj=None).base_fields)


def option_dests(command: str) -> set[str]:
    parser = load_command_class("invitations", command).create_parser("manage.py", command)
    return {action.dest for action in parser._actions}


def test_the_service_derives_the_credential_fields_from_the_model():
    assert set(services.CREDENTIAL_FIELDS) == CREDENTIAL_FIELDS
    assert set(services.AGENT_PROFILE_FIELDS) == AGENT_PROFILE_FIELDS


def test_every_credential_field_is_in_the_admin_form_and_is_an_add_credential_option():
    assert CREDENTIAL_FIELDS - credential_admin_form_fields() == set()
    # add_credential's options are named after the fields they set (label: the one named).
    assert CREDENTIAL_FIELDS - option_dests("add_credential") == set()


def test_every_credential_field_has_a_change():
    assert set(CHANGES) == CREDENTIAL_FIELDS


@pytest.fixture
def teams(db) -> list[Team]:
    return [Team.objects.create(name="red"), Team.objects.create(name="blue")]


def make(label: str) -> PartnerCredential:
    credential, _ = services.credential_upsert(
        label=label,
        provider="glance",
        base_url="https://glance.invalid",
        group_id=72,
        api_key="first-key-123",
    )
    return credential


def change_for(field: str, credential: PartnerCredential) -> dict[str, Any]:
    change = dict(CHANGES[field])
    if "label" in change:
        change["label"] = change["label"].format(label=credential.label)
    return change


def secret_for(change: dict[str, Any]) -> str | None:
    return NEW_SECRET if set(change) & set(SECRET_BOUND_FIELDS) else None


def stored_value(credential: PartnerCredential, name: str) -> Any:
    if name == "teams":
        return sorted(credential.teams.values_list("name", flat=True)) if credential.pk else []
    return getattr(credential, name)


def admin_form(credential: PartnerCredential, change: dict[str, Any]) -> dict[str, Any]:
    """The credential's admin form as stored, with `change`."""
    form: dict[str, Any] = {"secret": secret_for(change) or ""}
    for name in CREDENTIAL_FIELDS:
        value = change.get(name, stored_value(credential, name))
        if name == "teams":
            form[name] = [str(team.pk) for team in Team.objects.filter(name__in=value)]
        elif isinstance(value, bool):
            if value:
                form[name] = "on"
        elif isinstance(value, dict):
            form[name] = json.dumps(value)
        else:
            form[name] = "" if value is None else str(value)
    return form


def command_args(credential: PartnerCredential, change: dict[str, Any]) -> list[str]:
    """add_credential's arguments for `change` on the credential: the provider, label and base
    URL it always takes, and an option for each field changed."""
    args = [
        change.get("provider", credential.provider),
        f"--label={credential.label}",
        f"--base-url={change.get('base_url', credential.base_url)}",
    ]
    for name, value in change.items():
        if name in ("provider", "base_url"):
            continue
        option = "--new-label" if name == "label" else f"--{name.replace('_', '-')}"
        if name == "is_active":
            args.append("--active" if value else "--inactive")
        elif isinstance(value, bool):
            args.append(option if value else f"--no-{option[2:]}")
        elif name == "teams":
            args.append(f"{option}={','.join(value)}")
        elif isinstance(value, dict):
            args.append(f"{option}={json.dumps(value)}")
        else:
            args.append(f"{option}={value}")
    return args


def audit_of(label: str) -> list[tuple[str, str]]:
    events = AuditEvent.objects.filter(target=f"credential {label}").order_by("id")
    return list(events.values_list("action", "details"))


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_a_change_saves_the_same_through_the_admin_and_add_credential(
    field, admin_client, teams, monkeypatch
):
    by_admin, by_command = make("by-admin"), make("by-command")
    AuditEvent.objects.all().delete()

    change = change_for(field, by_admin)
    url = reverse("admin:invitations_partnercredential_change", args=[by_admin.pk])
    response = admin_client.post(url, admin_form(by_admin, change))
    assert response.status_code == 302, response.context["adminform"].form.errors

    command_change = change_for(field, by_command)
    args = command_args(by_command, command_change)
    if secret_for(command_change):
        monkeypatch.setenv("NEW_KEY", NEW_SECRET)
        args.append("--api-key-env=NEW_KEY")
    call_command("add_credential", *args, stdout=io.StringIO())

    for credential, made in ((by_admin, change), (by_command, command_change)):
        credential.refresh_from_db()
        for name, value in made.items():
            assert stored_value(credential, name) == value, (credential.label, name)
        expected_secret = secret_for(made) or "first-key-123"
        assert credential.reveal_secret() == expected_secret

    through_admin = audit_of(by_admin.label)
    assert through_admin == audit_of(by_command.label)
    [changed, *secret_event] = through_admin
    assert changed[0] == AuditEvent.Action.CREDENTIAL_CHANGED
    assert field in changed[1]
    assert bool(secret_event) == bool(secret_for(change))
    for value in change.values():
        assert str(value) not in changed[1].replace(field, "")


def test_the_admin_and_add_credential_create_alike(admin_client, teams, monkeypatch):
    """A new credential with a value for every field (the Glance ones that fit together) is
    stored alike and recorded alike."""
    values = {
        "provider": "glance",
        "base_url": "https://www.glance.invalid",
        "group_id": 7,
        "account": "acme-login",
        "auth_type": "gssnid",
        "auth_header": "x-gssnid",
        "glance_address": "joe.glance.invalid",
        "unverified_address_form": True,
        "session_type": 3,
        "session_params": {"camera": "back"},
        "link_delivery": "provider",
        "allowed_countries": "GB,+881",
        "mobile_only": True,
        "company_name": "Acme",
        "invitation_validity_minutes": 45,
        "is_active": False,
        "teams": ["blue", "red"],
    }
    assert set(values) | {"label"} == CREDENTIAL_FIELDS
    blank = PartnerCredential(label="by-admin")
    form = {**admin_form(blank, values), "label": "by-admin", "secret": "k-1"}
    response = admin_client.post(reverse("admin:invitations_partnercredential_add"), form)
    assert response.status_code == 302, response.context["adminform"].form.errors

    monkeypatch.setenv("NEW_KEY", "k-1")
    args = command_args(PartnerCredential(label="by-command"), values)
    call_command("add_credential", *args, "--api-key-env=NEW_KEY", stdout=io.StringIO())

    for label in ("by-admin", "by-command"):
        credential = PartnerCredential.objects.get(label=label)
        assert {name: stored_value(credential, name) for name in values} == values
        assert audit_of(label) == [
            (AuditEvent.Action.CREDENTIAL_CREATED, "glance credential, secret set")
        ]


def test_the_admin_needs_a_secret_for_a_new_credential_as_the_command_does(admin_client):
    form = {**admin_form(PartnerCredential(label="no-key"), CHANGES["link_delivery"])}
    form.update(label="no-key", group_id="72", base_url="https://glance.invalid")
    response = admin_client.post(reverse("admin:invitations_partnercredential_add"), form)
    assert response.status_code == 200
    assert "Credential &#x27;no-key&#x27; needs an API key or token." in response.content.decode()
    assert not PartnerCredential.objects.exists()


def test_the_address_form_is_refused_until_it_is_allowed_by_the_admin_and_the_command(
    admin_client, credential
):
    url = reverse("admin:invitations_partnercredential_change", args=[credential.pk])
    response = admin_client.post(url, admin_form(credential, {"auth_type": "gkey_address"}))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Glance does not document what its login key signs" in page
    with pytest.raises(CommandError, match="Glance does not document what its login key signs"):
        call_command("add_credential", *command_args(credential, {"auth_type": "gkey_address"}))
    credential.refresh_from_db()
    assert credential.auth_type == "gkey"

    change = {"auth_type": "gkey_address", "unverified_address_form": True}
    response = admin_client.post(url, admin_form(credential, change))
    assert response.status_code == 302, response.context["adminform"].form.errors
    credential.refresh_from_db()
    assert (credential.auth_type, credential.unverified_address_form) == ("gkey_address", True)


def test_a_save_that_changes_nothing_records_nothing(admin_client, credential):
    url = reverse("admin:invitations_partnercredential_change", args=[credential.pk])
    assert admin_client.post(url, admin_form(credential, {})).status_code == 302
    call_command("add_credential", *command_args(credential, {}), stdout=io.StringIO())
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CREDENTIAL_CHANGED).exists()


def test_add_credential_renames_only_a_credential_that_exists(db):
    with pytest.raises(Exception, match="No credential labelled 'nope' to rename"):
        call_command(
            "add_credential",
            "glance",
            "--label=nope",
            "--new-label=other",
            "--base-url=https://g.invalid",
            stdout=io.StringIO(),
        )


# create_agent's option for each profile field.
AGENT_OPTIONS = {
    "user": "username",
    "partner_user_id": "puid",
    "default_credential": "credential",
    "time_zone": "time_zone",
    "team": "team",
    "display_name": "display_name",
}


def test_every_agent_profile_field_is_in_the_admin_form_and_is_a_create_agent_option():
    assert set(AGENT_OPTIONS) == AGENT_PROFILE_FIELDS
    model_admin = admin.site._registry[AgentProfile]
    request = RequestFactory().get("/")
    request.user = get_user_model()(is_superuser=True, is_staff=True)
    assert AGENT_PROFILE_FIELDS - set(model_admin.get_form(request, obj=None).base_fields) == set()
    assert set(AGENT_OPTIONS.values()) - option_dests("create_agent") == set()


def test_create_agent_sets_the_team_time_zone_and_supervisor(teams, credential):
    out = io.StringIO()
    call_command(
        "create_agent",
        "sam",
        "--puid=sam-1",
        f"--credential={credential.label}",
        "--team=red",
        "--time-zone=Europe/London",
        "--supervisor",
        stdout=out,
    )
    profile = AgentProfile.objects.select_related("user", "team").get(user__username="sam")
    assert (profile.partner_user_id, profile.default_credential, profile.team) == (
        "sam-1",
        credential,
        teams[0],
    )
    assert profile.time_zone == "Europe/London"
    assert profile.user.groups.filter(name="Supervisors").exists()

    call_command("create_agent", "sam", "--puid=sam-2", stdout=io.StringIO())
    profile.refresh_from_db()
    assert (profile.partner_user_id, profile.team, profile.time_zone) == (
        "sam-2",
        teams[0],
        "Europe/London",
    )
    with pytest.raises(Exception, match="No team named 'green'"):
        call_command("create_agent", "sam", "--puid=sam-2", "--team=green", stdout=io.StringIO())
    with pytest.raises(Exception, match="Unknown time zone 'Mars/Base'"):
        call_command(
            "create_agent", "sam", "--puid=sam-2", "--time-zone=Mars/Base", stdout=io.StringIO()
        )


def test_the_agent_admin_saves_through_the_service(admin_client, agent, monkeypatch):
    seen = []
    real = services.agent_profile_save

    def spy(**kwargs: Any) -> AgentProfile:
        seen.append(sorted(kwargs["values"]))
        return real(**kwargs)

    monkeypatch.setattr(services, "agent_profile_save", spy)
    profile = agent.agent_profile
    url = reverse("admin:invitations_agentprofile_change", args=[profile.pk])
    form = {
        "user": str(agent.pk),
        "partner_user_id": "ann-78",
        "default_credential": str(profile.default_credential_id),
        "time_zone": "Europe/Paris",
        "team": "",
        "display_name": "Ann",
    }
    # Customers read the agent's name: the admin requires one (or the user's first name).
    refused = admin_client.post(url, {**form, "display_name": ""})
    assert "Give the agent the name customers read" in refused.content.decode()
    assert admin_client.post(url, form).status_code == 302
    profile.refresh_from_db()
    assert (profile.partner_user_id, profile.time_zone) == ("ann-78", "Europe/Paris")
    assert seen == [sorted(AGENT_PROFILE_FIELDS)]


def test_the_model_refuses_the_address_form_unless_it_is_allowed(credential):
    credential.auth_type = "gkey_address"
    with pytest.raises(ValidationError) as refused:
        credential.full_clean()
    assert "Glance does not document what its login key signs" in str(refused.value)
    credential.unverified_address_form = True
    credential.full_clean()
