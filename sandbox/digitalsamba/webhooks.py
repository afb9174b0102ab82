"""Webhooks: `POST/GET /webhooks`, `GET/PATCH/DELETE /webhooks/{webhook}`, `GET /events`
(facts.md §2.6). Deliveries are in `sandbox.digitalsamba.delivery`."""

from typing import Any
from urllib.parse import urlsplit

from django.http import HttpRequest, HttpResponse, JsonResponse

from sandbox.digitalsamba.delivery import EVENTS
from sandbox.digitalsamba.wire import (
    Errors,
    NotFound,
    body,
    endpoint,
    iso_time,
    listing,
    page_of,
    text_field,
    uuid_or_none,
)
from sandbox.models import DigitalSambaWebhook


def _summary(hook: DigitalSambaWebhook) -> dict[str, Any]:
    """A list item: the documented example leaves out `events` (and the secret)."""
    return {
        "id": str(hook.pk),
        "endpoint": hook.endpoint,
        "name": hook.name or None,
        "created_at": iso_time(hook.created_at),
        "updated_at": iso_time(hook.updated_at),
    }


def _full(hook: DigitalSambaWebhook) -> dict[str, Any]:
    return {
        "id": str(hook.pk),
        "endpoint": hook.endpoint,
        "authorization_header": hook.authorization_header or None,
        "name": hook.name or None,
        "events": list(hook.events),
        "created_at": iso_time(hook.created_at),
        "updated_at": iso_time(hook.updated_at),
    }


def _find(webhook_id: str) -> DigitalSambaWebhook:
    pk = uuid_or_none(webhook_id)
    found = DigitalSambaWebhook.objects.filter(pk=pk).first() if pk else None
    if found is None:
        raise NotFound
    return found


@endpoint("GET", "POST")
def webhooks(request: HttpRequest) -> HttpResponse:
    """GET lists the team's webhooks; POST creates one (200 with the webhook)."""
    if request.method == "POST":
        return JsonResponse(_full(_save(DigitalSambaWebhook(), body(request), creating=True)))
    errors = Errors()
    page = page_of(request, errors)
    errors.raise_any()
    found = list(DigitalSambaWebhook.objects.order_by("created_at"))
    return listing(found, page, _summary, lambda hook: (str(hook.pk),))


@endpoint("GET", "PATCH", "DELETE")
def webhook(request: HttpRequest, webhook_id: str) -> HttpResponse:
    found = _find(webhook_id)
    if request.method == "DELETE":
        found.delete()
        return HttpResponse(status=204)
    if request.method == "PATCH":
        found = _save(found, body(request), creating=False)
    return JsonResponse(_full(found))


@endpoint("GET")
def events(request: HttpRequest) -> HttpResponse:
    return JsonResponse(list(EVENTS), safe=False)


def _save(
    hook: DigitalSambaWebhook, fields: dict[str, Any], *, creating: bool
) -> DigitalSambaWebhook:
    """Create (unsaved `hook`) or edit a webhook from a request's fields; raises Invalid."""
    errors = Errors()
    if "endpoint" in fields or creating:
        value = fields.get("endpoint")
        if value is None:
            errors.add("endpoint", "The :field field is required.")
        elif not isinstance(value, str) or not _is_web_url(value):
            errors.add("endpoint", "The :field field must be a valid URL.")
        elif not 3 <= len(value) <= 100:
            errors.add("endpoint", "The :field field must be between 3 and 100 characters.")
        else:
            hook.endpoint = value
    if "events" in fields or creating:
        value = fields.get("events")
        if value is None or value == []:
            errors.add("events", "The :field field is required.")
        elif not isinstance(value, list):
            errors.add("events", "The :field field must be an array.")
        else:
            unknown = [i for i, name in enumerate(value) if name not in EVENTS]
            for i in unknown:
                errors.add(f"events.{i}", "The selected :field is invalid.")
            if not unknown:
                hook.events = list(dict.fromkeys(value))
    if "name" in fields:
        hook.name = text_field(fields, "name", errors, shortest=3, longest=100) or ""
    if "authorization_header" in fields:
        hook.authorization_header = text_field(fields, "authorization_header", errors) or ""
    errors.raise_any()
    hook.save()
    return hook


def _is_web_url(value: str) -> bool:
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and value == value.strip()
