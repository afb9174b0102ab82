import pytest

from invitations.errors import InvalidInput
from invitations.phone import format_phone, looks_like_landline, normalise_phone


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("(415) 555-0134", "+14155550134"),
        ("415.555.0134", "+14155550134"),
        ("  +1 415 555 0134 ", "+14155550134"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+44 (0)20 7946 0958", "+442079460958"),
        ("+49 151 23456789", "+4915123456789"),
    ],
)
def test_numbers_as_people_type_them_become_e164(typed, e164):
    assert normalise_phone(typed) == e164


def test_default_region_applies_to_national_numbers(settings):
    settings.PHONE_DEFAULT_REGION = "GB"
    assert normalise_phone("020 7946 0958") == "+442079460958"


@pytest.mark.parametrize("typed", ["", "   ", "12", "hello", "+1 123", "555-0134", "+999 1234567"])
def test_invalid_numbers_say_what_to_fix(typed):
    with pytest.raises(InvalidInput) as caught:
        normalise_phone(typed)
    assert caught.value.field == "destination"
    assert "number" in caught.value.message


def test_format_phone_is_readable():
    assert format_phone("+442079460958") == "+44 20 7946 0958"


@pytest.mark.parametrize(
    ("number", "landline"),
    [
        ("+442079460958", True),  # London fixed line
        ("+4930123456", True),  # Berlin
        ("+447911123456", False),  # UK mobile
        ("+14155550134", False),  # US: fixed line or mobile, phonenumbers cannot tell
    ],
)
def test_looks_like_landline(number, landline):
    assert looks_like_landline(number) is landline
