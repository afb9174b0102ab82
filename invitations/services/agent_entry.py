"""The agent joins the session themselves: "Join session" on the session page.

The provider's client says how (`UpstreamClient.agent_entry`): an address to open, and form
fields to POST there when it carries a key minted for this one click (Glance's agent viewer
with a login key), so that the key stays out of URLs, logs and the session page. Whether a
credential's provider offers a way in is known from its client class, without a call.
"""

from __future__ import annotations

import logging

from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from invitations.errors import NotAllowed, NotConfigured
from invitations.models import AuditEvent, Session, name_for_customers
from invitations.providers import registry
from invitations.providers.base import AgentEntry, UpstreamConfigurationError, UpstreamError
from invitations.security import crypto, links
from invitations.security.redaction import redact
from invitations.services.audit import audit_record

logger = logging.getLogger(__name__)


def session_join_offered(*, session: Session) -> bool:
    """Whether the session page offers Join session: a session nobody ended, with the
    provider's key, whose credential's client offers the agent a way in."""
    if session.ended_at is not None or not session.session_key:
        return False
    try:
        return registry.client_class_for(session.credential.provider).offers_agent_entry
    except ImproperlyConfigured:
        return False


def session_join(*, session: Session, agent: User) -> AgentEntry:
    """How `agent` enters `session` now, as themselves (their partner user id, their full name
    or else their username); audited. Raises NotAllowed or NotConfigured with the reason."""
    if session.ended_at is not None:
        raise NotAllowed(_("This session has ended; nobody can join it any more."))
    if not session.session_key:
        raise NotAllowed(_("The provider has not issued this session's key yet."))
    if not session_join_offered(session=session):
        raise NotAllowed(
            _("%(provider)s offers no way to join its sessions from the portal.")
            % {"provider": session.credential.get_provider_display()}
        )
    profile = getattr(agent, "agent_profile", None)
    agent_id = profile.partner_user_id if profile is not None else ""
    if not agent_id:
        raise NotConfigured(
            _(
                "Your account has no partner user id, so the provider would not know you. "
                "Ask an administrator to set one."
            )
        )
    credential = session.credential
    provider = credential.get_provider_display()
    try:
        with registry.client_for(credential) as client:
            entry = client.agent_entry(
                session_key=session.session_key,
                agent_id=agent_id,
                # The customer sees this name in the room: never the username (a login).
                agent_name=name_for_customers(agent) or _("Support agent"),
            )
    except UpstreamError as err:
        raise NotAllowed(
            _("%(provider)s did not let you join: %(error)s") % {"provider": provider, "error": err}
        ) from err
    except (UpstreamConfigurationError, ImproperlyConfigured, crypto.SecretUnreadable) as err:
        raise NotConfigured(redact(str(err))) from err
    if entry is None or links.safe_link(entry.url, base_url=credential.base_url) is None:
        # Only a web address the credential may link to is opened (security/links.py).
        raise NotAllowed(
            _("%(provider)s offers no way to join this session from the portal.")
            % {"provider": provider}
        )
    audit_record(
        actor=agent,
        action=AuditEvent.Action.SESSION_JOINED,
        target=f"session {session.pk}",
        details=f"as partner user {agent_id}",
    )
    logger.info("session %s: agent %s joins at %s", session.pk, agent.pk, credential.provider)
    return entry
