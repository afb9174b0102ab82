"""The home page's "Sending with" picker: each sender's name in the agent's words, and what a
switch of sender or a CRM deep link carries into the form.

A CRM puts `/invite/?phone=…&email=…&name=…&ticket=…` on a ticket: the form opens filled in,
and the agent still presses Send (a GET never sends anything). Switching the sender is a link
to the same page with `credential=<label>` and everything the form holds (static/portal/
senders.js keeps the links up to date while the agent types), so nothing typed is lost. An
address the chosen sender cannot use is kept and named, with the senders that can use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.utils.translation import gettext as _

from invitations.models import Channel, PartnerCredential

# The form's fields a switch of sender carries, each under its deep-link parameter.
CARRIED = {
    "destination": "destination",
    "name": "name",
    "ticket_reference": "ticket",
    "language": "language",
    "session_type": "session_type",
}
# Where a deep link may put the customer's address: what the form holds first, then a
# number, then an e-mail address.
ADDRESS_PARAMETERS = ("destination", "phone", "email")
_PARAMETER_OF: dict[str, str] = {Channel.SMS: "phone", Channel.EMAIL: "email"}
MAX_LENGTH = 254


def channel_of(address: str) -> str:
    return Channel.EMAIL if "@" in address else Channel.SMS


def sender_names(credentials: Iterable[PartnerCredential]) -> dict[int, str]:
    """Each credential's name in the picker: the provider and the company customers see (or
    the label where there is none), and what it sends, e.g. "Glance: Acme Support (SMS)".
    Names two credentials would share get their label."""
    listed = list(credentials)
    names = {credential.pk: _sender_name(credential) for credential in listed}
    shared = {name for name in names.values() if list(names.values()).count(name) > 1}
    return {
        pk: f"{name}, {credential.label}" if name in shared else name
        for (pk, name), credential in zip(names.items(), listed, strict=True)
    }


def _sender_name(credential: PartnerCredential) -> str:
    sends: dict[tuple[str, ...], str] = {
        (Channel.SMS,): _("SMS"),
        (Channel.EMAIL,): _("e-mail"),
        (Channel.SMS, Channel.EMAIL): _("SMS or e-mail"),
    }
    who = credential.company_name.strip() or credential.label
    provider = credential.get_provider_display()
    return f"{provider}: {who} ({sends[tuple(credential.channels)]})"


@dataclass(frozen=True)
class Misfit:
    """An address the chosen sender cannot use, with the senders that can."""

    channel: str
    address: str
    # (name, link) of each sender the agent may use that can.
    alternatives: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Prefill:
    """What the form opens with, and what does not fit the chosen sender."""

    initial: dict[str, str]
    # Addresses given that are not in the form's field (kept in every sender link).
    kept: dict[str, str]
    misfits: list[Misfit]

    def link(self, credential: PartnerCredential, *, address: str = "") -> str:
        """The page with `credential` chosen and everything the form holds now; `address`
        in the form's field, if given (what is there now is kept beside it)."""
        carried = {
            parameter: self.initial[name]
            for name, parameter in CARRIED.items()
            if self.initial.get(name)
        }
        kept = dict(self.kept)
        if address and address != carried.get("destination"):
            if current := carried.get("destination"):
                kept[_PARAMETER_OF[channel_of(current)]] = current
            kept = {p: a for p, a in kept.items() if a != address}
            carried["destination"] = address
        return "?" + urlencode({"credential": credential.label, **carried, **kept})


def prefill(
    data: Mapping[str, str],
    *,
    channels: Iterable[str],
    credentials: Iterable[PartnerCredential],
    current: PartnerCredential | None,
    bound: bool = False,
) -> Prefill:
    """The form's values from a deep link or a sender switch (`bound`: from the form's own
    POST, whose field names differ), for a sender offering `channels`."""
    offered = set(channels)
    if bound:
        initial = {name: data.get(name, "").strip()[:MAX_LENGTH] for name in CARRIED}
        addresses = {"destination": initial["destination"]}
    else:
        initial = {
            name: data.get(parameter, "").strip()[:MAX_LENGTH]
            for name, parameter in CARRIED.items()
        }
        addresses = {p: data.get(p, "").strip()[:MAX_LENGTH] for p in ADDRESS_PARAMETERS}
    given = {p: a for p, a in addresses.items() if a}
    # The first address the sender can use goes in the field; else the first, so that what
    # the CRM sent stays in view.
    usable = [p for p, a in given.items() if channel_of(a) in offered]
    chosen = (usable or list(given) or [""])[0]
    initial["destination"] = given.get(chosen, "")
    kept = {p: a for p, a in given.items() if p != chosen and a != initial["destination"]}
    listed = list(credentials)
    names = sender_names(listed)
    misfits = []
    for address in dict.fromkeys(given.values()):
        channel = channel_of(address)
        if channel in offered:
            continue
        partial = Prefill(initial=initial, kept=kept, misfits=[])
        misfits.append(
            Misfit(
                channel=channel,
                address=address,
                alternatives=[
                    (names[c.pk], partial.link(c, address=address))
                    for c in listed
                    if channel in c.channels and c != current
                ],
            )
        )
    return Prefill(initial={k: v for k, v in initial.items() if v}, kept=kept, misfits=misfits)
