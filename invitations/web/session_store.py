"""Django's database sessions, read with a query compiled once (invitations.prepared): every
signed-in request reads its session first."""

from __future__ import annotations

from datetime import datetime

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.utils import timezone

from invitations.prepared import PreparedSelect

_UNEXPIRED = PreparedSelect(
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1],
    key=str,
    now=datetime,
)


class SessionStore(DatabaseSessionStore):
    def _get_session_from_db(self) -> Session | None:
        # The same answer as Django's `objects.get(...)`: the session, or None after
        # forgetting the key. Keys Django gives out are never more than one row.
        session = _UNEXPIRED.first(key=self.session_key, now=timezone.now())
        if session is None:
            self._session_key = None
        return session
