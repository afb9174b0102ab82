"""Digital Samba for unit tests: a JWT check written apart from the portal's signing code, and a
stand-in for its REST API on `responses` (rooms, participants, webhooks), answering as
facts.md §2 and /docs/upstream-contracts.md describe it. Integration tests use the sandbox."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

TEAM_ID = "0f8e2a44-1c3b-4d5e-9f60-7a8b9c0d1e2f"
DEVELOPER_KEY = "ds-unit-developer-key-4c7e1a"
BASE = "https://api.ds.invalid/api/v1"
NOT_FOUND = {"message": "Not Found", "error": "not-found"}


def _unpadded_b64(segment: str) -> bytes:
    assert "=" not in segment, "JWT segments carry no padding"
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def decode_hs256(token: str, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The header and claims of an HS256 JWT, after checking its signature with `key`."""
    header, payload, signature = token.split(".")
    expected = hmac.new(key.encode(), f"{header}.{payload}".encode(), hashlib.sha256).digest()
    assert hmac.compare_digest(_unpadded_b64(signature), expected), "bad signature"
    return json.loads(_unpadded_b64(header)), json.loads(_unpadded_b64(payload))


def token_of(link: str) -> str:
    [token] = parse_qs(urlsplit(link).query)["token"]
    return token


def _query(request: Any) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}


def _body(request: Any) -> dict[str, Any]:
    return json.loads(request.body) if request.body else {}


class FakeDigitalSamba:
    """Rooms, participants and webhooks of one team, kept in memory. Install inside
    `responses.activate`. The webhook list omits `events` and `authorization_header`, as the
    documented list does; one webhook read in full has them."""

    def __init__(self, base: str = BASE) -> None:
        self.base = base
        self.rooms: dict[str, dict[str, Any]] = {}
        self.webhooks: dict[str, dict[str, Any]] = {}
        # session id -> participant records
        self.participants: dict[str, list[dict[str, Any]]] = {}
        self._friendly = (f"Room{n:011d}" for n in itertools.count(1))

    def install(self) -> FakeDigitalSamba:
        base = re.escape(self.base)
        one = r"/([^/?]+)(\?.*)?$"
        responses.add_callback("POST", re.compile(rf"{base}/rooms$"), self._create_room)
        responses.add_callback("GET", re.compile(rf"{base}/rooms(\?.*)?$"), self._list_rooms)
        responses.add_callback("GET", re.compile(rf"{base}/rooms{one}"), self._read_room)
        responses.add_callback("DELETE", re.compile(rf"{base}/rooms{one}"), self._delete_room)
        responses.add_callback(
            "GET", re.compile(rf"{base}/sessions/([^/]+)/participants(\?.*)?$"), self._people
        )
        responses.add_callback("GET", re.compile(rf"{base}/webhooks(\?.*)?$"), self._list_hooks)
        responses.add_callback("POST", re.compile(rf"{base}/webhooks$"), self._create_hook)
        for method in ("GET", "PATCH", "DELETE"):
            responses.add_callback(method, re.compile(rf"{base}/webhooks{one}"), self._one_hook)
        return self

    def add_webhook(self, **fields: Any) -> str:
        hook_id = str(uuid.uuid4())
        self.webhooks[hook_id] = {"id": hook_id, "name": None, "authorization_header": None}
        self.webhooks[hook_id].update(fields)
        return hook_id

    # --- answers ------------------------------------------------------------------------------

    @staticmethod
    def _json(status: int, body: object) -> tuple[int, dict[str, str], str]:
        return status, {"Content-Type": "application/json"}, json.dumps(body)

    @staticmethod
    def _page(items: list[dict[str, Any]], request: Any) -> dict[str, Any]:
        query = _query(request)
        offset, limit = int(query.get("offset", 0)), int(query.get("limit", 100))
        # The OAS examples render the count as a string.
        return {"total_count": str(len(items)), "data": items[offset : offset + limit]}

    def _create_room(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = _body(request)
        if body.get("privacy") not in ("public", "private"):
            return self._json(422, {"message": "The privacy field is required."})
        room_id, friendly = str(uuid.uuid4()), next(self._friendly)
        room = {
            "id": room_id,
            "friendly_url": friendly,
            "privacy": body["privacy"],
            "description": body.get("description"),
            "room_url": f"https://team.ds.invalid/{friendly}",
        }
        self.rooms[room_id] = room
        return self._json(200, room)

    def _list_rooms(self, request: Any) -> tuple[int, dict[str, str], str]:
        return self._json(200, self._page(list(self.rooms.values()), request))

    def _find_room(self, request: Any) -> dict[str, Any] | None:
        key = urlsplit(request.url).path.rsplit("/", 1)[1]
        return next((r for r in self.rooms.values() if key in (r["id"], r["friendly_url"])), None)

    def _read_room(self, request: Any) -> tuple[int, dict[str, str], str]:
        room = self._find_room(request)
        return self._json(200, room) if room else self._json(404, NOT_FOUND)

    def _delete_room(self, request: Any) -> tuple[int, dict[str, str], str]:
        room = self._find_room(request)
        if room is None:
            return self._json(404, NOT_FOUND)
        del self.rooms[room["id"]]
        return 204, {}, ""

    def _people(self, request: Any) -> tuple[int, dict[str, str], str]:
        session_id = urlsplit(request.url).path.split("/")[-2]
        if session_id not in self.participants:
            return self._json(404, NOT_FOUND)
        return self._json(200, self._page(self.participants[session_id], request))

    def _list_hooks(self, request: Any) -> tuple[int, dict[str, str], str]:
        listed = [
            {k: v for k, v in hook.items() if k not in ("events", "authorization_header")}
            for hook in self.webhooks.values()
        ]
        return self._json(200, self._page(listed, request))

    def _create_hook(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = _body(request)
        endpoint, events = body.get("endpoint"), body.get("events")
        if not isinstance(endpoint, str) or not 3 <= len(endpoint) <= 100 or not events:
            return self._json(422, {"message": "Invalid.", "errors": {"endpoint": ["invalid"]}})
        hook_id = self.add_webhook(**body)
        return self._json(200, self.webhooks[hook_id])

    def _one_hook(self, request: Any) -> tuple[int, dict[str, str], str]:
        hook_id = urlsplit(request.url).path.rsplit("/", 1)[1]
        if hook_id not in self.webhooks:
            return self._json(404, NOT_FOUND)
        if request.method == "DELETE":
            del self.webhooks[hook_id]
            return 204, {}, ""
        if request.method == "PATCH":
            self.webhooks[hook_id].update(_body(request))
        return self._json(200, self.webhooks[hook_id])
