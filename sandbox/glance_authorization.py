"""Glance's Authorization Service: trades a partner login key for GJWT and GSSNID tokens.

`POST /services/AuthorizationService.svc/rest/Authorize?groupid=G&service=S&duration=M&site=X`
with the JSON body `{"partnerid": G, "partneruserid": "<puid>", "loginkey": "$1$…"}` answers
the object api.glance.cx documents: `authToken` (an HS256 JWT), `authTokeExp` (sic), `gssnId`
(`{personId}.{unixTime}.{random}.{groupId}`), `groupId`, and the sample's other fields. Errors
follow Glance's web-service convention, `{"message": …}`: 400 for invalid input, 401 when no
credentials are given, 403 when they are wrong.

Both tokens speak for the agent named by `partneruserid`, in that group only, for `duration`
minutes. smsInvite asks `token_holder` who holds a token it is shown.
"""

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from sandbox import glance
from sandbox.faults import upstream_api
from sandbox.models import GlanceToken
from sandbox.wire import Invalid, is_integer, json_object

# "duration of the authorization token in minutes 1-120" (help.glance.net).
SHORTEST_MINUTES = 1
LONGEST_MINUTES = 120
# The only service whose tokens smsInvite takes.
WEB_SERVICES = "webservices"
_DIGITS = re.compile(r"[0-9]+")
# The fields of api.glance.cx's sample answer that the sandbox has nothing to say about.
_UNUSED_FIELDS: dict[str, Any] = {
    "VServer": None,
    "applicationSettings": None,
    "coloSelectUrl": None,
    "glanceAddress": None,
    "isTrial": False,
    "message": None,
    "planTimeout": 0,
    "planTitle": None,
    "privilegeString": None,
    "service": 0,
}


class Refused(Exception):
    """A request answered with `status` and `{"message": reason}`."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


@dataclass(frozen=True)
class Issued:
    auth_token: str
    gssnid: str
    expires_at: datetime


def demo_partner() -> glance.Partner:
    """The sandbox Glance's one partner, from settings read at request time."""
    return glance.Partner(
        group_id=settings.SANDBOX_GLANCE_GROUP_ID,
        api_key=settings.SANDBOX_GLANCE_API_KEY,
        addresses=frozenset(settings.SANDBOX_GLANCE_ADDRESSES),
    )


def _message(status: int, reason: str) -> JsonResponse:
    return JsonResponse({"message": reason}, status=status)


@csrf_exempt
@upstream_api("glance")
@require_POST
def authorize(request: HttpRequest) -> HttpResponse:
    """POST /services/AuthorizationService.svc/rest/Authorize, as Glance's library calls it."""
    try:
        group, service, minutes = _query(request)
        agent = _agent(request, group=group)
    except Refused as err:
        return _message(err.status, str(err))
    issued = issue(agent=agent, service=service, minutes=minutes, now=time.time())
    return JsonResponse(
        {
            **_UNUSED_FIELDS,
            "authToken": issued.auth_token,
            "authTokeExp": _glance_time(issued.expires_at),
            "groupId": agent.partner_id,
            "gssnId": issued.gssnid,
        }
    )


def _query(request: HttpRequest) -> tuple[int, str, int]:
    group = request.GET.get("groupid", "")
    if not _DIGITS.fullmatch(group):
        raise Refused(400, "groupid query parameter is required and must be a number")
    service = request.GET.get("service", "")
    if not service or len(service) > 40:
        raise Refused(400, "service query parameter is required")
    if not request.GET.get("site", ""):
        raise Refused(400, "site query parameter is required")
    duration = request.GET.get("duration", "")
    if not _DIGITS.fullmatch(duration) or not (
        SHORTEST_MINUTES <= int(duration) <= LONGEST_MINUTES
    ):
        raise Refused(
            400, f"duration must be whole minutes from {SHORTEST_MINUTES} to {LONGEST_MINUTES}"
        )
    return int(group), service, int(duration)


def _agent(request: HttpRequest, *, group: int) -> glance.Agent:
    if not request.body.strip():
        raise Refused(401, "credentials are missing")
    try:
        body = json_object(request, require_json_type=True)
    except Invalid as err:
        raise Refused(400, str(err)) from err
    if "username" in body or "password" in body:
        # Standard (Glance account) sign-in needs a Glance password, which the sandbox's demo
        # partner does not have.
        raise Refused(400, "the sandbox takes partnerid, partneruserid and loginkey only")
    if not any(key in body for key in ("partnerid", "partneruserid", "loginkey")):
        raise Refused(401, "credentials are missing")
    partner_id = body.get("partnerid")
    if isinstance(partner_id, str) and _DIGITS.fullmatch(partner_id):
        partner_id = int(partner_id)
    if not is_integer(partner_id):
        raise Refused(400, "partnerid is required and must be a number")
    partner_user_id = body.get("partneruserid")
    if not isinstance(partner_user_id, str) or not 0 < len(partner_user_id) <= 128:
        raise Refused(400, "partneruserid is required, 1 to 128 characters")
    key = body.get("loginkey")
    if not isinstance(key, str):
        raise Refused(400, "loginkey is required and must be a string")
    try:
        agent = glance.authenticate_partner(
            partner_id, partner_user_id, key, partner=demo_partner(), now=int(time.time())
        )
    except glance.Unauthorized as err:
        raise Refused(403, str(err)) from err
    if agent.partner_id != group:
        raise Refused(403, "credential belongs to another group")
    return agent


def issue(*, agent: glance.Agent, service: str, minutes: int, now: float) -> Issued:
    """Mint and record a GJWT and a GSSNID for `agent`, valid `minutes` from `now`."""
    issued_at = datetime.fromtimestamp(now, UTC)
    expires_at = issued_at + timedelta(minutes=minutes)
    group = agent.partner_id
    person = person_id(agent)
    auth_token = _jwt(
        {
            "groupId": group,
            "puid": agent.partner_user_id,
            "personId": person,
            "service": service,
            "iat": int(now),
            "exp": int(expires_at.timestamp()),
            # Two authorizations of one agent within a second still get two distinct tokens.
            "jti": _b64url(secrets.token_bytes(16)),
        }
    )
    gssnid = f"{person}.{int(now)}.{_b64url(secrets.token_bytes(32))}.{group}"
    # Expired tokens are useless; dropping them here keeps the table small.
    GlanceToken.objects.filter(expires_at__lte=issued_at).delete()
    GlanceToken.objects.bulk_create(
        GlanceToken(
            kind=kind,
            digest=_digest(token),
            group_id=group,
            partner_user_id=agent.partner_user_id,
            service=service,
            expires_at=expires_at,
        )
        for kind, token in ((GlanceToken.Kind.GJWT, auth_token), (GlanceToken.Kind.GSSNID, gssnid))
    )
    return Issued(auth_token=auth_token, gssnid=gssnid, expires_at=expires_at)


def token_holder(scheme: str, token: str) -> glance.Agent:
    """The agent the Authorization Service issued this GJWT or GSSNID to, while it is valid."""
    record = GlanceToken.objects.filter(kind=scheme, digest=_digest(token)).first()
    if record is None:
        raise glance.Unauthorized(f"{scheme} token is not valid")
    if record.expires_at <= datetime.now(UTC):
        raise glance.Unauthorized(f"{scheme} token has expired")
    if record.service != WEB_SERVICES:
        raise glance.Unauthorized(f"{scheme} token was not issued for {WEB_SERVICES}")
    return glance.Agent(partner_id=record.group_id, partner_user_id=record.partner_user_id)


def person_id(agent: glance.Agent) -> int:
    """A six-digit id standing for Glance's person record of the agent, the same every time."""
    seed = hashlib.sha256(f"{agent.partner_id}\n{agent.partner_user_id}".encode()).digest()
    return 100_000 + int.from_bytes(seed[:4]) % 900_000


def _jwt(claims: dict[str, Any]) -> str:
    header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{payload}".encode()
    signature = hmac.new(_token_secret(), signing_input, hashlib.sha256).digest()
    return f"{header}.{payload}.{_b64url(signature)}"


def _token_secret() -> bytes:
    # Derived from the partner's API key, so it is never the key itself and needs no setting.
    return hmac.new(
        settings.SANDBOX_GLANCE_API_KEY.encode(), b"sandbox glance authorization", hashlib.sha256
    ).digest()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _glance_time(moment: datetime) -> str:
    """`2026-03-12T20:41:55.6484735Z`: UTC with seven fractional digits, as Glance writes it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
