"""Phone numbers as people type them, normalised to E.164."""

import phonenumbers
from django.conf import settings

from invitations.errors import InvalidInput

PHONE_HELP = "Enter a mobile number with its country code, e.g. +44 7911 123456, or (415) 555-0134."


def normalise_phone(raw: str, *, default_region: str | None = None) -> str:
    """Return `raw` as E.164 (`+14155550134`), or raise InvalidInput saying what to fix."""
    text = raw.strip()
    if not text:
        raise InvalidInput("Enter the customer's mobile number.", field="destination")
    region = default_region or settings.PHONE_DEFAULT_REGION
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as err:
        raise InvalidInput(
            f"'{text}' is not a phone number. {PHONE_HELP}", field="destination"
        ) from err
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            f"'{text}' is not a valid phone number. {PHONE_HELP}", field="destination"
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Human-readable international form of a stored E.164 number."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
