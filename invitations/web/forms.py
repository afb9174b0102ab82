from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.conf import settings
from django.utils.translation import get_language_info
from django.utils.translation import gettext_lazy as _

from invitations.messaging import send
from invitations.models import Channel, DeliveryStatus, PartnerCredential
from invitations.phone import PHONE_HELP

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django_stubs_ext import StrOrPromise

RECIPIENT_LABELS: dict[tuple[str, ...], StrOrPromise] = {
    (Channel.SMS,): _("Mobile number"),
    (Channel.EMAIL,): _("E-mail address"),
    (Channel.SMS, Channel.EMAIL): _("Mobile number or e-mail address"),
}
RECIPIENT_HELP: dict[tuple[str, ...], StrOrPromise] = {
    (Channel.SMS,): PHONE_HELP,
    (Channel.EMAIL,): _("The customer's e-mail address."),
    (Channel.SMS, Channel.EMAIL): _(
        "A mobile number (any format, with country code if not local) or an e-mail address."
    ),
}


class InvitationForm(forms.Form):
    destination = forms.CharField(
        label=_("Mobile number"),
        max_length=254,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True}),
    )
    name = forms.CharField(label=_("Name (optional)"), max_length=100, required=False)
    ticket_reference = forms.CharField(
        label=_("Ticket reference (optional)"), max_length=100, required=False
    )
    session_type = forms.IntegerField(
        label=_("Session type (optional)"), required=False, min_value=0, max_value=32767
    )
    language = forms.ChoiceField(label=_("Customer's language"), required=False)
    # Set by the button pressed; Enter presses the hidden first button, which means "auto".
    channel = forms.ChoiceField(
        choices=[("auto", "auto"), *Channel.choices], required=False, widget=forms.HiddenInput
    )
    # Generated when the form is shown; a double click or browser retry re-sends the same key.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(
        self, *args: Any, credential: PartnerCredential | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("initial", {}).setdefault("idempotency_key", uuid.uuid4().hex)
        super().__init__(*args, **kwargs)
        channels = tuple(credential.channels) if credential else (Channel.SMS,)
        # Channel -> why the portal cannot deliver on it here; the page says so instead of
        # offering its button.
        self.unavailable = send.undeliverable_channels(credential) if credential else {}
        self.channels = tuple(c for c in channels if c not in self.unavailable) or channels
        destination = self.fields["destination"]
        destination.label = RECIPIENT_LABELS[self.channels]
        destination.help_text = RECIPIENT_HELP[self.channels]
        destination.widget.input_type = "tel" if self.channels == (Channel.SMS,) else "text"
        if credential and "session_type" in self.fields:
            session_type = self.fields["session_type"]
            session_type.widget.attrs["placeholder"] = _("usual: %(number)s") % {
                "number": credential.session_type
            }
            session_type.help_text = _(
                "Leave it empty unless your team gave you a number for another kind of session."
            )
        language = cast(forms.ChoiceField, self.fields["language"])
        language.choices = [("", _("Automatic (from the number, else yours)"))] + [
            (code, get_language_info(code)["name_local"]) for code in settings.CUSTOMER_LANGUAGES
        ]
        if credential is not None and not credential.writes_messages:
            # The provider writes the message: the customer's language is not ours to pick.
            del self.fields["language"]

    def clean_channel(self) -> str:
        return self.cleaned_data.get("channel") or "auto"


class AddInviteeForm(InvitationForm):
    """Invite another person into an existing session."""

    ticket_reference = None  # type: ignore[assignment]
    session_type = None  # type: ignore[assignment]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The session page opens on the status the agent is watching, not on this form.
        self.fields["destination"].widget.attrs.pop("autofocus", None)


class SessionSearchForm(forms.Form):
    """The session list's search and filters, from the query string. Who may filter by agent
    and date is the view's to say (`agents`: the agents to choose from, empty for none)."""

    q = forms.CharField(
        label=_("Search"), required=False, max_length=200, widget=forms.SearchInput()
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any")), *DeliveryStatus.choices]
    )
    agent = forms.TypedChoiceField(label=_("Agent"), required=False, coerce=int, empty_value=None)
    created_from = forms.DateField(
        label=_("Started from"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    created_to = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: Any, *, agents: list[User], dates: bool) -> None:
        # Ids as the names: the page's links and tests address the fields by them.
        super().__init__(data, auto_id="%s", label_suffix="")
        self.fields["q"].widget.attrs["placeholder"] = _(
            "Session key, ticket, name, number or address"
        )
        agent_field = cast(forms.TypedChoiceField, self.fields["agent"])
        agent_field.choices = [("", _("Anyone")), *((a.pk, a.get_username()) for a in agents)]
        if not agents:
            del self.fields["agent"]
        if not dates:
            del self.fields["created_from"], self.fields["created_to"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        first, last = cleaned.get("created_from"), cleaned.get("created_to")
        if first and last and first > last:
            self.add_error("created_to", _("The last day is before the first."))
        return cleaned

    def filters(self) -> dict[str, Any]:
        """The valid filters as `selectors.sessions_matching` takes them; a field with an
        error is left out (the page says what is wrong with it)."""
        self.is_valid()
        found = getattr(self, "cleaned_data", {})
        return {
            "text": found.get("q") or "",
            "status": found.get("status") or "",
            "agent_id": found.get("agent"),
            "created_from": found.get("created_from"),
            "created_to": found.get("created_to"),
        }
