"""Invitees' statuses as the session lists and the session page show them:

- `{% invitee_status invitee session %}`: one invitee's status. Once the customer joined, when
  they joined or left says more than the link's validity; a link past its validity is
  Expired (its status in the title).
- `{% invited session %}`: every invitee of a session, each by name (or masked address) and
  status, one a line: the session lists' "Invited" cell.

Tags rather than included templates: a session list shows this for every invitee of 50
sessions, and an include with its translation blocks per invitee cost most of the page's
time. Times are in the current time zone (the agent's), as the template filters give them.
"""

from __future__ import annotations

import datetime

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from invitations.models import DeliveryStatus, Invitee, Session

register = template.Library()


def _status_label(status: str) -> str:
    """What get_status_display gives, without what it costs per call: it builds a dict of
    every choice, hashing each translated label (one translation lookup each)."""
    try:
        return str(DeliveryStatus(status).label)
    except ValueError:
        return status


def _local(moment: datetime.datetime | None, pattern: str) -> str:
    """`moment` in the current time zone, as the `time:"H:i"` and `date:"Y-m-d H:i"` filters
    write it (pattern "%H:%M" or "%Y-%m-%d %H:%M"); nothing for no time."""
    if moment is None:
        return ""
    return timezone.localtime(moment).strftime(pattern)


@register.simple_tag
def invitee_status(invitee: Invitee, session: Session) -> SafeString:
    if invitee.status == DeliveryStatus.JOINED:
        return format_html(
            '<span class="status status-joined">{}</span>',
            gettext("Joined %(when)s") % {"when": _local(invitee.joined_at, "%H:%M")},
        )
    if invitee.status == DeliveryStatus.LEFT:
        return format_html(
            '<span class="status status-left">{}</span>',
            gettext("Left %(when)s") % {"when": _local(invitee.left_at, "%H:%M")},
        )
    if invitee.is_expired():
        title = gettext("%(status)s; valid until %(when)s") % {
            "status": _status_label(invitee.status),
            "when": _local(invitee.expires_at, "%Y-%m-%d %H:%M"),
        }
        return format_html(
            '<span class="status status-expired" title="{}">{}</span>', title, gettext("Expired")
        )
    shown = format_html(
        '<span class="status status-{}">{}</span>', invitee.status, _status_label(invitee.status)
    )
    if invitee.expires_at and not session.ended_at and invitee.is_successful:
        valid_until = gettext("valid until %(when)s") % {
            "when": _local(invitee.expires_at, "%H:%M")
        }
        return format_html('{} <span class="valid-until">{}</span>', shown, valid_until)
    return shown


@register.simple_tag
def invited(session: Session) -> SafeString:
    return format_html_join(
        mark_safe("<br>"),
        "{} {}",
        (
            (invitee.name or invitee.masked_destination, invitee_status(invitee, session))
            for invitee in session.invitees.all()
        ),
    )
