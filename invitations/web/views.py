"""Agent pages. Each view checks input, calls one service or selector, and renders."""

import datetime
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from invitations import selectors, services, states
from invitations.errors import InvitationError
from invitations.messaging import render as message_render
from invitations.models import Channel, Invitee, PartnerCredential, Session
from invitations.phone import format_phone, looks_like_landline
from invitations.reporting import figures
from invitations.reporting.chart import stacked_bar_chart
from invitations.reporting.stats import DASHBOARD_DAYS, DEFAULT_DASHBOARD_DAYS, period_ending_today
from invitations.services import limits
from invitations.states import Outcome
from invitations.templatetags.session_keys import spaced_key
from invitations.web import senders
from invitations.web.forms import AddInviteeForm, InvitationForm, SessionSearchForm
from invitations.web.paging import CountAheadPaginator

RECENT_SESSIONS = 10
# How long the session page keeps looking for a sent message's delivery receipt.
RECEIPT_WAIT = datetime.timedelta(minutes=5)
# How often the session page's live part asks for changes while anything may still change:
# a change that reached the portal (a delivery, a receipt, a Digital Samba webhook's join)
# shows within this plus one request. An unchanged part is answered 304 without a body
# (`session_invitees`), a few reads, so asking this often stays cheap.
LIVE_REFRESH = "500ms"
SESSIONS_PER_PAGE = 50


def _agent_credential(
    request: HttpRequest, usable: list[PartnerCredential]
) -> tuple[PartnerCredential | None, str]:
    """The credential the agent sends with (their default, or the one picked with
    `credential=<label>`), or the reason they cannot send yet. A picked label the agent may
    not use is refused, never replaced by their default. `usable` is
    `selectors.usable_credential_list(request.user)`."""
    label = request.POST.get("credential") or request.GET.get("credential")
    picked = None
    try:
        if label:
            picked = next((c for c in usable if c.label == label), None)
            if picked is None:
                raise selectors.credential_not_offered(label)
        chosen = selectors.sending_credential_for(request.user, credential=picked, usable=usable)  # type: ignore[arg-type]
        return chosen, ""
    except InvitationError as err:
        return None, err.message


def _submit(request: HttpRequest, form: InvitationForm, **extra: object) -> Invitee | None:
    """Run the invitation service for a bound form; put its errors on the form."""
    if not form.is_valid():
        return None
    try:
        return services.invitation_create(agent=request.user, **form.cleaned_data, **extra)  # type: ignore[arg-type]
    except InvitationError as err:
        form.add_error(err.field if err.field in form.fields else None, err.message)
        return None


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The invite form, then the agent's recent sessions."""
    credentials = selectors.usable_credential_list(request.user)
    credential, setup_problem = _agent_credential(request, credentials)
    if request.method == "POST":
        form = InvitationForm(request.POST, credential=credential)
        if credential is None:
            # Nothing is sent without a credential the agent may use (not even their default
            # in place of one they picked).
            form.add_error(None, setup_problem)
        elif (invitee := _submit(request, form, credential=credential)) is not None:
            return redirect(invitee.session)
    else:
        form = InvitationForm(credential=credential)
    filled = senders.prefill(
        request.POST if request.method == "POST" else request.GET,
        channels=form.channels,
        credentials=credentials,
        current=credential,
        bound=form.is_bound,
    )
    if not form.is_bound:
        form.initial.update(filled.initial)
    names = senders.sender_names(credentials)
    sessions = selectors.sessions_visible_to(request.user)[:RECENT_SESSIONS]
    return render(
        request,
        "invitations/home.html",
        {
            "form": form,
            "credential": credential,
            "senders": [(c, names[c.pk], filled.link(c)) for c in credentials],
            "misfits": filled.misfits,
            "preview": _preview(request, credential, request.POST or filled.initial),
            "landline_hint": _landline_hint(credential, request.POST or filled.initial),
            "setup_problem": setup_problem,
            "sessions": sessions,
            "title": _("Invite"),
        },
        status=400 if form.errors else 200,
    )


def _preview(
    request: HttpRequest,
    credential: PartnerCredential | None,
    data: Mapping[str, str],
    session: Session | None = None,
) -> list[message_render.Preview]:
    """The message the customer would get with what the form holds now."""
    if credential is None:
        return []
    language = data.get("language", "")
    if language not in settings.CUSTOMER_LANGUAGES:
        language = _guessed_language(data.get("destination", ""))
    return message_render.preview(
        credential=credential,
        agent=request.user,  # type: ignore[arg-type]
        name=data.get("name", "").strip()[:100],
        language=language,
        session_key=session.session_key if session else "",
    )


def _guessed_language(destination: str) -> str:
    """The language "Automatic" would pick for what is typed so far."""
    channel = Channel.EMAIL if "@" in destination else Channel.SMS
    try:
        normalised = services.normalise_destination(channel, destination)
    except InvitationError:
        normalised = ""
    return message_render.customer_language(
        chosen="", channel=channel if normalised else Channel.EMAIL, destination=normalised
    )


@login_required
def message_preview(request: HttpRequest) -> HttpResponse:
    """The preview alone, refreshed while the agent types (htmx)."""
    session = None
    if session_id := request.GET.get("session", ""):
        # Anything but a session id (ASCII digits, as many as a database id holds; "²" is a
        # digit to isdigit()) names no session.
        if not (session_id.isascii() and session_id.isdigit() and len(session_id) <= 18):
            raise Http404("No such session.")
        session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=session_id)
        credential: PartnerCredential | None = session.credential
    else:
        usable = selectors.usable_credential_list(request.user)
        credential, _problem = _agent_credential(request, usable)
    return render(
        request,
        "invitations/_preview_refresh.html",
        {
            "preview": _preview(request, credential, request.GET, session),
            "landline_hint": _landline_hint(credential, request.GET),
            "session": session,
        },
    )


def _landline_hint(credential: PartnerCredential | None, data: Mapping[str, str]) -> str:
    """Said before Send: the number typed looks like a landline, so an SMS may not arrive;
    also where the credential would send it (a mobile-only one refuses it on Send)."""
    destination = data.get("destination", "").strip()
    if credential is None or Channel.SMS not in credential.channels or "@" in destination:
        return ""
    try:
        number = services.normalise_destination(Channel.SMS, destination)
    except InvitationError:
        return ""
    if not looks_like_landline(number):
        return ""
    if Channel.EMAIL in credential.channels:
        return _(
            "%(number)s looks like a landline — an SMS may not arrive. Ask the customer for a "
            "mobile number, or send an e-mail."
        ) % {"number": format_phone(number)}
    return _(
        "%(number)s looks like a landline — an SMS may not arrive. Ask the customer for a "
        "mobile number."
    ) % {"number": format_phone(number)}


def _session_invitees(session: Session) -> list[Invitee]:
    """The session's invitees as they are now: without a broker, asking the provider first
    whether a customer joined, where a lookup is due."""
    invitees = list(session.invitees.all())
    services.presence_refresh(invitees=invitees)
    return invitees


@dataclass(frozen=True)
class _InviteeRow:
    invitee: Invitee
    # Why Resend would be refused now by the limits on the invitee's destination (None: it
    # would not be): the page disables it and says until when.
    resend_wait: limits.RateLimited | None


def _live_context(session: Session) -> dict[str, object]:
    """What the session page's live part shows: the invitees' states, the key and Join."""
    invitees = _session_invitees(session)
    rows = [
        _InviteeRow(
            invitee=invitee,
            resend_wait=limits.destination_wait(
                destination=invitee.destination, channel=invitee.channel
            )
            if invitee.can_resend
            else None,
        )
        for invitee in invitees
    ]
    earlier_keys = [key for key in session.keys.all() if key.key != session.session_key]
    return {
        "session": session,
        "rows": rows,
        "pending": _pending(rows),
        "anything_sent": any(invitee.is_successful for invitee in invitees),
        "join_offered": services.session_join_offered(session=session),
        # A Glance resend starts a new session there: the keys it had before this one, and
        # the one the new key replaced.
        "earlier_keys": earlier_keys,
        "previous_key": earlier_keys[-1].key if earlier_keys else "",
    }


# The CSRF tokens in the live part's forms are masked afresh for every answer; they are no
# change the agent could see.
CSRF_INPUT = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')


def _live_part(request: HttpRequest, session: Session) -> tuple[str, str]:
    """The live part's HTML and its ETag: a digest of what the agent would see, so that it
    changes with anything shown (a state, a receipt's time, an expiry, a limit that cleared,
    the language) and with nothing else."""
    context = _live_context(session)
    inner = render_to_string("invitations/_session_live.html", context, request)
    digest = hashlib.sha256(CSRF_INPUT.sub(b"", inner.encode()))
    digest.update(str(context["pending"]).encode())
    etag = f'"{digest.hexdigest()[:32]}"'
    html = render_to_string(
        "invitations/_session_live_poll.html",
        {
            **context,
            "inner": mark_safe(inner),  # noqa: S308 (a template's output, escaped there)
            "poll_headers": json.dumps({"If-None-Match": etag}),
        },
        request,
    )
    return html, etag


def _session_page(
    request: HttpRequest,
    session: Session,
    form: AddInviteeForm | None,
    status: int = 200,
    *,
    confirm_end: bool = False,
) -> HttpResponse:
    live, _etag = _live_part(request, session)
    if form is None and session.credential.can_add_to_session and session.ended_at is None:
        form = AddInviteeForm(credential=session.credential)
    preview = (
        _preview(request, session.credential, request.POST, session) if form is not None else []
    )
    return render(
        request,
        "invitations/session_detail.html",
        {
            "session": session,
            "live": live,
            "form": form,
            "preview": preview,
            "landline_hint": _landline_hint(session.credential, request.POST),
            "confirm_end": confirm_end,
            "title": _("Session %(key)s") % {"key": spaced_key(session.session_key)}
            if session.session_key
            else _("New session"),
        },
        status=status,
    )


@login_required
def session_invitees(request: HttpRequest, pk: int) -> HttpResponse:
    """The session page's live part alone, which it asks for while anything may change:
    304 Not Modified (no body; htmx keeps the page as it is) while nothing the agent would
    see changed since the version the page has (If-None-Match)."""
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
    html, etag = _live_part(request, session)
    response: HttpResponse
    if etag in request.headers.get("If-None-Match", ""):
        response = HttpResponseNotModified()
    else:
        response = HttpResponse(html)
    response["ETag"] = etag
    # Asked again in a moment: no cache may keep an answer in place of a fresh one.
    add_never_cache_headers(response)
    return response


def _pending(rows: list[_InviteeRow]) -> str:
    """How often the live part asks for changes: every LIVE_REFRESH while anything may still
    change (a delivery under way, a customer who may still join or leave while the invitation
    is valid in a session nobody ended, a sent message that may still get its delivery
    receipt for RECEIPT_WAIT, a Resend waiting for a limit to clear), else never."""
    now = timezone.now()
    recent = now - RECEIPT_WAIT
    for row in rows:
        invitee = row.invitee
        if (
            invitee.status in states.IN_FLIGHT
            or row.resend_wait is not None
            or (
                invitee.status in states.PRESENCE_APPLICABLE
                and invitee.session.ended_at is None
                and invitee.expires_at is not None
                and not invitee.is_expired(now)
            )
            or (
                invitee.status in states.AWAITING_RECEIPT
                and invitee.provider_message_id
                and invitee.sent_at is not None
                and invitee.sent_at > recent
            )
        ):
            return LIVE_REFRESH
    return ""


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
    return _session_page(request, session, None)


@login_required
@require_POST
def session_invite(request: HttpRequest, pk: int) -> HttpResponse:
    """Invite another person into the same session."""
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
    form = AddInviteeForm(request.POST, credential=session.credential)
    invitee = _submit(request, form, session=session)
    if invitee is None:
        return _session_page(request, session, form, status=400)
    return redirect(session)


@login_required
def session_list(request: HttpRequest) -> HttpResponse:
    visibility = selectors.visibility_of(request.user)
    form = SessionSearchForm(
        request.GET,
        # An agent sees only their own sessions: nobody to choose.
        agents=list(visibility.agents()) if visibility.sees_others else [],
        dates=visibility.may_filter_by_date,
    )
    sessions = selectors.sessions_matching(user=request.user, **form.filters())
    asked = request.GET.get("page")
    page = CountAheadPaginator(sessions, SESSIONS_PER_PAGE, asked=asked).get_page(asked)
    # The other pages' links keep the search and filters.
    kept = request.GET.copy()
    kept.pop("page", None)
    return render(
        request,
        "invitations/session_list.html",
        {
            "page": page,
            "form": form,
            "searched": kept.urlencode(),
            "show_agent": visibility.sees_others,
            "title": _("Sessions"),
        },
    )


@login_required
@require_POST
def invitee_resend(request: HttpRequest, pk: int) -> HttpResponse:
    sessions = selectors.sessions_visible_to(request.user)
    invitee = get_object_or_404(Invitee.objects.filter(session__in=sessions), pk=pk)
    try:
        services.invitee_resend(invitee=invitee, actor=request.user)  # type: ignore[arg-type]
    except InvitationError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, f"Invitation to {invitee.masked_destination} queued again.")
    return redirect(invitee.session)


@login_required
@require_POST
def session_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End session, once confirmed: the page's script asks "Really end?" before posting
    `confirmed`; without the script, the first post answers with that question."""
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
    if request.POST.get("confirmed") != "yes" and session.ended_at is None:
        return _session_page(request, session, None, confirm_end=True)
    try:
        ended_upstream = services.session_end(session=session, actor=request.user)  # type: ignore[arg-type]
    except InvitationError as err:
        messages.error(request, err.message)
    else:
        messages.success(
            request,
            _("Session ended at %(provider)s and here.")
            % {"provider": session.credential.get_provider_display()}
            if ended_upstream
            else _(
                "Session ended here: nobody more can be invited into it. %(provider)s has no "
                "way to end it, so links already sent keep working until they expire."
            )
            % {"provider": session.credential.get_provider_display()},
        )
    return redirect(session)


@login_required
@require_POST
def session_join(request: HttpRequest, pk: int) -> HttpResponse:
    """Join session: hands the agent's browser on to the provider, in the new tab the
    session page's button opened, by a page that static/portal/autosubmit.js moves on at once
    (with a Continue button for a browser that runs no script). A way in with form fields (a
    key made for this click) is a form posting them there; one without is a link. Not a
    redirect: after a form post, browsers check a redirect against the posting page's CSP
    `form-action`, which allows this site only."""
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
    try:
        entry = services.session_join(session=session, agent=request.user)  # type: ignore[arg-type]
    except InvitationError as err:
        messages.error(request, err.message)
        return redirect(session)
    response = render(
        request,
        "invitations/session_join.html",
        {
            "session": session,
            "entry": entry,
            "provider": session.credential.get_provider_display(),
            "title": _("Join session"),
        },
    )
    # The page holds a key or a signed link: no cache may keep it, whoever is signed in.
    add_never_cache_headers(response)
    if not entry.fields:
        return response
    # The pages may post forms to this site only; this one also to the provider's origin.
    parts = urlsplit(entry.url)
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"

    @csp_update({"form-action": [origin]})
    def allowing_the_provider(_request: HttpRequest) -> HttpResponse:
        return response

    return allowing_the_provider(request)  # type: ignore[return-value]


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Delivery figures for supervisors (their team's) and staff."""
    scope = selectors.dashboard_scope(request.user)
    if scope is None:
        # As for other people's sessions: agents are not told the page exists.
        raise Http404("No dashboard for this user.")
    allowed = {str(days): days for days in DASHBOARD_DAYS}
    days = allowed.get(request.GET.get("days", ""), DEFAULT_DASHBOARD_DAYS)
    stats = figures.invitation_stats(user=request.user, period=period_ending_today(days=days))
    return render(
        request,
        "invitations/dashboard.html",
        {
            "stats": stats,
            "scope": scope,
            "days": days,
            "day_choices": DASHBOARD_DAYS,
            "chart": stacked_bar_chart(stats) if stats.totals.total else None,
            "channels": Channel.choices,
            "outcomes": Outcome.choices,
            "time_zone": timezone.get_current_timezone_name(),
            "title": _("Dashboard"),
        },
    )
