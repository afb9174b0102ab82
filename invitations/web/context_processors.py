from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from invitations import selectors


def site(request: HttpRequest) -> dict[str, str]:
    """The names the admin's base templates expect, for the agent pages too."""
    return {"site_header": "agentportal", "site_title": "agentportal"}


def visibility(request: HttpRequest) -> dict[str, object]:
    """`visibility`: whose sessions the signed-in user sees (`selectors.visibility_of`), for
    templates that the view gives no context, such as the navigation. Worked out only when a
    template asks."""
    return {"visibility": SimpleLazyObject(lambda: selectors.visibility_of(request.user))}
