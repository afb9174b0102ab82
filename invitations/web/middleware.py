import zoneinfo
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from invitations.models import AgentProfile


class AgentTimeZoneMiddleware:
    """Shows dates in the signed-in agent's own time zone (AgentProfile.time_zone)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Loaded with the user (invitations.web.auth_backends.AgentModelBackend): no query
        # of its own.
        profile: AgentProfile | None = getattr(request.user, "agent_profile", None)
        name = profile.time_zone if profile is not None else ""
        if name:
            timezone.activate(zoneinfo.ZoneInfo(name))
        try:
            return self.get_response(request)
        finally:
            # The zone is per thread; the next request on this thread must not inherit it.
            timezone.deactivate()


class NoStoreWhenSignedInMiddleware:
    """Pages for a signed-in user carry session keys, customers' links and masked numbers:
    no browser or proxy cache may keep them (`Cache-Control: no-store`), so that nothing is
    left on a shared computer after logging out. Static files never get here."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.user.is_authenticated:
            add_never_cache_headers(response)
        return response
