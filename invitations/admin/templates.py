"""Message templates in the admin, with a preview filled with typical values."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language_info

from invitations import services
from invitations.channels.sms.segments import count_segments
from invitations.messaging.templates import SAMPLE_VALUES, TEMPLATE_VARIABLES, fill
from invitations.models import (
    Channel,
    MessageTemplate,
)

if TYPE_CHECKING:
    pass
from invitations.admin.base import Action, acting_user


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
            actor=acting_user(request),
            action=Action.TEMPLATE_CHANGED,
            target=f"template {obj.name}",
        )
