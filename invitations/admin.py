from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Field, Model, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language_info

from invitations import selectors, services, states
from invitations.channels.sms.segments import count_segments
from invitations.errors import InvitationError
from invitations.messaging.templates import SAMPLE_VALUES, TEMPLATE_VARIABLES, fill
from invitations.models import (
    AgentProfile,
    ApiToken,
    AuditEvent,
    Channel,
    DeliveryAttempt,
    DeliveryReceipt,
    Invitee,
    MessageTemplate,
    PartnerCredential,
    Session,
    Team,
    mask_destination,
)
from invitations.security.links import safe_link
from invitations.services import privacy, tokens

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

Action = AuditEvent.Action


def _actor(request: HttpRequest) -> User:
    # The admin only runs for a logged-in staff user.
    return cast(User, request.user)


class _Echo:
    """A file for csv.writer that hands back each line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


def _csv_response(rows: Iterator[list[str]], name: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    return response


class GrowingTablePaginator(Paginator):
    """For the tables that grow with every invitation: an unfiltered list on PostgreSQL takes
    the table's size from the planner's statistics (pg_class.reltuples, kept by ANALYZE and
    autovacuum) instead of counting every row on every page view; filtered lists, smaller
    tables and other databases count exactly."""

    EXACT_BELOW = 10_000

    @cached_property
    def count(self) -> int:
        queryset = self.object_list
        if (
            connection.vendor != "postgresql"
            or not isinstance(queryset, QuerySet)
            or queryset.query.where
        ):
            return super().count
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT reltuples::bigint FROM pg_class WHERE oid = %s::regclass",
                [queryset.model._meta.db_table],
            )
            row = cursor.fetchone()
        estimate = int(row[0]) if row else -1
        return estimate if estimate >= self.EXACT_BELOW else super().count


class GrowingTableAdmin(admin.ModelAdmin):
    """For the tables that grow with every invitation. They have no date_hierarchy: its links
    come from a SELECT DISTINCT over every row of the list on each page view (PostgreSQL has no
    index skip scan); the date filters (today, past 7 days, this month, this year) query
    nothing. Filters offer fixed choices, for the same reason."""

    paginator = GrowingTablePaginator
    # Filtered lists would otherwise count the whole table a second time, for "N total".
    show_full_result_count = False


class AgentListFilter(admin.RelatedFieldListFilter):
    """Filter by the agent who started the session. Offers every user with an agent profile:
    "only agents who started one" would scan every session (or invitee) to find them."""

    def __init__(
        self,
        field: Field[Any, Any],
        request: HttpRequest,
        params: dict[str, str],
        model: type[Model],
        model_admin: admin.ModelAdmin[Any],
        field_path: str,
    ) -> None:
        super().__init__(field, request, params, model, model_admin, field_path)
        self.title = "agent"

    def field_choices(
        self, field: Field[Any, Any], request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, StrOrPromise]]:
        agents = User.objects.filter(agent_profile__isnull=False).order_by("username")
        return [(str(agent.pk), agent.get_username()) for agent in agents]


class HttpStatusFilter(admin.SimpleListFilter):
    """The provider's answer by class. Fixed choices: listing the codes that occur would read
    every attempt on every page view."""

    title = "HTTP status"
    parameter_name = "http_status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [
            ("2xx", "2xx accepted"),
            ("4xx", "4xx refused"),
            ("5xx", "5xx provider error"),
            ("none", "no answer"),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "none":
            return queryset.filter(http_status__isnull=True)
        if value in ("2xx", "4xx", "5xx"):
            low = int(value[0]) * 100
            return queryset.filter(http_status__gte=low, http_status__lt=low + 100)
        return queryset


class ReceiptStatusFilter(admin.SimpleListFilter):
    """The receipt's status: the ones that settle an invitation, or any other the sender
    reports on the way. Fixed choices, for the reason above."""

    title = "status"
    parameter_name = "status"
    SETTLING = sorted(states.RECEIPT_OUTCOMES)

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [*((status, status) for status in self.SETTLING), ("other", "other")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "other":
            return queryset.exclude(status__in=self.SETTLING)
        if value in self.SETTLING:
            return queryset.filter(status=value)
        return queryset


class PartnerCredentialForm(forms.ModelForm):
    base_url = forms.URLField(
        label="Base URL", assume_scheme="https", help_text="e.g. https://www.glance.net"
    )
    # Write-only: the stored value is never sent to the browser.
    secret = forms.CharField(
        label="API key or token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave blank to keep the current key (changing the base URL or group id "
        "needs it again). It is stored encrypted and never shown.",
    )

    class Meta:
        model = PartnerCredential
        fields = services.CREDENTIAL_FIELDS

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        validity = self.fields.get("invitation_validity_minutes")
        if validity is not None:
            validity.required = False
            validity.help_text = f"{validity.help_text} Blank: keep the current value."

    def clean_invitation_validity_minutes(self) -> int:
        minutes = self.cleaned_data.get("invitation_validity_minutes")
        return minutes if minutes is not None else self.instance.invitation_validity_minutes

    def clean_session_params(self) -> dict[str, Any]:
        params = self.cleaned_data.get("session_params")
        return params if params is not None else {}

    def clean(self) -> dict[str, Any]:
        super().clean()
        problem = services.credential_secret_error(
            credential=self.instance, values=self.values(), secret=self.new_secret()
        )
        if problem:
            self.add_error("secret", problem)
        return self.cleaned_data

    def values(self) -> dict[str, Any]:
        """The credential's fields as entered, for services.credential_save."""
        return {
            name: self.cleaned_data[name]
            for name in services.CREDENTIAL_FIELDS
            if name in self.cleaned_data
        }

    def new_secret(self) -> str | None:
        """The secret entered; None (keep the stored one) when left blank."""
        return self.cleaned_data.get("secret") or None


@admin.register(PartnerCredential)
class PartnerCredentialAdmin(admin.ModelAdmin):
    form = PartnerCredentialForm
    list_display = ["label", "provider", "base_url", "group_id", "secret_status", "is_active"]
    list_filter = ["provider", "is_active"]
    search_fields = ["label", "base_url"]
    readonly_fields = ["secret_status", "last_checked_at", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["provider", "label", "base_url", "group_id"]}),
        ("Authentication", {"fields": ["auth_type", "auth_header", "secret_status", "secret"]}),
        (
            "Invitations",
            {
                "fields": [
                    "session_type",
                    "session_params",
                    "link_delivery",
                    "company_name",
                    "invitation_validity_minutes",
                ]
            },
        ),
        ("SMS safeguards", {"fields": ["allowed_countries", "mobile_only"]}),
        ("Who may use it", {"fields": ["teams"]}),
        (None, {"fields": ["is_active", "last_checked_at", "created_at", "updated_at"]}),
    ]
    filter_horizontal = ["teams"]

    actions = ["test_connection"]

    def save_related(
        self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool
    ) -> None:
        # No super(): save_model's credential_save has written the teams with the rest.
        credential = cast(PartnerCredential, form.instance)
        # Saved, but say so: these agents cannot send until their default credential changes.
        open_to: dict[int | None, bool] = {}
        stranded = []
        for profile in AgentProfile.objects.filter(default_credential=credential).select_related(
            "user"
        ):
            if profile.team_id not in open_to:
                open_to[profile.team_id] = (
                    selectors.credentials_open_to_team(profile.team_id)
                    .filter(pk=credential.pk)
                    .exists()
                )
            if not open_to[profile.team_id]:
                stranded.append(profile.user.get_username())
        if stranded:
            self.message_user(
                request,
                f"{len(stranded)} agents have {credential.label} as their default credential "
                f"but are not on its teams, so they cannot send: {', '.join(sorted(stranded))}. "
                "Choose another default credential for them, or add their team.",
                messages.WARNING,
            )

    @admin.display(description="API key or token")
    def secret_status(self, credential: PartnerCredential) -> str:
        return "set" if credential.has_secret else "not set"

    @admin.action(description="Test connection", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet[PartnerCredential]) -> None:
        for credential in queryset:
            result = services.credential_check(credential=credential, actor=_actor(request))
            level = messages.SUCCESS if result.ok else messages.ERROR
            self.message_user(request, f"{credential.label}: {result.message}", level)

    def save_model(
        self, request: HttpRequest, obj: PartnerCredential, form: forms.ModelForm, change: bool
    ) -> None:
        entered = cast(PartnerCredentialForm, form)
        saved = services.credential_save(
            credential=obj if change else None,
            values=entered.values(),
            secret=entered.new_secret(),
            actor=_actor(request),
        )
        # The admin goes on with `obj` (its redirect, messages and history): the row as saved.
        obj.pk = saved.pk
        obj.refresh_from_db()


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


def _customer_languages() -> list[tuple[str, str]]:
    return [(code, get_language_info(code)["name"]) for code in settings.CUSTOMER_LANGUAGES]


class MessageTemplateForm(forms.ModelForm):
    language = forms.ChoiceField(choices=_customer_languages)

    class Meta:
        model = MessageTemplate
        fields = [
            "name",
            "channel",
            "language",
            "is_active",
            "credential",
            "team",
            "subject",
            "text",
            "html",
        ]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    """Message texts per channel and language; checked on save (model clean)."""

    form = MessageTemplateForm
    list_display = ("name", "channel", "language", "scope", "is_active", "updated_at")
    list_filter = ("channel", "language", "is_active")
    list_select_related = ("credential", "team")
    search_fields = ("name", "text", "subject")
    readonly_fields = ("variables", "sample")
    fieldsets = (
        (None, {"fields": ("name", "channel", "language", "is_active")}),
        (
            "Applies to",
            {
                "fields": ("credential", "team"),
                "description": "A credential's template beats its agent's team's, which "
                "beats one with neither (everybody). Without any, the built-in text is used.",
            },
        ),
        ("Message", {"fields": ("variables", "subject", "text", "html")}),
        ("As a customer gets it", {"fields": ("sample",)}),
    )

    @admin.display(description="applies to")
    def scope(self, template: MessageTemplate) -> str:
        if template.credential is not None:
            return f"credential {template.credential}"
        if template.team is not None:
            return f"team {template.team}"
        return "everybody"

    @admin.display(description="variables")
    def variables(self, template: MessageTemplate | None) -> str:
        return format_html_join(
            mark_safe("<br>"),
            "<code>{{{}}}</code> {}",
            ((name, description) for name, description in TEMPLATE_VARIABLES.items()),
        )

    @admin.display(description="with sample values")
    def sample(self, template: MessageTemplate | None) -> str:
        if template is None or template.pk is None:
            return "Shown after saving."
        filled = fill(template.text, SAMPLE_VALUES)
        if template.channel != Channel.SMS:
            subject = fill(template.subject, SAMPLE_VALUES)
            return format_html("<strong>{}</strong><pre>{}</pre>", subject, filled)
        count = count_segments(filled)
        return format_html(
            "<pre>{}</pre>{} characters, {}: {} SMS{}",
            filled,
            count.characters,
            count.encoding,
            count.segments,
            " (arrives in parts)" if count.is_multipart else "",
        )

    def save_model(
        self, request: HttpRequest, obj: MessageTemplate, form: forms.ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        services.audit_record(
            actor=_actor(request), action=Action.TEMPLATE_CHANGED, target=f"template {obj.name}"
        )


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "partner_user_id", "team", "default_credential"]
    list_filter = ["team", "default_credential"]
    list_select_related = ["user", "team", "default_credential"]
    search_fields = ["user__username", "user__email", "partner_user_id"]
    autocomplete_fields = ["user"]

    def save_model(
        self, request: HttpRequest, obj: AgentProfile, form: forms.ModelForm, change: bool
    ) -> None:
        services.agent_profile_save(
            profile=obj,
            values={
                name: form.cleaned_data[name]
                for name in services.AGENT_PROFILE_FIELDS
                if name in form.cleaned_data
            },
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
        return _csv_response(services.sessions_export(sessions=queryset), "sessions")


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
        report = services.invitees_resend(invitees=queryset, actor=_actor(request))
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
        return _csv_response(services.invitees_export(invitees=queryset), "invitees")

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
                report = privacy.person_erase(destination=destination, actor=_actor(request))
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


class ReadOnlyAdmin(GrowingTableAdmin):
    """For records nobody may add, edit or remove in the admin: the audit trail."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The record of who changed what; nobody edits or removes it here."""

    list_display = ["created_at", "actor_name", "action", "target", "details"]
    list_filter = ["action", "created_at"]
    search_fields = ["actor_name", "target"]


class ApiTokenAddForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["user", "name", "expires_at"]

    def clean_user(self) -> User:
        user: User = self.cleaned_data["user"]
        if not user.is_active:
            raise forms.ValidationError("This user is inactive; its tokens would not work.")
        return user

    def clean_expires_at(self) -> datetime | None:
        expires_at: datetime | None = self.cleaned_data["expires_at"]
        if expires_at is not None and expires_at <= timezone.now():
            raise forms.ValidationError(tokens.EXPIRY_IN_THE_PAST)
        return expires_at


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens for the JSON API. Adding one shows the token once; only a digest is stored.
    Tokens are revoked, not deleted, so the audit trail keeps pointing at something.
    Staff who are not superusers add tokens for themselves only."""

    list_display = [
        "name",
        "prefix_shown",
        "user",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    list_select_related = ["user"]
    search_fields = ["name", "prefix", "user__username"]
    actions = ["revoke"]

    def get_autocomplete_fields(self, request: HttpRequest) -> list[str]:
        # Superusers pick any user; anyone else is offered themselves only.
        return ["user"] if _actor(request).is_superuser else []

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        actor = _actor(request)
        if db_field.name == "user" and not actor.is_superuser:
            kwargs["queryset"] = User.objects.filter(pk=actor.pk)
            kwargs["initial"] = actor.pk
            # Anyone else's id is not a choice here; say why rather than "not a valid choice".
            kwargs["error_messages"] = {"invalid_choice": tokens.other_users_token_refused(actor)}
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        if obj is None:
            kwargs["form"] = ApiTokenAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "name", "expires_at")
        return (
            "name",
            "user",
            "prefix_shown",
            "created_at",
            "last_used_at",
            "expires_at",
            "revoked_at",
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        # A later expiry would be a new token's worth of access: create a new one instead.
        return ["user", "prefix_shown", "created_at", "last_used_at", "expires_at", "revoked_at"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="token", ordering="prefix")
    def prefix_shown(self, token: ApiToken) -> str:
        return f"{token.prefix}…"

    def save_model(
        self, request: HttpRequest, obj: ApiToken, form: forms.ModelForm, change: bool
    ) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, raw = tokens.api_token_create(
            user=obj.user, name=obj.name, actor=_actor(request), expires_at=obj.expires_at
        )
        obj.pk, obj.prefix, obj.created_at = token.pk, token.prefix, token.created_at
        # Kept on this request only, for response_add to show; only its digest is stored.
        request._new_api_token = raw  # type: ignore[attr-defined]

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        """Show the new token on this response itself, once: not through the messages
        framework, whose cookie or session storage would keep a copy."""
        raw = getattr(request, "_new_api_token", None)
        if raw is None:
            return super().response_add(request, obj, post_url_continue)
        return TemplateResponse(
            request,
            "admin/invitations/apitoken/created.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "token": obj,
                "raw_token": raw,
                "title": "API token created",
            },
        )

    @admin.action(description="Revoke selected tokens", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        revoked = sum(
            tokens.api_token_revoke(token=token, actor=_actor(request))
            for token in queryset.select_related("user")
        )
        self.message_user(request, f"{revoked} tokens revoked.", messages.SUCCESS)


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
