"""Phone numbers as people type them, normalised to E.164."""

import phonenumbers
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from invitations.errors import InvalidInput

PHONE_HELP = gettext_lazy(
    "Enter a mobile number with its country code, e.g. +44 7911 123456, or (415) 555-0134."
)


def normalise_phone(raw: str, *, default_region: str | None = None) -> str:
    """Return `raw` as E.164 (`+14155550134`), or raise InvalidInput saying what to fix."""
    text = raw.strip()
    if not text:
        raise InvalidInput(_("Enter the customer's mobile number."), field="destination")
    region = default_region or settings.PHONE_DEFAULT_REGION
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as err:
        raise InvalidInput(
            _("'%(text)s' is not a phone number. %(help)s") % {"text": text, "help": PHONE_HELP},
            field="destination",
        ) from err
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput(
            _("'%(text)s' is not a valid phone number. %(help)s")
            % {"text": text, "help": PHONE_HELP},
            field="destination",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def format_phone(e164: str) -> str:
    """Human-readable international form of a stored E.164 number."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# Numbers that cannot receive an SMS or that bill the sender: premium rate, shared cost,
# universal access, voicemail, pagers. Sending to them is how SMS pumping makes money.
BLOCKED_TYPES = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE: gettext_lazy("a premium-rate number"),
    phonenumbers.PhoneNumberType.SHARED_COST: gettext_lazy("a shared-cost number"),
    phonenumbers.PhoneNumberType.UAN: gettext_lazy("a universal access number"),
    phonenumbers.PhoneNumberType.VOICEMAIL: gettext_lazy("a voicemail number"),
    phonenumbers.PhoneNumberType.PAGER: gettext_lazy("a pager number"),
    phonenumbers.PhoneNumberType.TOLL_FREE: gettext_lazy("a toll-free number"),
}


# Country calling codes of networks that belong to no country: satellite phones (+870
# Inmarsat, +881 Iridium, Globalstar...), international networks (+882, +883), and the other
# codes phonenumbers knows as non-geographic (+800 freephone, +808 shared cost, +878, +888,
# +979 premium rate). Their SMS cost many times a country's, which is what SMS pumping
# earns from, and a customer rarely has one: a credential sends to them only when its allowed
# countries name the code itself (e.g. "+881"); an empty list does not let them through.
INTERNATIONAL_NETWORKS = tuple(
    f"+{code}" for code in sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
)


def is_sms_place(entry: str) -> bool:
    """An entry of a credential's allowed countries: an ISO country code or the calling code
    of an international network (INTERNATIONAL_NETWORKS)."""
    return (len(entry) == 2 and entry.isalpha()) or entry in INTERNATIONAL_NETWORKS


def check_sms_destination(e164: str, *, allowed_countries: list[str], mobile_only: bool) -> None:
    """Raise InvalidInput for numbers an SMS must not go to, where phonenumbers can tell.
    `allowed_countries` holds entries as `is_sms_place` takes them, upper-cased."""
    number = phonenumbers.parse(e164, None)
    number_type = phonenumbers.number_type(number)
    if number_type in BLOCKED_TYPES:
        raise InvalidInput(
            _("%(number)s is %(kind)s; invitations are not sent to such numbers.")
            % {"number": format_phone(e164), "kind": BLOCKED_TYPES[number_type]},
            field="destination",
        )
    if mobile_only and looks_like_landline(e164):
        raise InvalidInput(
            _(
                "%(number)s is a landline and cannot receive SMS. Ask for a mobile number, "
                "or send an e-mail."
            )
            % {"number": format_phone(e164)},
            field="destination",
        )
    region = phonenumbers.region_code_for_number(number) or "??"
    if region == phonenumbers.REGION_CODE_FOR_NON_GEO_ENTITY:
        network = f"+{number.country_code}"
        if network not in allowed_countries:
            raise InvalidInput(
                _(
                    "%(number)s is on a satellite or international network (%(network)s); "
                    "invitations go there only with a credential whose allowed countries "
                    "name %(network)s."
                )
                % {"number": format_phone(e164), "network": network},
                field="destination",
            )
        return
    if allowed_countries and region not in allowed_countries:
        raise InvalidInput(
            _(
                "SMS to %(region)s numbers are not allowed with this credential "
                "(allowed: %(allowed)s)."
            )
            % {"region": region, "allowed": ", ".join(allowed_countries)},
            field="destination",
        )


def looks_like_landline(e164: str) -> bool:
    """Whether phonenumbers knows the number as a fixed line: an SMS to it may not arrive.
    The same test `check_sms_destination` refuses with when a credential is mobile-only; a
    number that may be either (US and Canadian numbers) is not one."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.number_type(number) == phonenumbers.PhoneNumberType.FIXED_LINE
