"""Credentials: the one write path (the admin form, add_credential and the API call it),
Test connection, and re-encrypting the stored secrets."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone

from invitations.errors import InvalidInput
from invitations.models import (
    AgentProfile,
    AuditEvent,
    AuthType,
    PartnerCredential,
    Provider,
    secret_reentry_error,
)
from invitations.providers import registry
from invitations.providers.base import (
    UpstreamConfigurationError,
    UpstreamError,
)
from invitations.security import crypto
from invitations.security.redaction import redact
from invitations.services.audit import audit_record
from invitations.services.digitalsamba import credential_webhook_ensure, webhook_endpoint
from invitations.services.fields import editable_fields, full_clean

DEFAULT_AUTH_TYPE = {
    Provider.GLANCE: AuthType.GKEY,
    Provider.ONSYNC: AuthType.BASIC,
    Provider.DIGITALSAMBA: AuthType.BASIC,
}


# Every field of a credential an operator sets, as the admin form, add_credential and audit
# events name them; a new model field joins them by itself. The secret stands apart (it is only
# ever replaced, never read back), and Test connection keeps last_checked_at.
CREDENTIAL_FIELDS = editable_fields(PartnerCredential, kept_by_portal={"last_checked_at"})


def credential_changes(*, credential: PartnerCredential, values: Mapping[str, Any]) -> list[str]:
    """The fields that `values` (field name -> new value) would change on `credential`, in
    CREDENTIAL_FIELDS order. A credential not saved yet is compared with the defaults."""
    unknown = set(values) - set(CREDENTIAL_FIELDS)
    if unknown:
        raise TypeError(f"Not fields of a credential: {', '.join(sorted(unknown))}")
    changed = []
    for name in CREDENTIAL_FIELDS:
        if name not in values:
            continue
        if credential._meta.get_field(name).many_to_many:
            stored = (
                set(getattr(credential, name).values_list("pk", flat=True))
                if credential.pk
                else set()
            )
            if {item.pk for item in values[name]} != stored:
                changed.append(name)
        elif getattr(credential, name) != values[name]:
            changed.append(name)
    return changed


def _secret_error(*, label: str, has_secret: bool, changed: list[str], secret: str | None) -> str:
    if secret is not None:
        return "" if secret.strip() else "The API key is empty."
    if not has_secret:
        return f"Credential '{label}' needs an API key or token."
    return secret_reentry_error(changed)


def credential_secret_error(
    *, credential: PartnerCredential, values: Mapping[str, Any], secret: str | None
) -> str:
    """Why credential_save would refuse these `values` and `secret` for `credential` (not
    saved yet: a new one) for want of the secret; "" when it would not. For forms, which
    show the reason next to the secret before anything is saved."""
    return _secret_error(
        label=values.get("label", credential.label),
        has_secret=credential.has_secret,
        changed=credential_changes(credential=credential, values=values),
        secret=secret,
    )


def credential_save(
    *,
    credential: PartnerCredential | None,
    values: Mapping[str, Any],
    secret: str | None = None,
    actor: User | None,
) -> PartnerCredential:
    """Create a credential (`credential=None`) or change one: the one place a credential is
    written, for the admin, add_credential and code alike.

    `values` maps any of CREDENTIAL_FIELDS to its new value ("teams": the only teams whose
    agents may use it; none: every agent); the fields left out keep theirs (a new credential:
    the default, and the provider's usual auth type). `secret=None` keeps the stored secret,
    except that a new base URL or group id needs it again (see SECRET_BOUND_FIELDS). The save
    is recorded as audit events by `actor` (None: an operator command) that name the fields
    changed, never their values; a save that changes nothing records nothing."""
    with transaction.atomic():
        # The stored row, not the caller's copy: a form has already put its values on its own.
        if credential is None or credential.pk is None:
            stored = PartnerCredential()
        else:
            stored = PartnerCredential.objects.select_for_update().get(pk=credential.pk)
        created = stored.pk is None
        if created and "auth_type" not in values and "provider" in values:
            usual = DEFAULT_AUTH_TYPE.get(values["provider"])
            values = {**values, **({"auth_type": usual} if usual else {})}
        changed = credential_changes(credential=stored, values=values)
        problem = _secret_error(
            label=values.get("label", stored.label),
            has_secret=stored.has_secret,
            changed=changed,
            secret=secret,
        )
        if problem:
            raise InvalidInput(problem, field="secret")
        related = {}
        for name, value in values.items():
            if stored._meta.get_field(name).many_to_many:
                related[name] = value
            else:
                setattr(stored, name, value)
        if secret is not None:
            stored.set_secret(secret.strip())
        full_clean(stored)
        stored.save()
        for name, value in related.items():
            getattr(stored, name).set(value)
        target = f"credential {stored.label}"
        if created:
            audit_record(
                actor=actor,
                action=AuditEvent.Action.CREDENTIAL_CREATED,
                target=target,
                details=f"{stored.provider} credential, secret set",
            )
        elif changed or secret is not None:
            audit_record(
                actor=actor,
                action=AuditEvent.Action.CREDENTIAL_CHANGED,
                target=target,
                details=_credential_change_details(
                    fields=changed, secret_replaced=secret is not None
                ),
            )
            if secret is not None:
                audit_record(actor=actor, action=AuditEvent.Action.SECRET_CHANGED, target=target)
    return stored


def credential_upsert(
    *, label: str, api_key: str | None = None, actor: User | None = None, **values: Any
) -> tuple[PartnerCredential, bool]:
    """Create or change the credential called `label` (credential_save): the fields given in
    `values` are set, the others keep their stored value (a new credential: the default).
    Returns the credential and whether it was created."""
    credential = PartnerCredential.objects.filter(label=label).first()
    saved = credential_save(
        credential=credential, values={"label": label, **values}, secret=api_key, actor=actor
    )
    return saved, credential is None


def _credential_change_details(*, fields: Sequence[str], secret_replaced: bool) -> str:
    """An audit event's account of a credential change: the names of the fields changed and
    whether the secret was replaced; never a value."""
    parts = [f"changed: {', '.join(fields)}"] if fields else []
    if secret_replaced:
        parts.append("secret replaced")
    return "; ".join(parts)


logger = logging.getLogger(__name__)


# --- Credential checks -----------------------------------------------------------------------

# Sent as the partner user id when no agent uses the credential; Glance still authenticates
# the group's key with it (address-form credentials need a real agent's Glance address).
CHECK_AGENT_ID = "credential-check"


def credential_target(credential: PartnerCredential) -> str:
    """How audit events name a credential (as credential_upsert does)."""
    return f"credential {credential.label}"


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    message: str


def credential_check(*, credential: PartnerCredential, actor: User | None) -> CheckResult:
    """Ask the provider whether it accepts `credential`, inviting nobody and sending nothing;
    where the provider reports presence by webhook (Digital Samba), register or repair the
    credential's webhook too.

    Speaks for an agent whose default credential this is (so a Glance login key is made for a
    real puid), or for CHECK_AGENT_ID. On success `last_checked_at` is set. Upstream and
    configuration errors become `ok=False` with a message that is safe to show; every check
    is audited (actor None: an operator command).
    """
    agent_id = (
        AgentProfile.objects.filter(default_credential=credential)
        .exclude(partner_user_id="")
        .order_by("pk")
        .values_list("partner_user_id", flat=True)
        .first()
    ) or CHECK_AGENT_ID
    webhook = ""
    try:
        with registry.client_for(credential) as client:
            client.check(agent_id=agent_id)
        if credential.reports_presence_by_webhook:
            credential_webhook_ensure(credential=credential)
            webhook = f" Its webhook is registered at {webhook_endpoint(credential)}."
    except (
        UpstreamError,
        UpstreamConfigurationError,
        ImproperlyConfigured,
        crypto.SecretUnreadable,
    ) as err:
        result = CheckResult(ok=False, message=redact(str(err)))
    else:
        checked_at = timezone.now()
        # A check is not an edit: updated_at stays as the last change made by a person.
        PartnerCredential.objects.filter(pk=credential.pk).update(last_checked_at=checked_at)
        credential.last_checked_at = checked_at
        result = CheckResult(
            ok=True,
            message=f"{credential.get_provider_display()} accepted the credential.{webhook}",
        )
    logger.info("credential %s checked: %s", credential.label, "ok" if result.ok else "failed")
    audit_record(
        actor=actor,
        action=AuditEvent.Action.CREDENTIAL_CHECKED,
        target=credential_target(credential),
        details="ok" if result.ok else result.message,
    )
    return result


def credentials_check(
    *, label: str | None = None, actor: User | None = None
) -> list[tuple[PartnerCredential, CheckResult]]:
    """Check every active credential, or only the one called `label` (active or not, so a
    credential can be checked before it is switched on)."""
    if label:
        credentials = list(PartnerCredential.objects.filter(label=label))
        if not credentials:
            raise InvalidInput(f"No credential labelled '{label}'.")
    else:
        credentials = list(PartnerCredential.objects.filter(is_active=True))
    return [(c, credential_check(credential=c, actor=actor)) for c in credentials]


# --- Secrets ---------------------------------------------------------------------------------


def credentials_reencrypt(*, actor: User | None = None) -> int:
    """Re-encrypt every stored secret with the first key of FIELD_ENCRYPTION_KEYS, all or none,
    so that older keys can then be removed. Returns how many secrets were re-encrypted.

    Raises SecretUnreadable naming the credential whose secret no configured key decrypts,
    and ImproperlyConfigured for an unusable key list; nothing is changed then.
    """
    with transaction.atomic():
        credentials = PartnerCredential.objects.select_for_update().exclude(
            secret_ciphertext="", webhook_secret_ciphertext=""
        )
        rotated = []
        for credential in credentials.order_by("label"):
            try:
                rotated.append(
                    (
                        credential.pk,
                        {
                            field: crypto.rotate(getattr(credential, field))
                            for field in ("secret_ciphertext", "webhook_secret_ciphertext")
                            if getattr(credential, field)
                        },
                    )
                )
            except crypto.SecretUnreadable as err:
                raise crypto.SecretUnreadable(
                    f"The secret of credential '{credential.label}' cannot be decrypted with any "
                    "key in FIELD_ENCRYPTION_KEYS, so nothing was re-encrypted. Put back the key "
                    "it was encrypted with, or enter its secret again."
                ) from err
        for pk, ciphertexts in rotated:
            PartnerCredential.objects.filter(pk=pk).update(**ciphertexts)
        count = sum(len(ciphertexts) for _, ciphertexts in rotated)
        audit_record(
            actor=actor,
            action=AuditEvent.Action.SECRETS_REENCRYPTED,
            details=f"{count} secrets re-encrypted with the first key",
        )
    return count
