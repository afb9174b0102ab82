import uuid

from django import forms

from invitations.phone import PHONE_HELP


class SmsInvitationForm(forms.Form):
    destination = forms.CharField(
        label="Mobile number",
        max_length=40,
        help_text=PHONE_HELP,
        widget=forms.TextInput(
            attrs={"type": "tel", "autocomplete": "off", "autofocus": True, "inputmode": "tel"}
        ),
    )
    name = forms.CharField(label="Name (optional)", max_length=100, required=False)
    ticket_reference = forms.CharField(
        label="Ticket reference (optional)", max_length=100, required=False
    )
    # Generated when the form is shown; a double click or browser retry re-sends the same key.
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    @classmethod
    def blank(cls) -> "SmsInvitationForm":
        return cls(initial={"idempotency_key": uuid.uuid4().hex})
