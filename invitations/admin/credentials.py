"""Credentials in the admin: the form saves through services.credential_save."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from invitations import selectors, services
from invitations.models import (
    AgentProfile,
    PartnerCredential,
)

if TYPE_CHECKING:
    pass
from invitations.admin.base import acting_user


class PartnerCredentialForm(forms.ModelForm):
    base_url = forms.URLField(
        label="Base URL",
        assume_scheme="https",
        help_text="e.g. https://www.glance.net, https://onsync.digitalsamba.com/api/1 or "
        "https://api.digitalsamba.com/api/v1",
    )
    # Write-only: the stored value is never sent to the browser.
    secret = forms.CharField(
        label="API key or token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Glance (every auth type, GSSNID and GJWT included): the partner API key; "
        "tokens are asked of Glance's Authorization Service for each agent and never stored. "
        "OnSync: the account's password. Digital Samba: the developer key. Leave blank to keep "
        "the current key (changing the base URL, group id, account or team id needs it again). "
        "It is stored encrypted and never shown.",
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
    readonly_fields = [
        "secret_status",
        "webhook_status",
        "last_checked_at",
        "created_at",
        "updated_at",
    ]
    fieldsets = [
        (None, {"fields": ["provider", "label", "base_url", "group_id", "account"]}),
        (
            "Authentication",
            {"fields": ["auth_type", "auth_header", "secret_status", "secret", "webhook_status"]},
        ),
        (
            "Glance address form (unverified)",
            {
                "fields": ["unverified_address_form", "glance_address"],
                "description": "Glance documents what the partner form's login key signs, not "
                "what the address form's (glanceaddress~loginkey) does, so this mode is "
                "unverified and off by default. Turn it on only for a Glance account known to "
                "accept it; otherwise use GKEY (partner form), GSSNID or GJWT.",
            },
        ),
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

    @admin.display(description="Digital Samba webhook")
    def webhook_status(self, credential: PartnerCredential) -> str:
        if not credential.reports_presence_by_webhook:
            return "not used"
        if not credential.webhook_id:
            return "not registered yet (Test connection registers it)"
        return f"registered ({credential.webhook_id})"

    @admin.action(description="Test connection", permissions=["change"])
    def test_connection(self, request: HttpRequest, queryset: QuerySet[PartnerCredential]) -> None:
        for credential in queryset:
            result = services.credential_check(credential=credential, actor=acting_user(request))
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
            actor=acting_user(request),
        )
        # The admin goes on with `obj` (its redirect, messages and history): the row as saved.
        obj.pk = saved.pk
        obj.refresh_from_db()
