"""`{{ url|safe_link:base_url }}`: the link, or None when it may not be shown as one
(invitations/security/links.py decides)."""

from django import template

from invitations.security import links

register = template.Library()


@register.filter
def safe_link(url: str, base_url: str) -> str | None:
    return links.safe_link(url or "", base_url=base_url or "")
