"""Teams, agents' profiles and API tokens in the admin."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from invitations import services
from invitations.models import (
    AgentProfile,
    ApiToken,
    Team,
)
from invitations.services import tokens

if TYPE_CHECKING:
    pass
from invitations.admin.base import acting_user


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name"]
    search_fields = ["name"]


class AgentProfileForm(forms.ModelForm):
    class Meta:
        model = AgentProfile
        fields = [
            "user",
            "display_name",
            "partner_user_id",
            "default_credential",
            "time_zone",
            "team",
        ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        user: User | None = cleaned.get("user") or getattr(self.instance, "user", None)
        # Customers' messages introduce the agent by name; a username is never used there.
        if not str(cleaned.get("display_name", "")).strip() and not (
            user is not None and user.first_name.strip()
        ):
            self.add_error("display_name", UNNAMED_AGENT_REFUSED)
        return cleaned


UNNAMED_AGENT_REFUSED = (
    "Give the agent the name customers read in their messages, e.g. Maria (or set the "
    "user's first name)."
)


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    form = AgentProfileForm
    list_display = ["user", "display_name", "partner_user_id", "team", "default_credential"]
    list_filter = ["team", "default_credential"]
    list_select_related = ["user", "team", "default_credential"]
    search_fields = ["user__username", "display_name", "user__email", "partner_user_id"]
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
        return ["user"] if acting_user(request).is_superuser else []

    def formfield_for_foreignkey(
        self, db_field: Any, request: HttpRequest, **kwargs: Any
    ) -> forms.ModelChoiceField | None:
        actor = acting_user(request)
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
            user=obj.user, name=obj.name, actor=acting_user(request), expires_at=obj.expires_at
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
            tokens.api_token_revoke(token=token, actor=acting_user(request))
            for token in queryset.select_related("user")
        )
        self.message_user(request, f"{revoked} tokens revoked.", messages.SUCCESS)
