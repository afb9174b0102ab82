"""Finding one person's number, address and name in free text (invitations.services.privacy)."""

import pytest

from invitations.services.mentions import ERASED, Mentions

ZOE = Mentions.of(destinations=["+447911123456", "Zoe.Q@example.com"], names=["Zoe Quartermaine"])


@pytest.mark.parametrize(
    "written",
    [
        "+447911123456",
        "447911123456",
        "00447911123456",
        "0044 7911 123456",
        "+44 7911 123456",
        "+44 (0)7911 123456",
        "+44-7911-123-456",
        "07911 123456",
        "07911123456",
        "7911123456",
        "7911.123.456",
        "%2B447911123456",
        "zoe.q@example.com",
        "ZOE.Q@EXAMPLE.COM",
        "zoe.q%40example.com",
        "Zoe Quartermaine",
        "zoe  QUARTERMAINE",
    ],
)
def test_every_usual_form_is_replaced(written):
    assert ZOE.scrub(f"Called {written}, no answer.") == f"Called {ERASED}, no answer."


@pytest.mark.parametrize(
    "other",
    [
        "+14155550134",
        "+447911123457",
        "bob.q@example.com",
        "xzoe.q@example.com",
        "Zoe Smith",
        "Quartermaine",
    ],
)
def test_other_people_stay(other):
    assert ZOE.scrub(f"Called {other}.") == f"Called {other}."


def test_names_only_where_asked():
    assert ZOE.scrub("Dear Zoe Quartermaine", with_names=False) == "Dear Zoe Quartermaine"


def test_short_national_numbers_only_with_their_country_code():
    niue = Mentions.of(destinations=["+6834002"])
    assert niue.scrub("+683 4002 / 6834002 / room 4002") == f"{ERASED} / {ERASED} / room 4002"
