"""Session keys as an agent reads them aloud: `{{ key|key_groups }}` gives a numeric key's
groups of three digits (`419015` -> `["419", "015"]`), or nothing for any other key (a UUID
is shown as it is); `{{ key|spaced_key }}` the same as text, `419 015`."""

from django import template

register = template.Library()

# Longer digit strings are ids, not keys anybody reads aloud.
MAX_SPOKEN_DIGITS = 12


@register.filter
def key_groups(key: str) -> list[str]:
    key = key or ""
    if not (key.isascii() and key.isdigit() and len(key) <= MAX_SPOKEN_DIGITS):
        return []
    return [key[start : start + 3] for start in range(0, len(key), 3)]


@register.filter
def spaced_key(key: str) -> str:
    return " ".join(key_groups(key)) or (key or "")
