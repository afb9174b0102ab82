"""Read-side queries, scoped to what the user may see: who sees what (visibility.py, the one
rule), the session list's search and filters (sessions.py) and which credentials an agent may
send with (credentials.py). The dashboard's figures are in invitations.reporting."""

from invitations.selectors.credentials import (
    credential_not_offered,
    credentials_open_to_team,
    credentials_usable_by,
    sending_credential_for,
    usable_credential_list,
)
from invitations.selectors.sessions import (
    SearchTerms,
    search_terms,
    sessions_matching,
)
from invitations.selectors.visibility import (
    Reach,
    Visibility,
    dashboard_scope,
    sees_others_sessions,
    sessions_visible_to,
    visibility_of,
)

__all__ = [
    "Reach",
    "SearchTerms",
    "Visibility",
    "credential_not_offered",
    "credentials_open_to_team",
    "credentials_usable_by",
    "dashboard_scope",
    "search_terms",
    "sees_others_sessions",
    "sending_credential_for",
    "sessions_matching",
    "sessions_visible_to",
    "usable_credential_list",
    "visibility_of",
]
