"""SMS segment counting: GSM-7 vs UCS-2, single vs multi-part boundaries."""

import pytest

from invitations.channels.sms.segments import count_segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("Grüße aus München, Ça va? ñ É ß", "GSM-7", 31, 1),  # all in the GSM alphabet
        ("€" * 80, "GSM-7", 160, 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("a" * 69 + "ł", "UCS-2", 70, 1),  # one Polish letter makes the whole SMS UCS-2
        ("a" * 70 + "ł", "UCS-2", 71, 2),
        ("ç" * 134, "UCS-2", 134, 2),  # lower-case ç is not GSM-7 (only Ç is)
        ("ç" * 135, "UCS-2", 135, 3),
        ("😀" * 35, "UCS-2", 70, 1),  # emoji are two UTF-16 units
        ("😀" * 36, "UCS-2", 72, 2),
    ],
)
def test_counts(text, encoding, units, segments):
    count = count_segments(text)
    assert (count.encoding, count.units, count.segments) == (encoding, units, segments)
    assert count.characters == len(text)
    assert count.is_multipart == (segments > 1)


def test_remaining_says_how_much_fits_before_the_next_segment():
    assert count_segments("a" * 150).remaining == 10
    assert count_segments("a" * 161).remaining == 2 * 153 - 161
    assert count_segments("ł" * 60).remaining == 10
