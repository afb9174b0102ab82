from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from invitations.models import (
    AgentProfile,
    DeliveryAttempt,
    Invitee,
    PartnerCredential,
    Session,
    Team,
)


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
        help_text="Leave blank to keep the current key. It is stored encrypted and never shown.",
    )

    class Meta:
        model = PartnerCredential
        fields = [
            "provider",
            "label",
            "base_url",
            "group_id",
            "auth_type",
            "auth_header",
            "session_type",
            "session_params",
            "link_delivery",
            "is_active",
        ]

    def clean_session_params(self) -> dict[str, Any]:
        params = self.cleaned_data.get("session_params")
        return params if params is not None else {}

    def save(self, commit: bool = True) -> PartnerCredential:
        credential: PartnerCredential = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            credential.set_secret(self.cleaned_data["secret"])
        if commit:
            credential.save()
        return credential


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
        ("Invitations", {"fields": ["session_type", "session_params", "link_delivery"]}),
        (None, {"fields": ["is_active", "last_checked_at", "created_at", "updated_at"]}),
    ]

    @admin.display(description="API key or token")
    def secret_status(self, credential: PartnerCredential) -> str:
        return "set" if credential.has_secret else "not set"


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "partner_user_id", "team", "default_credential"]
    list_filter = ["team", "default_credential"]
    list_select_related = ["user", "team", "default_credential"]
    search_fields = ["user__username", "user__email", "partner_user_id"]
    autocomplete_fields = ["user"]


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


@admin.register(Session)
class SessionAdmin(admin.ModelAdmin):
    list_display = ["__str__", "credential", "created_by", "ticket_reference", "created_at"]
    list_filter = ["credential", "created_at", "invitees__status"]
    list_select_related = ["credential", "created_by"]
    search_fields = [
        "session_key",
        "ticket_reference",
        "created_by__username",
        "invitees__destination",
        "invitees__name",
    ]
    date_hierarchy = "created_at"
    readonly_fields = [
        "credential",
        "created_by",
        "session_type",
        "session_key",
        "join_url",
        "created_at",
        "updated_at",
    ]
    inlines = [InviteeInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Sessions are started by sending an invitation, never typed in.
        return False


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


@admin.register(Invitee)
class InviteeAdmin(admin.ModelAdmin):
    list_display = ["destination", "name", "channel", "status", "attempts", "session", "created_at"]
    list_filter = ["status", "channel", "session__credential", "created_at"]
    list_select_related = ["session"]
    search_fields = ["destination", "name", "session__session_key", "session__ticket_reference"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "session",
        "channel",
        "destination",
        "status",
        "attempts",
        "last_error",
        "message_text",
        "personal_link",
        "idempotency_key",
        "created_at",
        "updated_at",
        "sent_at",
    ]
    inlines = [DeliveryAttemptInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    list_display = ["invitee", "started_at", "outcome", "http_status", "latency_ms"]
    list_filter = ["outcome", "http_status"]
    list_select_related = ["invitee"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
