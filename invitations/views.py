"""Agent pages. Each view checks input, calls one service or selector, and renders."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from invitations import messaging, selectors, services
from invitations.errors import InvitationError, NotConfigured
from invitations.forms import AddInviteeForm, InvitationForm
from invitations.models import DeliveryStatus, Invitee, PartnerCredential, Session

RECENT_SESSIONS = 10
SESSIONS_PER_PAGE = 50


def _agent_credential(request: HttpRequest) -> tuple[PartnerCredential | None, str]:
    """The credential the agent sends with (their default, or the one picked with
    `credential=<label>`), or the reason they cannot send yet."""
    label = request.POST.get("credential") or request.GET.get("credential")
    picked = selectors.usable_credentials().filter(label=label).first() if label else None
    try:
        return selectors.sending_credential_for(request.user, credential=picked), ""  # type: ignore[arg-type]
    except NotConfigured as err:
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
    if request.method == "POST":
        form = InvitationForm(request.POST, credential=credential)
        invitee = _submit(request, form, credential=credential)
        if invitee is not None:
            return redirect(invitee.session)
    else:
        form = InvitationForm(credential=credential)
    sessions = selectors.sessions_visible_to(request.user)[:RECENT_SESSIONS]
    return render(
        request,
        "invitations/home.html",
        {
            "form": form,
            "credential": credential,
            "credentials": selectors.usable_credentials(),
            "preview": messaging.preview(credential=credential, agent=request.user)  # type: ignore[arg-type]
            if credential
            else [],
            "setup_problem": setup_problem,
            "sessions": sessions,
            "title": "Invite",
        },
        status=400 if form.errors else 200,
    )


def _session_page(
    request: HttpRequest, session: Session, form: AddInviteeForm | None, status: int = 200
) -> HttpResponse:
    invitees = list(session.invitees.all())
    pending = _pending(invitees)
    if form is None and session.credential.can_add_to_session:
        form = AddInviteeForm(credential=session.credential)
    return render(
        request,
        "invitations/session_detail.html",
        {
            "session": session,
            "invitees": invitees,
            "pending": pending,
            "form": form,
            "title": f"Session {session.session_key}" if session.session_key else "New session",
        },
        status=status,
    )


@login_required
def session_invitees(request: HttpRequest, pk: int) -> HttpResponse:
    """The invitee rows alone, for the session page's live status."""
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
    invitees = list(session.invitees.all())
    return render(
        request,
        "invitations/_invitee_rows.html",
        {"session": session, "invitees": invitees, "pending": _pending(invitees)},
    )


def _pending(invitees: list[Invitee]) -> bool:
    return any(i.status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING) for i in invitees)


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
    sessions = selectors.sessions_visible_to(request.user)
    query = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    if query:
        sessions = sessions.filter(
            Q(session_key__icontains=query)
            | Q(ticket_reference__icontains=query)
            | Q(invitees__name__icontains=query)
            | Q(invitees__destination__icontains=query)
        ).distinct()
    if status in DeliveryStatus.values:
        sessions = sessions.filter(invitees__status=status).distinct()
    page = Paginator(sessions, SESSIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "invitations/session_list.html",
        {
            "page": page,
            "query": query,
            "status": status,
            "statuses": DeliveryStatus.choices,
            "show_agent": selectors.sees_others_sessions(request.user),
            "title": "Sessions",
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
