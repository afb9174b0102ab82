"""URLs of the JSON API, mounted at /api/v1/: the endpoints, the OpenAPI document generated
from them (/api/v1/openapi.json, for anyone: it holds no secret), the interactive docs
(/api/v1/docs, signed-in staff only) and a JSON 404 for anything else."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from functools import partial
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.urls import URLPattern, path, re_path
from django.utils.cache import add_never_cache_headers
from django.views.decorators.csrf import csrf_exempt
from ninja.openapi.views import openapi_view

from invitations.api.endpoints import api
from invitations.api.errors import ApiError, method_not_allowed

logger = logging.getLogger("invitations.api")

View = Callable[..., HttpResponse]


def answered(view: View) -> View:
    """What every API answer shares: a JSON 405 naming the allowed methods, `Cache-Control:
    no-store` (answers carry session keys and personal links, so no cache may keep any of
    them), and one log line with ids only (the path never holds a destination, and the query
    string is left out)."""

    @csrf_exempt
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = sorted(method.strip() for method in response["Allow"].split(","))
            response = method_not_allowed(request.method or "", allowed).response()
        add_never_cache_headers(response)
        user = getattr(request, "auth", None)
        logger.info(
            "api %s %s user=%s -> %s",
            request.method,
            request.path,
            user.pk if user is not None else "-",
            response.status_code,
        )
        return response

    return wrapper


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any other path under /api/v1/; also catches a missing trailing slash, which Django
    would otherwise answer with a redirect that loses a POST's body."""
    hint = "" if request.path.endswith("/") else " API paths end with a slash."
    response = ApiError(404, "not_found", f"No such API endpoint.{hint}").response()
    add_never_cache_headers(response)
    return response


def _endpoints() -> list[URLPattern]:
    patterns = []
    for pattern in api.urls[0]:
        if not isinstance(pattern, URLPattern):
            raise TypeError(f"Unexpected URL pattern in the API: {pattern!r}")
        callback = not_found if pattern.name == "api-root" else answered(pattern.callback)
        patterns.append(URLPattern(pattern.pattern, callback, pattern.default_args, pattern.name))
    return patterns


app_name = "api"

urlpatterns = [
    *_endpoints(),
    path("docs", staff_member_required(partial(openapi_view, api=api)), name="openapi-view"),
    # Last: a JSON 404 for anything else under /api/v1/ (not an endpoint, not documented).
    re_path(r"^(?P<path>.*)$", not_found, name="not-found"),
]
