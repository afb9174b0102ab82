"""Glance's Session Service and agent viewer, for the sessions the sandbox's smsInvite creates.

Written from facts.md §3.2 and §3.3 (Glance's own agent library) and the shared decisions where
Glance documents nothing:

- `POST /services/SessionService.asmx/LookupPartnerSession2`, form fields `partnerid`,
  `partneruserid`, `loginkey`, `ssnkey`: ASMX-style XML, `<SessionInfo>` with the session's
  `id` once the visitor started it, `<id>0</id>` before that or for another group's key.
- `POST /services/SessionService.asmx/AgentInSession`, the same fields (`ssnkey` may be empty):
  the sessions the agent's viewer is connected to, as `<session2>` elements.
- `/agentjoin/AgentView.aspx`, posted as a form (`SESSIONKEY`, `PARTNERID`, `PARTNERUSERID`,
  `LOGINKEY`, `WAIT`) or opened with the same names in the query, in any case: a stand-in for
  the agent's viewer.

The login key is verified as for GKEY partner tokens (`glance.authenticate_partner`). A bad
key is 403 (the lookups: text/plain `Authentication failed: <reason>`; the viewer: a "Login
failed" page); a lookup without `loginkey` is 401.
"""

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from xml.etree import ElementTree

from django.core import signing
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.request import split_domain_port
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from sandbox import glance, glance_authorization
from sandbox.faults import upstream_api
from sandbox.models import GlanceSession

# The XML namespace of Glance's ASMX services.
NAMESPACE = "http://www.glance.net/"
# Glance ids of started sessions are this plus the row's primary key: unique, and never 0.
FIRST_GLANCE_ID = 70_000_000
# smsInvite's keys are six digits; this many draws find a free one unless a million are taken.
KEY_ATTEMPTS = 20
# What the sandbox answers in the lookup's `calltype` (C|G|V in Glance's records; facts.md
# §3.3 does not say which means what) and `visitorversion`.
CALL_TYPE = "C"
VISITOR_VERSION = "sandbox"
# The waiting viewer and the visitor's page look again this often (seconds).
REFRESH_SECONDS = 3
# How long the waiting viewer may keep looking without the agent's login key again (seconds).
VIEWER_PASS_SECONDS = 3600
_VIEWER_PASS_SALT = "sandbox.glance.viewer"  # noqa: S105 (a signing salt, not a secret)


class Refused(Exception):
    """A request answered with `status`, text/plain `Authentication failed: <reason>`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def open_session(*, group_id: int, partner_user_id: str, session_type: int) -> GlanceSession:
    """A new, not yet started session under a six-digit session key no other session has."""
    for _ in range(KEY_ATTEMPTS):
        key = f"{secrets.randbelow(1_000_000):06d}"
        try:
            with transaction.atomic():
                return GlanceSession.objects.create(
                    session_key=key,
                    group_id=group_id,
                    partner_user_id=partner_user_id,
                    session_type=session_type,
                )
        except IntegrityError:
            continue  # the key is taken; draw another
    raise RuntimeError("the sandbox Glance found no free session key")


def visitor_starts(*, session_key: str) -> GlanceSession | None:
    """The visitor opened the link: the session starts (`W`) and gets its id, once."""
    session = GlanceSession.objects.filter(session_key=session_key).first()
    if session is None or session.glance_id is not None:
        return session
    # Conditional, so that two requests of the visitor cannot start it twice.
    GlanceSession.objects.filter(pk=session.pk, glance_id__isnull=True).update(
        glance_id=FIRST_GLANCE_ID + session.pk,
        status=GlanceSession.Status.WAITING,
        started_at=timezone.now(),
    )
    session.refresh_from_db()
    return session


def agent_joins(*, session: GlanceSession, partner_user_id: str) -> GlanceSession:
    """An agent's viewer reached a started session: both sides are there (`A`)."""
    GlanceSession.objects.filter(pk=session.pk, status=GlanceSession.Status.WAITING).update(
        status=GlanceSession.Status.ACTIVE,
        agent_partner_user_id=partner_user_id,
        agent_joined_at=timezone.now(),
    )
    session.refresh_from_db()
    return session


# --- Session Service (ASMX) ---------------------------------------------------------------------


def _refused(err: Refused) -> HttpResponse:
    return HttpResponse(
        f"Authentication failed: {err}",
        status=err.status,
        content_type="text/plain; charset=utf-8",
    )


def _xml(root: ElementTree.Element) -> HttpResponse:
    body = ElementTree.tostring(root, encoding="unicode")
    return HttpResponse(
        f'<?xml version="1.0" encoding="utf-8"?>\n{body}',
        content_type="text/xml; charset=utf-8",
    )


def _element(tag: str, fields: Mapping[str, object], **attributes: str) -> ElementTree.Element:
    element = ElementTree.Element(tag, attributes)
    for name, value in fields.items():
        ElementTree.SubElement(element, name).text = str(value)
    return element


def _server_name(request: HttpRequest) -> str:
    domain, _ = split_domain_port(request.get_host())
    return domain


def _form_agent(request: HttpRequest) -> glance.Agent:
    """The agent a Session Service request speaks for; raises Refused."""
    if request.content_type != "application/x-www-form-urlencoded":
        raise Refused(415, "Content-Type must be application/x-www-form-urlencoded")
    form = request.POST
    if "loginkey" not in form:
        raise Refused(401, "loginkey is missing")
    return _agent(form.get("partnerid", ""), form.get("partneruserid", ""), form["loginkey"])


def _agent(partner_id: str, partner_user_id: str, key: str) -> glance.Agent:
    if not partner_id.isascii() or not partner_id.isdigit():
        raise Refused(403, "partnerid is missing or not a number")
    if not 0 < len(partner_user_id) <= 128:
        raise Refused(403, "partneruserid is missing or longer than 128 characters")
    try:
        return glance.authenticate_partner(
            int(partner_id),
            partner_user_id,
            key,
            partner=glance_authorization.demo_partner(),
            now=int(time.time()),
        )
    except glance.Unauthorized as err:
        raise Refused(403, str(err)) from err


def _group_session(agent: glance.Agent, session_key: str) -> GlanceSession | None:
    """The agent's group's session under that key; another group's is as good as none."""
    if not session_key:
        return None
    return GlanceSession.objects.filter(session_key=session_key, group_id=agent.partner_id).first()


@csrf_exempt
@upstream_api("glance")
@require_POST
def lookup_partner_session(request: HttpRequest) -> HttpResponse:
    """POST /services/SessionService.asmx/LookupPartnerSession2, as Glance's library calls it."""
    try:
        agent = _form_agent(request)
    except Refused as err:
        return _refused(err)
    if "ssnkey" not in request.POST:
        return HttpResponse(
            "Missing parameter: ssnkey.", status=400, content_type="text/plain; charset=utf-8"
        )
    session = _group_session(agent, request.POST["ssnkey"])
    if session is None or session.glance_id is None:
        return _xml(_element("SessionInfo", {"id": 0}, xmlns=NAMESPACE))
    fields = {
        "id": session.glance_id,
        "ssnid": session.glance_id,
        "serverip": "127.0.0.1",
        "servername": _server_name(request),
        "personid": glance_authorization.person_id(agent),
        "groupid": session.group_id,
        "passcode": session.session_key,
        "agentjoinurl": _agent_join_url(request, session.session_key),
        "clientjoinurl": request.build_absolute_uri(
            reverse("sandbox:glance-join", args=[session.session_key])
        ),
        "calltype": CALL_TYPE,
        "visitorversion": VISITOR_VERSION,
    }
    return _xml(_element("SessionInfo", fields, xmlns=NAMESPACE))


@csrf_exempt
@upstream_api("glance")
@require_POST
def agent_in_session(request: HttpRequest) -> HttpResponse:
    """POST /services/SessionService.asmx/AgentInSession: the sessions the agent's viewer is in.

    Its root element and the meaning of `num` and `disambiguateId` are not documented
    (facts.md §3.3): the root is ASMX's name for a list, `num` counts from 1 and
    `disambiguateId` is 0.
    """
    try:
        agent = _form_agent(request)
    except Refused as err:
        return _refused(err)
    sessions = GlanceSession.objects.filter(
        group_id=agent.partner_id,
        status=GlanceSession.Status.ACTIVE,
        agent_partner_user_id=agent.partner_user_id,
    ).order_by("agent_joined_at", "id")
    session_key = request.POST.get("ssnkey", "")
    if session_key:
        sessions = sessions.filter(session_key=session_key)
    root = ElementTree.Element("ArrayOfSession2", xmlns=NAMESPACE)
    for num, session in enumerate(sessions, start=1):
        fields = {
            "id": session.glance_id,
            "passcode": session.session_key,
            "num": num,
            "disambiguateId": 0,
            "servername": _server_name(request),
        }
        root.append(_element("session2", fields))
    return _xml(root)


# --- The agent's viewer -------------------------------------------------------------------------


@dataclass(frozen=True)
class _ViewerRequest:
    session_key: str
    wait: bool
    agent: glance.Agent | None
    # Why the agent could not be signed in, when `agent` is None.
    refusal: str = ""


def _agent_join_url(request: HttpRequest, session_key: str) -> str:
    # Glance's lookup hands out a join URL for the session; without a login key it leads the
    # agent to sign in first (the viewer then refuses it, as Glance's would without one).
    return request.build_absolute_uri(reverse("sandbox:glance-agent-view")) + (
        f"?SessionKey={session_key}"
    )


def _viewer_request(request: HttpRequest) -> _ViewerRequest:
    # Glance's library posts upper-case names; the documented link uses `SessionKey`,
    # `partnerid`, ...: names in any case, posted fields over query parameters.
    fields: dict[str, str] = {}
    for source in (request.GET, request.POST):
        for name in source:
            fields[name.lower()] = source.get(name, "")
    viewer_pass = fields.get("viewerpass", "")
    if viewer_pass:
        return _from_viewer_pass(viewer_pass)
    session_key = fields.get("sessionkey", "")
    wait = fields.get("wait", "").lower() in ("1", "true")
    try:
        agent = _agent(
            fields.get("partnerid", ""), fields.get("partneruserid", ""), fields.get("loginkey", "")
        )
    except Refused as err:
        return _ViewerRequest(session_key, wait, None, str(err))
    return _ViewerRequest(session_key, wait, agent)


def _viewer_pass(view: _ViewerRequest, agent: glance.Agent) -> str:
    """What the waiting viewer reloads with instead of the login key, which it never shows."""
    return signing.dumps(
        [view.session_key, agent.partner_id, agent.partner_user_id], salt=_VIEWER_PASS_SALT
    )


def _from_viewer_pass(value: str) -> _ViewerRequest:
    try:
        session_key, group_id, partner_user_id = signing.loads(
            value, salt=_VIEWER_PASS_SALT, max_age=VIEWER_PASS_SECONDS
        )
    except (signing.BadSignature, ValueError, TypeError):
        return _ViewerRequest("", True, None, "the viewer's pass is not valid any more")
    return _ViewerRequest(str(session_key), True, glance.Agent(int(group_id), str(partner_user_id)))


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def agent_view(request: HttpRequest) -> HttpResponse:
    """/agentjoin/AgentView.aspx: the agent's viewer, waiting for the visitor or connected.

    Posted from another site (the portal) without this site's CSRF token, as Glance's is.
    """
    view = _viewer_request(request)
    context: dict[str, Any] = {"session_key": view.session_key}
    if view.agent is None:
        context |= {"state": "login-failed", "reason": view.refusal}
        return render(request, "sandbox/glance_agent_view.html", context, status=403)
    session = _group_session(view.agent, view.session_key)
    context["agent"] = view.agent
    if session is not None and session.glance_id is not None:
        session = agent_joins(session=session, partner_user_id=view.agent.partner_user_id)
        context |= {"state": "connected", "session": session}
        return render(request, "sandbox/glance_agent_view.html", context)
    if view.session_key and view.wait:
        # Glance has no session before the visitor starts one, so it cannot tell a key that
        # will never be used from one that is not used yet: it waits for either.
        context |= {
            "state": "waiting",
            "refresh_seconds": REFRESH_SECONDS,
            "viewer_pass": _viewer_pass(view, view.agent),
        }
        return render(request, "sandbox/glance_agent_view.html", context)
    context["state"] = "not-found"
    return render(request, "sandbox/glance_agent_view.html", context, status=404)
