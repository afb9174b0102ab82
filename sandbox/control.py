"""Endpoints that steer and inspect the sandbox itself: fault rules and the request log.

These are not upstream APIs: no fault applies to them and they are not logged. They steer
what the portal is told and show what it sent, so they need a signed-in staff user (the
upstream APIs themselves stay open to the portal's HTTP client).
"""

from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox import faults
from sandbox.models import FaultRule, SandboxRequest
from sandbox.wire import Invalid, error, json_object, method_not_allowed

RULE_FIELDS = ("target", "mode", "status", "count", "retry_after", "delay_seconds", "url")
# The request log answers with this many of the newest requests at most.
LOG_LIMIT = 500


def _rule(rule: FaultRule) -> dict[str, Any]:
    return {
        "id": rule.pk,
        "target": rule.target,
        "mode": rule.mode,
        "status": rule.status,
        "retry_after": rule.retry_after,
        "delay_seconds": rule.delay_seconds,
        "url": rule.url,
        "remaining": rule.remaining,
        "created_at": rule.created_at.isoformat(),
    }


def _target_filter(request: HttpRequest) -> str | None:
    """The `?target=` of a request, or None when absent; raises BadFault when unknown."""
    if "target" not in request.GET:
        return None
    return faults.check_target(request.GET["target"])


@csrf_exempt
@staff_member_required
def fault_rules(request: HttpRequest) -> HttpResponse:
    """GET lists rules (`?target=` for one target), POST adds one, DELETE clears (`?target=`).

    POST body: {"target": "glance", "mode": "status", "status": 503, "count": 2,
    "retry_after": 1, "delay_seconds": 0, "url": ""}; only target and mode are required
    (and url for modes "redirect" and "link").
    """
    if request.method not in ("GET", "POST", "DELETE"):
        return method_not_allowed(["GET", "POST", "DELETE"])
    try:
        if request.method == "POST":
            return _add_rule(request)
        target = _target_filter(request)
    except (Invalid, faults.BadFault) as err:
        return error(400, str(err))
    if request.method == "DELETE":
        return JsonResponse({"deleted": faults.clear(target)})
    rules = FaultRule.objects.order_by("id")
    if target is not None:
        rules = rules.filter(target=target)
    return JsonResponse({"faults": [_rule(r) for r in rules]})


def _add_rule(request: HttpRequest) -> HttpResponse:
    body = json_object(request, require_json_type=False)
    unknown = sorted(set(body) - set(RULE_FIELDS))
    if unknown:
        raise Invalid(f"unknown field {unknown[0]}; fields are {', '.join(RULE_FIELDS)}")
    for required in ("target", "mode"):
        if required not in body:
            raise Invalid(f"{required} is required")
    rule = faults.add_rule(
        body["target"],
        body["mode"],
        body.get("status"),
        body.get("count"),
        body.get("retry_after"),
        body.get("delay_seconds", 0.0),
        body.get("url", ""),
    )
    return JsonResponse({"fault": _rule(rule)}, status=201)


@staff_member_required
def request_log(request: HttpRequest) -> HttpResponse:
    """GET ?format=json&target=glance: the newest logged upstream requests, newest last."""
    if request.method != "GET":
        return method_not_allowed(["GET"])
    if request.GET.get("format", "json") != "json":
        return error(400, "format must be json")
    try:
        target = _target_filter(request)
    except faults.BadFault as err:
        return error(400, str(err))
    entries = SandboxRequest.objects.order_by("-id")
    if target is not None:
        entries = entries.filter(target=target)
    newest = list(entries[:LOG_LIMIT])[::-1]
    return JsonResponse(
        {
            "requests": [
                {
                    "id": e.pk,
                    "target": e.target,
                    "method": e.method,
                    "path": e.path,
                    "status": e.status,
                    "fault": e.fault,
                    "created_at": e.created_at.isoformat(),
                }
                for e in newest
            ]
        }
    )
