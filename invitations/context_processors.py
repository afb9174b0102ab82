from django.http import HttpRequest


def site(request: HttpRequest) -> dict[str, str]:
    """The names the admin's base templates expect, for the agent pages too."""
    return {"site_header": "agentportal", "site_title": "agentportal"}
