"""Finding a person's number, address and name in free text, and replacing them where the text
stays (the purge and the erasure of one person)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import phonenumbers
from django.db import models
from django.db.models import Q, QuerySet
from django.utils import timezone

from invitations.models import (
    PURGED_DESTINATIONS,
    AuditEvent,
    DeliveryAttempt,
    DeliveryReceipt,
    Invitee,
    Session,
)

# What a mention of a removed person is replaced with in a text that stays.
ERASED = "[erased]"


# Free text, by model, that can mention someone: an upstream's or mail server's error quoting
# the number, a receipt's reason, a message text, an audit event's details.
FREE_TEXT: dict[type[models.Model], tuple[str, ...]] = {
    Invitee: ("last_error", "message_text", "personal_link", "provider_message_id"),
    DeliveryAttempt: ("error", "provider_message_id"),
    DeliveryReceipt: ("detail", "message_id"),
    Session: ("ticket_reference", "join_url"),
    AuditEvent: ("target", "details"),
}
# Names are not unique: they are looked for only where no other person's message is kept.
NAME_TEXT: dict[type[models.Model], tuple[str, ...]] = {
    Session: ("ticket_reference",),
    AuditEvent: ("target", "details"),
}

# Digits with what people put between them: +1 (415) 555-0134, 0415.555.0134, 4155550134.
_SEPARATORS = "[-. ()/]*"
_DIGIT_RUN = re.compile(rf"\d(?:{_SEPARATORS}\d)*")
_ADDRESS = re.compile(r"[\w.+-]+(?:@|%40)[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+", re.IGNORECASE)
# Words, with their apostrophes (also typographic) and hyphens: O'Brien, Anne-Marie.
_WORD = re.compile(r"\w+(?:['\u2019-]\w+)*")
# A national number shorter than this (e.g. Niue's 4 digits) is looked for only with its
# country code: alone it would match too much else.
MIN_NATIONAL_DIGITS = 7
# Shorter names ("Al") are left in other texts: they are parts of too many words and names.
MIN_NAME_LENGTH = 3


def _number_forms(e164: str) -> set[str]:
    """The digits a phone number can be written with: with its country code (also after 00,
    and with the national 0 kept, as in +44 (0)7911 123456), and without (also after 0)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return set()
    country = str(number.country_code)
    national = phonenumbers.national_significant_number(number)
    forms = {country + national, "00" + country + national, country + "0" + national}
    if len(national) >= MIN_NATIONAL_DIGITS:
        forms |= {national, "0" + national}
    return forms


def _name_key(text: str) -> str:
    return " ".join(word.casefold() for word in _WORD.findall(text))


@dataclass(frozen=True)
class Mentions:
    """How the people being removed can appear in free text: their numbers in any common
    format, their addresses in any case (also URL-encoded), and their names as whole words."""

    numbers: frozenset[str] = frozenset()  # digits only
    addresses: frozenset[str] = frozenset()  # lower case
    names: frozenset[str] = frozenset()  # _name_key

    @classmethod
    def of(cls, *, destinations: Iterable[str], names: Iterable[str] = ()) -> Mentions:
        numbers: set[str] = set()
        addresses: set[str] = set()
        for destination in destinations:
            if destination in PURGED_DESTINATIONS.values():
                continue
            if "@" in destination:
                addresses.add(destination.strip().lower())
            else:
                numbers |= _number_forms(destination)
        keys = {_name_key(name) for name in names}
        return cls(
            numbers=frozenset(numbers),
            addresses=frozenset(addresses),
            names=frozenset(key for key in keys if len(key) >= MIN_NAME_LENGTH),
        )

    def scrub(self, text: str, *, with_names: bool = True) -> str:
        """`text` with every mention replaced by ERASED (names only `with_names`)."""
        if not text:
            return text
        if self.addresses:
            text = _ADDRESS.sub(
                lambda m: ERASED if unquote(m.group()).lower() in self.addresses else m.group(),
                text,
            )
        if self.numbers:
            text = self._scrub_numbers(text)
        if self.names and with_names:
            text = self._scrub_names(text)
        return text

    def _scrub_numbers(self, text: str) -> str:
        lengths = sorted({len(form) for form in self.numbers}, reverse=True)
        spans = []
        for run in _DIGIT_RUN.finditer(text):
            positions = [run.start() + i for i, char in enumerate(run.group()) if char.isdigit()]
            digits = "".join(text[p] for p in positions)
            i = 0
            while i < len(digits):
                for length in lengths:
                    if i + length <= len(digits) and digits[i : i + length] in self.numbers:
                        start = positions[i]
                        # The + (or its URL encoding) belongs to the number.
                        if text[:start].endswith("+"):
                            start -= 1
                        elif text[:start].upper().endswith("%2B"):
                            start -= 3
                        spans.append((start, positions[i + length - 1] + 1))
                        i += length
                        break
                else:
                    i += 1
        return _replaced(text, spans)

    def _scrub_names(self, text: str) -> str:
        words = list(_WORD.finditer(text))
        longest = max(len(name.split(" ")) for name in self.names)
        spans = []
        i = 0
        while i < len(words):
            for count in range(min(longest, len(words) - i), 0, -1):
                key = " ".join(word.group().casefold() for word in words[i : i + count])
                if key in self.names:
                    spans.append((words[i].start(), words[i + count - 1].end()))
                    i += count
                    break
            else:
                i += 1
        return _replaced(text, spans)

    def candidates(self, field: str, *, with_names: bool = True) -> Q:
        """A condition on `field` true for every row that may mention someone (and some that
        do not): `scrub` decides. Kept to what SQLite and PostgreSQL both understand; for a
        few people (one query term per form of each)."""
        condition = Q(pk__in=[])
        for form in self.numbers:
            condition |= Q(**{f"{field}__regex": _SEPARATORS.join(form)})
        for address in self.addresses:
            condition |= Q(**{f"{field}__icontains": address})
            condition |= Q(**{f"{field}__icontains": address.replace("@", "%40")})
        for name in self.names if with_names else ():
            condition |= Q(**{f"{field}__icontains": max(name.split(" "), key=len)})
        return condition


def _replaced(text: str, spans: list[tuple[int, int]]) -> str:
    for start, end in sorted(spans, reverse=True):
        text = text[:start] + ERASED + text[end:]
    return text


def texts_scrub(
    mentions: Mentions, *, exclude_invitees: QuerySet[Invitee]
) -> dict[type[models.Model], int]:
    """Replace the mentions in every FREE_TEXT field (names only in NAME_TEXT) of every row but
    those of `exclude_invitees`, their attempts, receipts and sessions; rows changed, by
    model."""
    changed = {}
    excluded = exclude_invitees.values("pk")
    for model, field_names in FREE_TEXT.items():
        named = NAME_TEXT.get(model, ())
        condition = Q(pk__in=[])
        for name in field_names:
            condition |= mentions.candidates(name, with_names=name in named)
        rows = model._default_manager.filter(condition)
        if model is Invitee:
            rows = rows.exclude(pk__in=excluded)
        elif model in (DeliveryAttempt, DeliveryReceipt):
            rows = rows.exclude(invitee__in=excluded)
        elif model is Session:
            rows = rows.exclude(pk__in=exclude_invitees.values("session_id"))
        changed[model] = _scrub_rows(rows, field_names, mentions, named=named)
    return changed


def audit_events_scrub(mentions: Mentions) -> int:
    """Replace the mentions, names too, in every audit event; how many changed. Reads them all:
    the forms of many people do not fit in one query, and audit events are few."""
    return _scrub_rows(
        AuditEvent.objects.all(),
        FREE_TEXT[AuditEvent],
        mentions,
        named=NAME_TEXT[AuditEvent],
    )


def _scrub_rows(
    rows: QuerySet[Any], field_names: tuple[str, ...], mentions: Mentions, *, named: tuple[str, ...]
) -> int:
    changed = 0
    for row in rows.only("pk", *field_names).iterator():
        updates: dict[str, Any] = {}
        for name in field_names:
            before = getattr(row, name)
            after = mentions.scrub(before, with_names=name in named)
            if after != before:
                updates[name] = after
        if updates:
            if isinstance(row, Invitee):
                updates["updated_at"] = timezone.now()  # the dashboard's failure reasons
            type(row)._default_manager.filter(pk=row.pk).update(**updates)
            changed += 1
    return changed
