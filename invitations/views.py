"""Agent pages. Each view checks input, calls one service or selector, and renders."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from invitations import selectors, services
from invitations.errors import InvitationError, NotConfigured
from invitations.forms import SmsInvitationForm
from invitations.models import DeliveryStatus, Invitee

RECENT_SESSIONS = 20


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """The invite form, then the agent's recent sessions."""
    user = request.user
    assert user.is_authenticated  # noqa: S101  (login_required; narrows the type)
    form = (
        SmsInvitationForm(request.POST) if request.method == "POST" else SmsInvitationForm.blank()
    )
    if request.method == "POST" and form.is_valid():
        try:
            invitee = services.invitation_create(agent=user, channel="sms", **form.cleaned_data)
        except InvitationError as err:
            form.add_error(err.field if err.field in form.fields else None, err.message)
        else:
            return redirect(invitee.session)

    setup_problem = ""
    try:
        selectors.sending_credential_for(user)
    except NotConfigured as err:
        setup_problem = err.message
    sessions = selectors.sessions_visible_to(user)[:RECENT_SESSIONS]
    return render(
        request,
        "invitations/home.html",
        {"form": form, "setup_problem": setup_problem, "sessions": sessions, "title": "Invite"},
        status=400 if form.errors else 200,
    )


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(selectors.sessions_visible_to(request.user), pk=pk)
    invitees = list(session.invitees.all())
    pending = any(i.status in (DeliveryStatus.QUEUED, DeliveryStatus.SENDING) for i in invitees)
    return render(
        request,
        "invitations/session_detail.html",
        {
            "session": session,
            "invitees": invitees,
            "pending": pending,
            "title": f"Session {session.session_key}" if session.session_key else "New session",
        },
    )


@login_required
@require_POST
def invitee_resend(request: HttpRequest, pk: int) -> HttpResponse:
    sessions = selectors.sessions_visible_to(request.user)
    invitee = get_object_or_404(Invitee.objects.filter(session__in=sessions), pk=pk)
    try:
        services.invitee_resend(invitee=invitee)
    except InvitationError as err:
        messages.error(request, err.message)
    else:
        messages.success(request, f"Invitation to {invitee.destination} queued again.")
    return redirect(invitee.session)
