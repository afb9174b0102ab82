"""The room page at `room_url`: where a personal link `{room_url}?token=<JWT>` leads.

A private room takes only a valid token (facts.md §2.3): signed HS256 with the developer key,
`td` the team, `rd` this room's id or friendly_url, `exp` not passed, `nbf` reached, and a
`role` (when given) that the room has. Anything else, or no token, is 403 "This room is
private" and nothing is recorded. A public room also lets people in without a token. Without
a name (`u`) the page asks for one, as Digital Samba's join screen does.

Opening the page with a good token is joining: a participant record, the session started if
it was not live, and webhook deliveries. The Leave button (a POST to the same address) ends
the stay, and the session when the room is empty.
"""

import time
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from sandbox.digitalsamba import live, tokens
from sandbox.digitalsamba.rooms import find, role_named
from sandbox.digitalsamba.wire import NotFound, developer_key, team_id, uuid_or_none
from sandbox.models import DigitalSambaParticipant, DigitalSambaRoom

LONGEST_NAME = 255
TEMPLATE = "sandbox/digitalsamba_room.html"


@csrf_exempt  # a stand-in for the provider's own page, which takes no CSRF token of ours
@require_http_methods(["GET", "POST"])
def room_page(request: HttpRequest, room: str) -> HttpResponse:
    try:
        found = find(room)
    except NotFound:
        return render(request, TEMPLATE, {"state": "missing"}, status=404)
    title = found.description or found.friendly_url
    claims: dict[str, Any] = {}
    token = request.GET.get("token", "")
    try:
        if token:
            # Leaving needs no time checks: a token may expire while its holder is inside.
            now = None if request.method == "POST" else time.time()
            claims = _claims(tokens.verify(token, developer_key(), now=now), found)
        elif found.privacy == DigitalSambaRoom.Privacy.PRIVATE:
            raise tokens.BadToken("no token")
    except tokens.BadToken:
        return render(request, TEMPLATE, {"state": "private", "title": title}, status=403)

    if request.method == "POST":
        pk = uuid_or_none(request.POST.get("participant", ""))
        stays = DigitalSambaParticipant.objects.filter(session__room=found)
        stay = stays.filter(pk=pk).first() if pk else None
        if stay is None:
            return render(request, TEMPLATE, {"state": "missing"}, status=404)
        live.leave(participant=stay)
        return render(request, TEMPLATE, {"state": "left", "title": title})

    name = claims.get("u") or request.GET.get("name", "").strip()[:LONGEST_NAME]
    if not name:
        return render(request, TEMPLATE, {"state": "name", "title": title, "token": token})
    try:
        participant = live.join(
            room=found,
            external_id=claims.get("ud", ""),
            name=name,
            role=claims.get("role", found.default_role),
        )
    except NotFound:  # deleted since it was read
        return render(request, TEMPLATE, {"state": "missing"}, status=404)
    context = {
        "state": "in",
        "title": title,
        "participant": participant,
        "leave_url": request.get_full_path(),
    }
    return render(request, TEMPLATE, context)


def _claims(claims: dict[str, Any], room: DigitalSambaRoom) -> dict[str, Any]:
    """The verified token's claims this page uses, checked against the room; raises BadToken."""
    if claims.get("td") != team_id():
        raise tokens.BadToken("td is not this team")
    if claims.get("rd") not in (str(room.pk), room.friendly_url):
        raise tokens.BadToken("rd is not this room")
    used: dict[str, Any] = {}
    ud = claims.get("ud")
    if ud is not None:
        if isinstance(ud, bool) or not isinstance(ud, str | int) or len(str(ud)) > 255:
            raise tokens.BadToken("ud must be a string")
        used["ud"] = str(ud)
    name = claims.get("u")
    if name is not None:
        if not isinstance(name, str):
            raise tokens.BadToken("u must be a string")
        if name.strip():
            used["u"] = name.strip()[:LONGEST_NAME]
    if "role" in claims:
        role = role_named(claims["role"])
        if role is None or role not in room.roles:
            raise tokens.BadToken("role is not one of the room's")
        used["role"] = role
    return used
