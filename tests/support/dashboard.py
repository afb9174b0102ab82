"""Dashboard data on known days, and readers for the figures on its page."""

import re
from datetime import datetime, time, timedelta

from django.urls import reverse
from django.utils import timezone

from invitations.models import DeliveryStatus, Invitee, Session

URL = reverse("invitations:dashboard")


def local_time(days_ago, at=time(12)):
    """A moment `days_ago` local days before today; noon keeps clear of midnight."""
    day = timezone.localdate() - timedelta(days=days_ago)
    return timezone.make_aware(datetime.combine(day, at), timezone.get_current_timezone())


def invite(
    agent,
    *,
    days_ago=1,
    status=DeliveryStatus.SENT,
    channel="sms",
    delay=None,
    delivered_after=None,
    joined_after=None,
    error="",
    at=time(12),
):
    """An invitee created `days_ago` and, when sent, sent `delay` seconds later (2 unless
    given); with `delivered_after`, a receipt says it was delivered that many seconds after
    its creation; with `joined_after`, the customer joined that many seconds after sending."""
    session = Session.objects.create(
        credential=agent.agent_profile.default_credential, created_by=agent, session_type=1
    )
    created = local_time(days_ago, at)
    sent = receipt = joined = None
    if status == DeliveryStatus.SENT:
        sent = created + timedelta(seconds=2 if delay is None else delay)
        if delivered_after is not None:
            status = DeliveryStatus.DELIVERED
            receipt = created + timedelta(seconds=delivered_after)
        if joined_after is not None:
            status = DeliveryStatus.JOINED
            joined = sent + timedelta(seconds=joined_after)
    invitee = Invitee.objects.create(
        session=session,
        channel=channel,
        destination="+14155550134" if channel == "sms" else "ann@example.com",
        status=status,
        last_error=error,
        sent_at=sent,
        receipt_at=receipt,
        joined_at=joined,
    )
    # created_at is set on insert; move it to the moment the test needs.
    Invitee.objects.filter(pk=invitee.pk).update(created_at=created)
    return invitee


def search(pattern, html, flags=0):
    match = re.search(pattern, html, flags)
    assert match, f"not in the page: {pattern}"
    return match


def totals_row(html):
    cells = search(r'<th scope="row">All days</th>(.*?)</tr>', html).group(1)
    return [int(n) for n in re.findall(r"<td>(\d+)</td>", cells)]


def figure(html, name):
    return search(rf'id="{name}">([^<]*)<', html).group(1)
