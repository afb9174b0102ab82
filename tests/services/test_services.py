"""The service layer with the database and the in-memory provider twin."""

import pytest

from invitations import services
from invitations.errors import InvalidInput, NotAllowed, NotConfigured
from invitations.models import DeliveryAttempt, DeliveryStatus, Invitee, Session
from invitations.providers import base, registry
from invitations.providers.base import UpstreamAuthError, UpstreamTimeout

pytestmark = pytest.mark.django_db


def create(agent, django_capture_on_commit_callbacks, **kwargs):
    kwargs.setdefault("destination", "(415) 555-0134")
    with django_capture_on_commit_callbacks(execute=True):
        invitee = services.invitation_create(agent=agent, **kwargs)
    invitee.refresh_from_db()
    return invitee


def test_one_invitation_creates_rows_and_sends_once(
    agent, locmem_upstream, django_capture_on_commit_callbacks
):
    invitee = create(agent, django_capture_on_commit_callbacks, name="Ann", ticket_reference="T-1")
    assert invitee.status == DeliveryStatus.SENT
    assert invitee.destination == "+14155550134"
    assert invitee.attempts == 1
    assert invitee.message_text.startswith("Join your support session")
    session = invitee.session
    assert session.session_key and session.join_url.endswith(session.session_key)
    assert session.ticket_reference == "T-1"
    assert session.session_type == 1
    [sent] = locmem_upstream.outbox
    assert (sent.destination, sent.agent_id, sent.session_type) == ("+14155550134", "ann-77", 1)
    [attempt] = DeliveryAttempt.objects.all()
    assert (attempt.outcome, attempt.http_status) == ("sent", 200)


def test_same_idempotency_key_never_creates_a_second_session_or_message(
    agent, locmem_upstream, django_capture_on_commit_callbacks
):
    first = create(agent, django_capture_on_commit_callbacks, idempotency_key="k-1")
    again = create(agent, django_capture_on_commit_callbacks, idempotency_key="k-1")
    assert first.pk == again.pk
    assert Session.objects.count() == 1
    assert len(locmem_upstream.outbox) == 1


def test_idempotency_key_of_another_agent_is_refused(
    agent, make_agent, credential, locmem_upstream, django_capture_on_commit_callbacks
):
    create(agent, django_capture_on_commit_callbacks, idempotency_key="k-2")
    other = make_agent(username="bob", credential=credential)
    with pytest.raises(InvalidInput):
        services.invitation_create(agent=other, destination="+442079460958", idempotency_key="k-2")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no_profile", "is not set up as an agent"),
        ("no_puid", "has no partner user id"),
        ("no_credential", "has no default credential"),
        ("inactive", "is disabled"),
        ("no_secret", "has no API key"),
    ],
)
def test_unconfigured_agents_get_a_clear_error_and_nothing_is_written(
    setup, message, make_agent, credential, locmem_upstream, django_user_model
):
    if setup == "no_profile":
        agent = django_user_model.objects.create_user("zoe")
    else:
        agent = make_agent(credential=credential)
        profile = agent.agent_profile
        if setup == "no_puid":
            profile.partner_user_id = ""
        elif setup == "no_credential":
            profile.default_credential = None
        profile.save()
        if setup == "inactive":
            credential.is_active = False
        elif setup == "no_secret":
            credential.secret_ciphertext = ""
        credential.save()
    with pytest.raises(NotConfigured, match=message):
        services.invitation_create(agent=agent, destination="(415) 555-0134")
    assert not Session.objects.exists() and not Invitee.objects.exists()
    assert locmem_upstream.outbox == []


def test_invalid_number_writes_nothing(agent, locmem_upstream):
    with pytest.raises(InvalidInput) as caught:
        services.invitation_create(agent=agent, destination="555")
    assert caught.value.field == "destination"
    assert not Session.objects.exists()
    assert locmem_upstream.outbox == []


def test_upstream_refusal_marks_failed_and_keeps_rows_for_resend(
    agent, locmem_upstream, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.append(
        UpstreamAuthError(
            "Glance did not accept the credential", provider="glance", status_code=401
        )
    )
    invitee = create(agent, django_capture_on_commit_callbacks)
    assert invitee.status == DeliveryStatus.FAILED
    assert invitee.last_error == "Glance did not accept the credential"
    assert invitee.session.session_key == ""
    [attempt] = invitee.attempts_log.all()
    assert (attempt.outcome, attempt.http_status) == ("failed", 401)

    with django_capture_on_commit_callbacks(execute=True):
        services.invitee_resend(invitee=invitee)
    invitee.refresh_from_db()
    assert invitee.status == DeliveryStatus.SENT
    assert invitee.attempts == 2 and invitee.last_error == ""
    assert len(locmem_upstream.outbox) == 1


def test_ambiguous_outcome_needs_attention(
    agent, locmem_upstream, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.append(UpstreamTimeout("no answer", provider="glance"))
    invitee = create(agent, django_capture_on_commit_callbacks)
    assert invitee.status == DeliveryStatus.NEEDS_ATTENTION
    assert invitee.attempts_log.get().outcome == "ambiguous"


def test_undecryptable_secret_fails_delivery_with_a_reason(
    agent, credential, locmem_upstream, django_capture_on_commit_callbacks
):
    credential.secret_ciphertext = "gAAAAA-not-a-token"
    credential.save()
    # The credential still "has" a secret, so the invitation is accepted and fails on delivery.
    invitee = create(agent, django_capture_on_commit_callbacks)
    assert invitee.status == DeliveryStatus.FAILED
    assert "cannot be decrypted" in invitee.last_error


def test_a_second_copy_of_the_delivery_task_sends_nothing(
    agent, locmem_upstream, django_capture_on_commit_callbacks
):
    invitee = create(agent, django_capture_on_commit_callbacks)
    services.invitee_deliver(invitee_id=invitee.pk)
    services.invitee_deliver(invitee_id=invitee.pk)
    assert len(locmem_upstream.outbox) == 1
    invitee.refresh_from_db()
    assert invitee.attempts == 1


def test_delivery_of_a_deleted_invitee_does_nothing(locmem_upstream, db):
    assert services.invitee_deliver(invitee_id=424242) is None


def test_resend_while_queued_is_refused(agent, locmem_upstream):
    invitee = services.invitation_create(agent=agent, destination="+442079460958")
    # Without executing on-commit callbacks the invitee stays queued.
    with pytest.raises(NotAllowed, match="queued"):
        services.invitee_resend(invitee=invitee)


def test_an_unexpected_crash_in_delivery_needs_attention(
    agent, locmem_upstream, django_capture_on_commit_callbacks, monkeypatch
):
    def explode(credential):
        raise RuntimeError("bug")

    monkeypatch.setattr(registry, "client_for", explode)
    invitee = create(agent, django_capture_on_commit_callbacks)
    assert invitee.status == DeliveryStatus.NEEDS_ATTENTION
    assert "internal error" in invitee.last_error


def test_credential_upsert_keeps_the_secret_when_none_is_given(credential):
    # Base URL and group id stay: changing them needs the secret again (test_credential_secrets).
    ciphertext = credential.secret_ciphertext
    updated, created = services.credential_upsert(
        label=credential.label,
        provider="glance",
        base_url=credential.base_url,
        group_id=credential.group_id,
        session_type=4,
    )
    assert not created
    assert updated.secret_ciphertext == ciphertext
    assert updated.session_type == 4


def test_credential_upsert_validates_fields(db):
    with pytest.raises(InvalidInput, match="base_url"):
        services.credential_upsert(
            label="x", provider="glance", base_url="nope", group_id=1, api_key="k"
        )
    with pytest.raises(InvalidInput, match="needs an API key"):
        services.credential_upsert(label="y", provider="glance", base_url="https://a.b", group_id=1)


@pytest.mark.parametrize(
    ("error", "status", "outcome", "retryable"),
    [
        (base.UpstreamConnectionError("no connection", provider="x"), "failed", "failed", True),
        (base.UpstreamUnavailable("busy", provider="x", status_code=503), "failed", "failed", True),
        (
            base.UpstreamUnavailable("slow down", provider="x", status_code=429, retry_after=5),
            "failed",
            "failed",
            True,
        ),
        (
            base.UpstreamAuthError("bad key", provider="x", status_code=401),
            "failed",
            "failed",
            False,
        ),
        (
            base.UpstreamAuthError("forbidden", provider="x", status_code=403),
            "failed",
            "failed",
            False,
        ),
        (
            base.UpstreamRejected("bad body", provider="x", status_code=400),
            "failed",
            "failed",
            False,
        ),
        (base.UpstreamNotFound("gone", provider="x", status_code=404), "failed", "failed", False),
        (
            base.UpstreamServerError("boom", provider="x", status_code=500),
            "failed",
            "failed",
            False,
        ),
        (base.UpstreamTimeout("no answer", provider="x"), "needs_attention", "ambiguous", False),
        (base.UpstreamConnectionLost("reset", provider="x"), "needs_attention", "ambiguous", False),
        (
            base.UpstreamBadResponse("garbled", provider="x", status_code=200),
            "needs_attention",
            "ambiguous",
            False,
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_every_upstream_error_is_stored_with_what_the_agent_sees(
    error, status, outcome, retryable, agent, locmem_upstream, django_capture_on_commit_callbacks
):
    locmem_upstream.pending_errors.append(error)
    invitee = create(agent, django_capture_on_commit_callbacks)
    assert invitee.status == status
    assert invitee.last_error == error.message
    attempt = invitee.attempts_log.get()
    assert (attempt.outcome, attempt.http_status, attempt.error) == (
        outcome,
        error.status_code,
        error.message,
    )
    assert error.retryable is retryable
    assert Session.objects.filter(pk=invitee.session_id).exists()  # kept for a resend


def test_every_key_the_session_had_is_kept(
    agent, locmem_upstream, django_capture_on_commit_callbacks
):
    """A Glance resend starts a new session at Glance; the earlier key stays findable."""
    invitee = create(agent, django_capture_on_commit_callbacks)
    first = invitee.session.session_key
    with django_capture_on_commit_callbacks(execute=True):
        services.invitee_resend(invitee=invitee)
    invitee.session.refresh_from_db()
    second = invitee.session.session_key
    assert second and second != first
    assert list(invitee.session.keys.values_list("key", flat=True)) == [first, second]
