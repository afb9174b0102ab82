"""Checks on text people type that ends up in messages to customers."""

import unicodedata

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

# Control characters (line breaks, tabs, escape, NUL...) and the Unicode line and paragraph
# separators. In a name they can turn an e-mail subject into extra headers, and in any
# one-line value they make what the agent sees differ from what is stored and sent.
_NOT_ON_ONE_LINE = {"Cc", "Zl", "Zp"}

ONE_LINE_MESSAGE = gettext_lazy(
    "%(field)s must be on one line: remove line breaks, tabs and other control characters."
)


def is_one_line(value: str) -> bool:
    return not any(unicodedata.category(char) in _NOT_ON_ONE_LINE for char in value)


def validate_one_line(value: str) -> None:
    """Model field validator (the admin's forms); services check with `is_one_line`."""
    if not is_one_line(value):
        raise ValidationError(
            ONE_LINE_MESSAGE, code="not_one_line", params={"field": gettext_lazy("This value")}
        )
