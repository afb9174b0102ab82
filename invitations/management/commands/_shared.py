"""Helpers for the operator commands (the leading underscore keeps this from being a command)."""

from django.core.management.base import CommandError

from invitations.models import PartnerCredential


def credential_named(label: str | None) -> PartnerCredential | None:
    """The credential called `label`; None when no label was given."""
    if not label:
        return None
    credential = PartnerCredential.objects.filter(label=label).first()
    if credential is None:
        raise CommandError(f"No credential labelled '{label}'.")
    return credential
