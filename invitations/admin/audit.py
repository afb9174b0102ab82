"""The audit log in the admin, read-only."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin

from invitations.models import (
    AuditEvent,
)

if TYPE_CHECKING:
    pass
from invitations.admin.base import ReadOnlyAdmin


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The record of who changed what; nobody edits or removes it here."""

    list_display = ["created_at", "actor_name", "action", "target", "details"]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_name", "target"]
