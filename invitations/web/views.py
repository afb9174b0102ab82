"""Agent pages. Each view checks input, calls one service or selector, and renders."""

import datetime
from collections.abc import Mapping
from urllib.parse import urlsplit

from csp.decorators import csp_update
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from invitations import selectors, services, states
from invitations.errors import InvitationError
from invitations.messaging import render as message_render
from invitations.models import Channel, Invitee, PartnerCredential, Session
from invitations.reporting import figures
from invitations.reporting.chart import stacked_bar_chart
from invitations.reporting.stats import DASHBOARD_DAYS, DEFAULT_DASHBOARD_DAYS, period_ending_today
from invitations.states import Outcome
from invitations.web import senders
from invitations.web.forms import AddInviteeForm, InvitationForm, SessionSearchForm

RECENT_SESSIONS = 10
# How long the session page keeps looking for a sent message's delivery receipt.
RECEIPT_WAIT = datetime.timedelta(minutes=5)
# How often the rows refresh while the customer may still join or leave: a join the portal
# already knows (a Digital Samba webhook) shows within this, which the 3 s goal allows.
PRESENCE_REFRESH = "2s"
SESSIONS_PER_PAGE = 50


def _agent_credential(request: HttpRequest) -> tuple[PartnerCredential | None, str]:
    """The credential the agent sends with (their default, or the one picked with
    `credential=<label>`), or the reason they cannot send yet. A picked label the agent may
    not use is refused, never replaced by their default."""
    label = request.POST.get("credential") or request.GET.get("credential")
    picked = None
    try:
        if label:
            picked = selectors.credentials_usable_by(request.user).filter(label=label).first()
            if picked is None:
                raise selectors.credential_not_offered(label)
        return selectors.sending_credential_for(request.user, credential=picked), ""  # type: ignore[arg-type]
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
    credential, setup_problem = _agent_credential(request)
    credentials = list(selectors.credentials_usable_by(request.user))
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
        credential, _problem = _agent_credential(request)
    return render(
        request,
        "invitations/_preview.html",
        {"preview": _preview(request, credential, request.GET, session), "session": session},
    )


def _session_invitees(session: Session) -> list[Invitee]:
    """The session's invitees as they are now: without a broker, asking the provider first
    whether a customer joined, where a lookup is due."""
    invitees = list(session.invitees.all())
    services.presence_refresh(invitees=invitees)
    return invitees


def _session_page(
    request: HttpRequest, session: Session, form: AddInviteeForm | None, status: int = 200
) -> HttpResponse:
    invitees = _session_invitees(session)
    pending = _pending(invitees)
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
            "invitees": invitees,
            "pending": pending,
            "form": form,
            "preview": preview,
            "join_offered": services.session_join_offered(session=session),
            "title": _("Session %(key)s") % {"key": session.session_key}
            if session.session_key
            else _("New session"),
        },
        status=status,
    )


@login_required
def session_invitees(request: HttpRequest, pk: int) -> HttpResponse:
    """The invitee rows alone, for the session page's live status."""
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
    invitees = _session_invitees(session)
    return render(
        request,
        "invitations/_invitee_rows.html",
        {"session": session, "invitees": invitees, "pending": _pending(invitees)},
    )


def _pending(invitees: list[Invitee]) -> str:
    """How often the rows refresh themselves: every second while a delivery is under way,
    every PRESENCE_REFRESH while the customer may still join or leave (a valid invitation in a
    session nobody ended), every 3 s while a sent message may still get its delivery receipt,
    else never."""
    if any(i.status in states.IN_FLIGHT for i in invitees):
        return "1s"
    now = timezone.now()
    recent = now - RECEIPT_WAIT
    if any(
        i.status in states.PRESENCE_APPLICABLE
        and i.session.ended_at is None
        and i.expires_at is not None
        and not i.is_expired(now)
        for i in invitees
    ):
        return PRESENCE_REFRESH
    if any(
        i.status in states.AWAITING_RECEIPT
        and i.provider_message_id
        and i.sent_at is not None
        and i.sent_at > recent
        for i in invitees
    ):
        return "3s"
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
    page = Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
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
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
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
