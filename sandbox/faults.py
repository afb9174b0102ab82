"""Fault injection and the request log of the emulated upstream APIs.

Every call to the API entry points (Glance's smsInvite, Authorization and Session Services,
the OnSync sessions API, the SMS gateway's messages, Digital Samba's REST API) goes through
`upstream_api`, which logs it as a `SandboxRequest` and, before the real handler runs, plays
the first of the target's `FaultRule`s that still has requests left.

Tests in the same process call `inject` and `clear`; anything else uses `/sandbox/faults/`
(`sandbox.control`, signed in as staff). Modes:

- "status": answer `status` with `{"error": "injected fault"}` (and `Retry-After` when
  `retry_after` is set, or always for 429); the real handler does not run. Digital Samba
  answers in its own shape: `{"message": ..., "error": ...}`, for 429 its documented
  "Too Many Attempts" body with `retry-after`.
- "slow": wait `delay_seconds`, then answer normally.
- "malformed": run the real handler, then answer 200 with a truncated, invalid JSON body.
- "reset": run the real handler, then drop the connection without answering.
- "redirect": answer `status` (a 3xx, 307 when not given) with `Location: <url>`; the real
  handler does not run. A client that follows it sends its request, headers and body
  included, to `url`.
- "link": run the real handler, then put `url` in place of every link in the answer (OnSync's
  `session_link` and `personal_session_link`, in JSON or XML; the link in Glance's
  `invitationText`; the session lookup's `agentjoinurl` and `clientjoinurl`; Digital Samba's
  `room_url` and `link`), as a provider that hands back e.g. `javascript:` links would.

`delay_seconds` is waited first in every mode.
"""

import contextlib
import functools
import inspect
import json
import math
import re
import socket
import socketserver
import time
from collections.abc import Callable
from typing import Concatenate, ParamSpec
from xml.etree import ElementTree

from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse
from django.utils.http import http_date

from sandbox.digitalsamba import errors as digitalsamba_errors
from sandbox.models import FaultMode, FaultRule, SandboxRequest, Target
from sandbox.wire import error, is_integer

P = ParamSpec("P")
View = Callable[Concatenate[HttpRequest, P], HttpResponse]

TARGETS = tuple(Target.values)
MODES = tuple(FaultMode.values)
# Sent with an injected 429 that does not say how long to wait.
DEFAULT_RETRY_AFTER = 1
# A request thread sleeps this long at most; longer would only hang the server.
MAX_DELAY_SECONDS = 300.0
MAX_RETRY_AFTER = 86_400
DEFAULT_REDIRECT_STATUS = 307
MAX_URL_LENGTH = 500
_URL_IN_TEXT = re.compile(r"https?://\S+")


class BadFault(ValueError):
    """A fault rule that cannot be added; the message says why."""


def inject(
    target: str,
    mode: str,
    *,
    status: int | None = None,
    count: int | None = None,
    retry_after: int | None = None,
    delay_seconds: float = 0.0,
    url: str = "",
) -> FaultRule:
    """Fault the next `count` requests to `target` (every request when `count` is None).

    Raises `BadFault` for a rule that makes no sense (see `/sandbox/faults/`).
    """
    return add_rule(target, mode, status, count, retry_after, delay_seconds, url)


def clear(target: str | None = None) -> int:
    """Remove every rule, or every rule of one target; returns how many were removed."""
    rules = FaultRule.objects.all()
    if target is not None:
        rules = rules.filter(target=check_target(target))
    deleted, _ = rules.delete()
    return deleted


def check_target(value: object) -> str:
    """`value` if it names a target; raises BadFault otherwise."""
    if not isinstance(value, str) or value not in TARGETS:
        raise BadFault(f"target must be one of {', '.join(TARGETS)}")
    return value


def add_rule(
    target: object,
    mode: object,
    status: object,
    count: object,
    retry_after: object,
    delay_seconds: object,
    url: object = "",
) -> FaultRule:
    """Validate a rule's fields as given (Python or JSON values alike) and store the rule.

    `count` None: every request until cleared. Raises BadFault with the reason.
    """
    target = check_target(target)
    if not isinstance(mode, str) or mode not in MODES:
        raise BadFault(f"mode must be one of {', '.join(MODES)}")
    if mode == FaultMode.STATUS:
        if not is_integer(status) or not 400 <= status <= 599:
            raise BadFault("mode 'status' needs status, an integer from 400 to 599")
    elif mode == FaultMode.REDIRECT:
        if status is None:
            status = DEFAULT_REDIRECT_STATUS
        if not is_integer(status) or not 300 <= status <= 399:
            raise BadFault("mode 'redirect' takes status, an integer from 300 to 399")
    elif status is not None:
        raise BadFault("status applies to modes 'status' and 'redirect' only")
    if mode in (FaultMode.REDIRECT, FaultMode.LINK):
        if not isinstance(url, str) or not 0 < len(url) <= MAX_URL_LENGTH:
            raise BadFault(f"mode '{mode}' needs url, a string of 1 to {MAX_URL_LENGTH} characters")
    elif url:
        raise BadFault("url applies to modes 'redirect' and 'link' only")
    if retry_after is not None:
        if mode != FaultMode.STATUS:
            raise BadFault("retry_after applies to mode 'status' only")
        if not is_integer(retry_after) or not 0 <= retry_after <= MAX_RETRY_AFTER:
            raise BadFault(f"retry_after must be an integer from 0 to {MAX_RETRY_AFTER}")
    if count is not None and (not is_integer(count) or count < 1):
        raise BadFault("count must be a positive integer (omit it to fault every request)")
    if (
        isinstance(delay_seconds, bool)
        or not isinstance(delay_seconds, int | float)
        or not math.isfinite(delay_seconds)
        or not 0 <= delay_seconds <= MAX_DELAY_SECONDS
    ):
        raise BadFault(f"delay_seconds must be a number from 0 to {MAX_DELAY_SECONDS:g}")
    if mode == FaultMode.SLOW and delay_seconds == 0:
        raise BadFault("mode 'slow' needs delay_seconds above 0")
    return FaultRule.objects.create(
        target=target,
        mode=mode,
        status=status,
        retry_after=retry_after,
        delay_seconds=float(delay_seconds),
        remaining=count,
        url=url if isinstance(url, str) else "",
    )


def _claim(target: str) -> FaultRule | None:
    """The first rule of `target` with requests left, one of them now used up."""
    live = Q(remaining__isnull=True) | Q(remaining__gt=0)
    for rule in list(FaultRule.objects.filter(live, target=target).order_by("id")):
        if rule.remaining is None:
            return rule
        # Conditional, so that two threads cannot both take a rule's last request.
        taken = FaultRule.objects.filter(pk=rule.pk, remaining__gt=0).update(
            remaining=F("remaining") - 1
        )
        if taken:
            return rule
    return None


def upstream_api(target: str) -> Callable[[View[P]], View[P]]:
    """Make a view an entry point of `target`'s API: log every call and play its faults."""
    check_target(target)

    def decorate(view: View[P]) -> View[P]:
        @functools.wraps(view)
        def entry_point(request: HttpRequest, *args: P.args, **kwargs: P.kwargs) -> HttpResponse:
            rule = _claim(target)
            # Written on arrival, so a request the client gave up on is counted at once.
            entry = SandboxRequest.objects.create(
                target=target,
                method=(request.method or "")[:16],
                path=request.get_full_path()[:500],
                fault=rule.mode if rule else "",
            )
            try:
                response, dropped = _answer(rule, view, request, *args, **kwargs)
            except BaseException:
                _finish(entry, 500)  # what Django answers for an exception in a view
                raise
            # Real servers date every answer; a client can tell its clock is off from it.
            response.setdefault("Date", http_date())
            if dropped is None:
                _finish(entry, response.status_code)
                return response
            _finish(entry, 0)  # before the client can notice, so a test can read it
            _drop(dropped)
            # Nobody will read this: writing it fails on the dropped connection, and the
            # server ignores a broken pipe.
            return response

        return entry_point

    return decorate


def _finish(entry: SandboxRequest, status: int) -> None:
    entry.status = status
    entry.save(update_fields=["status"])


def _answer(
    rule: FaultRule | None,
    view: View[P],
    request: HttpRequest,
    *args: P.args,
    **kwargs: P.kwargs,
) -> tuple[HttpResponse, socket.socket | None]:
    """The response, and the connection to drop instead of sending it (mode "reset")."""
    if rule is None:
        return view(request, *args, **kwargs), None
    if rule.delay_seconds:
        time.sleep(rule.delay_seconds)
    if rule.mode == FaultMode.STATUS:
        return _injected_status(rule), None
    if rule.mode == FaultMode.REDIRECT:
        redirect = HttpResponse(status=rule.status or DEFAULT_REDIRECT_STATUS)
        redirect["Location"] = rule.url
        return redirect, None
    response = view(request, *args, **kwargs)
    if rule.mode == FaultMode.MALFORMED:
        return _malformed(response), None
    if rule.mode == FaultMode.LINK:
        return _with_link(response, rule.url), None
    if rule.mode == FaultMode.RESET:
        connection = _client_connection()
        if connection is None:
            reason = (
                "fault 'reset' works under the development server and the test live server only"
            )
            return error(500, reason), None
        return response, connection
    return response, None  # "slow": the delay was the fault


def _injected_status(rule: FaultRule) -> HttpResponse:
    status = rule.status if rule.status is not None else 500  # add_rule requires a status
    if rule.target == Target.DIGITALSAMBA:
        # Digital Samba documents its 429 body and `retry-after` (facts.md §2.1).
        return digitalsamba_errors.injected(status, rule.retry_after)
    response = error(status, "injected fault")
    retry_after = rule.retry_after
    if retry_after is None and status == 429:
        retry_after = DEFAULT_RETRY_AFTER
    if retry_after is not None:
        response["Retry-After"] = str(retry_after)
    return response


def _malformed(response: HttpResponse) -> HttpResponse:
    """The real body cut after its first key, e.g. `{"sessionKey": `.

    Never valid JSON: the only colon left is the last character but a space, and a colon ends
    neither a JSON value nor a document.
    """
    head, colon, _ = response.content.partition(b":")
    body = head + colon + b" " if colon else b'{"'
    return HttpResponse(body, status=200, content_type="application/json")


def _with_link(response: HttpResponse, link: str) -> HttpResponse:
    """The answer with `link` in place of each link it carries; other answers as they are."""
    if response.get("Content-Type", "").startswith(("application/xml", "text/xml")):
        return _with_link_in_xml(response, link)
    try:
        data = json.loads(response.content)
    except ValueError:
        return response

    def swap(value: object, key: str = "") -> object:
        if isinstance(value, dict):
            return {k: swap(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [swap(v, key) for v in value]
        if isinstance(value, str) and (key.endswith("link") or key == "room_url"):
            return link
        if isinstance(value, str) and key == "invitationText":
            return _URL_IN_TEXT.sub(lambda _: link, value)
        return value

    swapped = HttpResponse(
        json.dumps(swap(data)), status=response.status_code, content_type="application/json"
    )
    return swapped


def _with_link_in_xml(response: HttpResponse, link: str) -> HttpResponse:
    """XML answers (OnSync's, Glance's Session Service): the text of every `<…link>` and
    `<…url>` element (parsing our own answer)."""
    root = ElementTree.fromstring(response.content)  # noqa: S314
    for element in root.iter():
        if element.tag.endswith(("link", "url")) and element.text:
            element.text = link
    return HttpResponse(
        ElementTree.tostring(root, encoding="utf-8", xml_declaration=True),
        status=response.status_code,
        content_type=response["Content-Type"],
    )


def _client_connection() -> socket.socket | None:
    """The socket of the client whose request this thread is answering, if it can be found.

    Works under the development server (`runserver`) and the test live server only: both are
    `socketserver` servers (wsgiref's, through django.core.servers.basehttp) that call the WSGI
    application synchronously in the thread of the request handler, so that handler is on this
    thread's stack, and `StreamRequestHandler.connection` is its client socket. Public APIs
    only: no reliance on how Django or wsgiref wrap `wsgi.input`. Under other servers (gunicorn,
    uWSGI, ASGI) and Django's test client there is no such handler and this returns None.
    """
    frame = inspect.currentframe()
    try:
        while frame is not None:
            handler = frame.f_locals.get("self")
            if isinstance(handler, socketserver.StreamRequestHandler):
                connection = handler.connection
                return connection if isinstance(connection, socket.socket) else None
            frame = frame.f_back
        return None
    finally:
        del frame  # frames on a local variable make reference cycles


def _drop(connection: socket.socket) -> None:
    """End the connection without a response: the client sees it closed or reset.

    `shutdown` (not `close`) acts at once even though the server's file objects still hold the
    socket; what the server then writes fails with a broken pipe, which wsgiref ignores, and its
    next read sees end of file, so it closes the connection as after any request.
    """
    # OSError: the client went away first; the connection is gone either way.
    with contextlib.suppress(OSError):
        connection.shutdown(socket.SHUT_RDWR)
