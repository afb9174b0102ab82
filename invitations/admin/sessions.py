"""Sessions, invitees, their delivery attempts and receipts in the admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils.html import format_html

from invitations import services
from invitations.errors import InvitationError
from invitations.models import (
    DeliveryAttempt,
    DeliveryReceipt,
    Invitee,
    PartnerCredential,
    Session,
    mask_destination,
)
from invitations.security.links import safe_link
from invitations.services import privacy

if TYPE_CHECKING:
    pass
from invitations.admin.base import (
    AgentListFilter,
    GrowingTableAdmin,
    HttpStatusFilter,
    ReadOnlyAdmin,
    ReceiptStatusFilter,
    acting_user,
    csv_response,
)


class InviteeInline(admin.TabularInline):
    model = Invitee
    extra = 0
    can_delete = False
    readonly_fields = fields = (
        "name",
        "channel",
        "destination",
        "status",
        "attempts",
        "last_error",
        "sent_at",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def _link(url: str, credential: PartnerCredential) -> str:
    """A provider's link as a link only if invitations.security.links passes it; else as plain
    text."""
    link = safe_link(url, base_url=credential.base_url)
    if link is None:
        return url or "-"
    return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', link, link)


@admin.register(Session)
class SessionAdmin(GrowingTableAdmin):
    list_display = ["__str__", "credential", "created_by", "ticket_reference", "created_at"]
    list_filter = [
        "credential",
        "credential__provider",
        ("created_by", AgentListFilter),
        "created_at",
        "invitees__status",
    ]
    list_select_related = ["credential", "created_by"]
    actions = ["export_csv"]
    search_fields = [
        "session_key",
        "ticket_reference",
        "created_by__username",
        "invitees__destination",
        "invitees__name",
    ]
    readonly_fields = [
        "credential",
        "created_by",
        "session_type",
        "session_key",
        "join_link",
        "created_at",
        "updated_at",
    ]
    # Shown through join_link, which shows an unsafe link as text.
    exclude = ["join_url"]
    inlines = [InviteeInline]

    @admin.display(description="join URL")
    def join_link(self, obj: Session) -> str:
        return _link(obj.join_url, obj.credential)

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Sessions are started by sending an invitation, never typed in.
        return False

    @admin.action(description="Export as CSV", permissions=["view"])
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[Session]
    ) -> StreamingHttpResponse:
        return csv_response(services.sessions_export(sessions=queryset), "sessions")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    readonly_fields = fields = (
        "started_at",
        "finished_at",
        "outcome",
        "http_status",
        "latency_ms",
        "error",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class DeliveryReceiptInline(admin.TabularInline):
    model = DeliveryReceipt
    extra = 0
    can_delete = False
    readonly_fields = fields = (
        "occurred_at",
        "received_at",
        "source",
        "status",
        "applied",
        "message_id",
        "detail",
    )

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Invitee)
class InviteeAdmin(GrowingTableAdmin):
    list_display = ["destination", "name", "channel", "status", "attempts", "session", "created_at"]
    list_filter = [
        "status",
        "channel",
        "session__credential__provider",
        "session__credential",
        ("session__created_by", AgentListFilter),
        "created_at",
    ]
    list_select_related = ["session"]
    actions = ["resend", "export_csv", "erase_person"]
    search_fields = ["destination", "name", "session__session_key", "session__ticket_reference"]
    readonly_fields = [
        "session",
        "channel",
        "destination",
        "status",
        "attempts",
        "last_error",
        "message_text",
        "personal_session_link",
        "idempotency_key",
        "created_at",
        "updated_at",
        "sent_at",
        "provider_message_id",
        "receipt_at",
    ]
    # Shown through personal_session_link, which shows an unsafe link as text.
    exclude = ["personal_link"]
    inlines = [DeliveryAttemptInline, DeliveryReceiptInline]

    @admin.display(description="personal link")
    def personal_session_link(self, obj: Invitee) -> str:
        return _link(obj.personal_link, obj.session.credential)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Resend selected invitations", permissions=["change"])
    def resend(self, request: HttpRequest, queryset: QuerySet[Invitee]) -> None:
        report = services.invitees_resend(invitees=queryset, actor=acting_user(request))
        message = f"{report.queued} invitations queued to be sent again."
        if report.refused:
            message += f" {report.refused} refused: {' '.join(report.reasons)}"
        self.message_user(
            request, message, messages.WARNING if report.refused else messages.SUCCESS
        )

    @admin.action(description="Export as CSV", permissions=["view"])
    def export_csv(
        self, request: HttpRequest, queryset: QuerySet[Invitee]
    ) -> StreamingHttpResponse:
        return csv_response(services.invitees_export(invitees=queryset), "invitees")

    @admin.action(
        description="Erase this person's data (every session, any age)", permissions=["delete"]
    )
    def erase_person(
        self, request: HttpRequest, queryset: QuerySet[Invitee]
    ) -> TemplateResponse | None:
        """privacy.person_erase for the person of each selected invitation, after a
        confirmation page."""
        destinations = sorted({i.destination for i in queryset if not i.is_purged})
        if request.POST.get("post") != "yes":
            return TemplateResponse(
                request,
                "admin/invitations/invitee/erase_confirmation.html",
                {
                    **self.admin_site.each_context(request),
                    "opts": self.opts,
                    "title": "Erase personal data",
                    "queryset": queryset,
                    "people": [mask_destination(d) for d in destinations],
                    "action_checkbox_name": ACTION_CHECKBOX_NAME,
                },
            )
        erased: list[str] = []
        refused: list[str] = []
        for destination in destinations:
            try:
                report = privacy.person_erase(destination=destination, actor=acting_user(request))
            except InvitationError as err:
                refused.append(f"{mask_destination(destination)}: {err.message}")
                continue
            erased.append(f"{mask_destination(destination)} ({'; '.join(report.lines())})")
        if erased:
            self.message_user(request, f"Erased: {' '.join(erased)}", messages.SUCCESS)
        if refused:
            self.message_user(request, f"Not erased: {' '.join(refused)}", messages.WARNING)
        if not destinations:
            self.message_user(request, "Their data was already purged.", messages.INFO)
        return None


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "destination",
        "session",
        "agent",
        "started_at",
        "outcome",
        "http_status",
        "latency_ms",
    ]
    list_filter = ["outcome", HttpStatusFilter]
    list_select_related = ["invitee__session__created_by"]
    search_fields = ["invitee__session__session_key"]
    # Newest first by primary key: the model's started_at order has no index to read it from.
    ordering = ["-id"]

    @admin.display(description="destination")
    def destination(self, attempt: DeliveryAttempt) -> str:
        return attempt.invitee.masked_destination

    @admin.display(description="session", ordering="invitee__session")
    def session(self, attempt: DeliveryAttempt) -> str:
        return str(attempt.invitee.session)

    @admin.display(description="agent", ordering="invitee__session__created_by")
    def agent(self, attempt: DeliveryAttempt) -> str:
        return attempt.invitee.session.created_by.get_username()


@admin.register(DeliveryReceipt)
class DeliveryReceiptAdmin(ReadOnlyAdmin):
    """Status callbacks from the SMS gateway and the e-mail provider, as received."""

    list_display = [
        "received_at",
        "source",
        "status",
        "applied",
        "destination",
        "session",
        "occurred_at",
        "message_id",
    ]
    list_filter = ["source", ReceiptStatusFilter, "applied", "received_at"]
    list_select_related = ["invitee__session"]
    search_fields = ["message_id", "event_id", "invitee__session__session_key"]
    # Newest first, read from the (received_at, id) index of migration 0013.

    @admin.display(description="destination")
    def destination(self, receipt: DeliveryReceipt) -> str:
        return receipt.invitee.masked_destination if receipt.invitee else "—"

    @admin.display(description="session", ordering="invitee__session")
    def session(self, receipt: DeliveryReceipt) -> str:
        return str(receipt.invitee.session) if receipt.invitee else "—"
