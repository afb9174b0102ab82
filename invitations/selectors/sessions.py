"""The session list's search and filters, over the sessions a user sees (`visibility_of`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.utils import timezone

from invitations.errors import InvalidInput
from invitations.models import Invitee, Session, SessionKey
from invitations.phone import normalise_phone
from invitations.selectors.visibility import sessions_visible_to

# Text that may be (part of) a phone number or of a session key read aloud: digits, with the
# spaces, dashes, dots, brackets and plus sign people write them with.
_NUMBER_LIKE = re.compile(r"[\d\s().+/-]*\d[\d\s().+/-]*")


def sessions_matching(
    *,
    user: User | AnonymousUser,
    text: str = "",
    status: str = "",
    agent_id: int | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
) -> QuerySet[Session]:
    """The sessions `user` sees (`sessions_visible_to`), newest first, narrowed to those that
    match every filter given:

    - `text`: any part of a session key the session has or ever had, its ticket reference,
      an invitee's name or destination, case-insensitively. A number is found however it is
      typed (`(415) 555-0134`, `+1 415 555 0134`, its last digits) and a key as it is read
      aloud (`419 015`): see `search_terms`.
    - `status`: an invitee in this delivery state;
    - `agent_id`: started by this agent (sessions the user does not see stay out);
    - `created_from`, `created_to`: started on these local days (both included).
    """
    sessions = sessions_visible_to(user)
    terms = search_terms(text)
    if terms.text:
        sessions = sessions.filter(pk__in=_matching_ids(terms))
    if status:
        sessions = sessions.filter(invitees__status=status).distinct()
    if agent_id is not None:
        sessions = sessions.filter(created_by_id=agent_id)
    if created_from is not None:
        sessions = sessions.filter(created_at__gte=_local_midnight(created_from))
    if created_to is not None:
        sessions = sessions.filter(created_at__lt=_local_midnight(created_to + timedelta(days=1)))
    return sessions


@dataclass(frozen=True)
class SearchTerms:
    """What one search text is looked for as: the text itself everywhere; when it looks like
    a number, also its digits in session keys, and in destinations the number as stored
    (E.164, when the text is a whole number `normalise_phone` takes) or else its digits."""

    text: str
    digits: str = ""
    number: str = ""

    @property
    def in_keys(self) -> set[str]:
        return {term for term in (self.text, self.digits) if term}

    @property
    def in_destinations(self) -> set[str]:
        return {term for term in (self.text, self.number or self.digits) if term}


def search_terms(text: str) -> SearchTerms:
    """`text` as `sessions_matching` looks for it."""
    text = text.strip()
    if not _NUMBER_LIKE.fullmatch(text):
        return SearchTerms(text)
    digits = re.sub(r"\D", "", text)
    try:
        number = normalise_phone(text)
    except InvalidInput:
        number = ""  # part of a number: its digits are what the stored number contains
    return SearchTerms(text, digits=digits, number=number)


def _matching_ids(terms: SearchTerms) -> QuerySet[Session, Any]:
    """The ids of sessions matching `terms`: a union of small queries, each of which can use
    its column's trigram index on PostgreSQL (migrations 0012 and 0025), rather than one OR
    across joins, which reads every session and invitee. icontains, because those indexes are
    on UPPER(column)."""
    by_session = Q(ticket_reference__icontains=terms.text)
    by_key = Q()
    for term in terms.in_keys:
        # The current key is on the session; every key it had, the current one too, in
        # SessionKey. Both, so that a session written without its SessionKey is found too.
        by_session |= Q(session_key__icontains=term)
        by_key |= Q(key__icontains=term)
    by_invitee = Q(name__icontains=terms.text)
    for term in terms.in_destinations:
        by_invitee |= Q(destination__icontains=term)
    return (
        Session.objects.filter(by_session)
        .order_by()
        .values("pk")
        .union(
            SessionKey.objects.filter(by_key).order_by().values("session_id"),
            Invitee.objects.filter(by_invitee).order_by().values("session_id"),
        )
    )


def _local_midnight(day: date) -> datetime:
    """The start of `day` in the current time zone (the agent's)."""
    return timezone.make_aware(datetime.combine(day, time.min))
