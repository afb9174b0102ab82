"""How many SMS segments a text needs: GSM-7 when every character is in the GSM 03.38
alphabet, otherwise UCS-2, which holds less than half as much per message."""

from __future__ import annotations

from dataclasses import dataclass

# GSM 03.38 basic character set (one septet each) and its extension table (two septets each:
# an escape, then the character).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# Units per message: alone, and per part of a multi-part message (the rest of each part
# carries the header that joins the parts back together).
LIMITS = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


@dataclass(frozen=True)
class SegmentCount:
    encoding: str  # "GSM-7" or "UCS-2"
    characters: int  # as the customer reads them
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    segments: int
    # Units that still fit before one more segment is needed.
    remaining: int

    @property
    def is_multipart(self) -> bool:
        return self.segments > 1


def count_segments(text: str) -> SegmentCount:
    if all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text):
        encoding = "GSM-7"
        units = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    else:
        encoding = "UCS-2"
        # Characters outside the Basic Multilingual Plane (most emoji) take two units.
        units = len(text.encode("utf-16-le")) // 2
    single, part = LIMITS[encoding]
    if units <= single:
        segments, capacity = (1 if units else 0), single
    else:
        segments = -(-units // part)  # ceiling division
        capacity = segments * part
    return SegmentCount(
        encoding=encoding,
        characters=len(text),
        units=units,
        segments=segments,
        remaining=capacity - units,
    )
