"""Delivery receipts the sandbox posts back, as a real SMS gateway (or Postmark) would: signed,
over real HTTP, from a background thread a moment after it accepted the message.

Shares no code with the portal: the wire format and the signature are the contract's
(docs/upstream-contracts.md, "Status callbacks"). What this process remembers (the callback
URL of each message it accepted, the receipts it posted) lives in memory, so it is lost when
the server restarts; a manual receipt can name the callback URL again.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass

import requests
from django.conf import settings

# What the sandbox's SMS gateway reports for a number: ending in 0000, the carrier could not
# deliver it; anything else is delivered.
UNDELIVERABLE_SUFFIX = "0000"
UNDELIVERED_ERROR = "30003 Unreachable destination handset"
SMS_STATUSES = ("queued", "sent", "delivered", "undelivered", "failed")
# A callback answered with one of these (or not at all) is tried again, the delay doubling:
# 404 and 409 cover a receipt that overtook the caller recording the message id.
RETRY_STATUSES = frozenset({404, 408, 409, 429, 500, 502, 503, 504})
ATTEMPTS = 4
TIMEOUT = 5.0
REMEMBERED = 1000
LOGGED = 200


@dataclass(frozen=True)
class Posted:
    """One receipt the sandbox posted, and what the receiver answered (None: no answer)."""

    message_id: str
    status: str
    event_id: str
    url: str
    http_status: int | None
    answer: str
    at: datetime.datetime


_lock = threading.Lock()
_threads: set[threading.Thread] = set()
_callbacks: OrderedDict[str, str] = OrderedDict()
_posted: deque[Posted] = deque(maxlen=LOGGED)


def remember_callback(message_id: str, url: str) -> None:
    with _lock:
        _callbacks[message_id] = url
        while len(_callbacks) > REMEMBERED:
            _callbacks.popitem(last=False)


def callback_for(message_id: str) -> str:
    """The status callback URL a message was accepted with, if this process remembers it."""
    with _lock:
        return _callbacks.get(message_id, "")


def posted(message_id: str | None = None) -> list[Posted]:
    """Receipts posted so far (for one message), oldest first."""
    with _lock:
        return [p for p in _posted if message_id in (None, p.message_id)]


def sms_outcome(to: str) -> tuple[str, str]:
    """(status, error) the sandbox's carrier reports for a number."""
    if to.endswith(UNDELIVERABLE_SUFFIX):
        return "undelivered", UNDELIVERED_ERROR
    return "delivered", ""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """X-Gateway-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


def now_iso() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def new_event_id() -> str:
    return "evt_" + secrets.token_hex(8)


def post_sms_receipt(
    url: str,
    *,
    message_id: str,
    status: str,
    error: str = "",
    event_id: str = "",
    occurred_at: str = "",
) -> Posted:
    """Post one signed status callback to `url` now, once; returns what happened."""
    payload = {
        "event_id": event_id or new_event_id(),
        "message_id": message_id,
        "status": status,
        "occurred_at": occurred_at or now_iso(),
    }
    if error:
        payload["error"] = error
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "X-Gateway-Timestamp": timestamp,
        "X-Gateway-Signature": signature(
            settings.SANDBOX_SMS_GATEWAY_WEBHOOK_SECRET, timestamp, body
        ),
    }
    return _post(url, body, headers, message_id, status, payload["event_id"])


def post_postmark_webhook(url: str, *, message_id: str, event: dict[str, object]) -> Posted:
    """Post one Postmark tracking webhook (JSON, basic auth) to `url` now, once."""
    user, _, password = settings.SANDBOX_EMAIL_WEBHOOK_SECRET.partition(":")
    body = json.dumps(event).encode()
    status = str(event.get("RecordType", ""))
    headers = {"Content-Type": "application/json"}
    auth = (user, password)
    return _post(url, body, headers, message_id, status, str(event.get("ID", "")), auth)


def _post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    message_id: str,
    status: str,
    event_id: str,
    auth: tuple[str, str] | None = None,
) -> Posted:
    try:
        response = requests.post(url, data=body, headers=headers, auth=auth, timeout=TIMEOUT)
    except requests.RequestException as err:
        return _log(message_id, status, event_id, url, None, type(err).__name__)
    return _log(message_id, status, event_id, url, response.status_code, response.text[:300])


def _log(
    message_id: str, status: str, event_id: str, url: str, http_status: int | None, answer: str
) -> Posted:
    entry = Posted(
        message_id=message_id,
        status=status,
        event_id=event_id,
        url=url,
        http_status=http_status,
        answer=answer,
        at=datetime.datetime.now(datetime.UTC),
    )
    with _lock:
        _posted.append(entry)
    return entry


def later(send: Callable[[], Posted]) -> None:
    """Run `send` in a background thread after SANDBOX_RECEIPT_DELAY seconds, and again with
    the delay doubled while the receiver does not take it (RETRY_STATUSES), ATTEMPTS times."""
    delay = max(float(settings.SANDBOX_RECEIPT_DELAY), 0.0)

    def run() -> None:
        wait = delay
        try:
            for _attempt in range(ATTEMPTS):
                time.sleep(wait)
                result = send()
                if result.http_status is not None and result.http_status not in RETRY_STATUSES:
                    return
                wait = max(wait * 2, 0.1)
        finally:
            with _lock:
                _threads.discard(threading.current_thread())

    thread = threading.Thread(target=run, name="sandbox-receipt", daemon=True)
    with _lock:
        _threads.add(thread)
    thread.start()


def wait_for_receipts(timeout: float = 15.0) -> bool:
    """Wait until every scheduled receipt was posted (or given up); False on timeout. For
    tests in the same process."""
    deadline = time.monotonic() + timeout
    while True:
        with _lock:
            pending = list(_threads)
        if not pending:
            return True
        for thread in pending:
            thread.join(max(deadline - time.monotonic(), 0))
        if time.monotonic() >= deadline:
            with _lock:
                return not _threads
