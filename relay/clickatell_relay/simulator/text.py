"""Message encodings and how many parts a text takes, counted independently of the client."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

# GSM 03.38: the basic table (one septet each) and the extension table (two).
GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION: Final = frozenset("\f^{}\\[~]|€")

# (single-part capacity, per-part capacity when concatenated), in each unit.
GSM_CAPACITY: Final = (160, 153)  # septets
UCS2_CAPACITY: Final = (70, 67)  # UTF-16 code units
BINARY_CAPACITY: Final = (140, 134)  # bytes

_HEX: Final = re.compile(r"[0-9A-Fa-f]*")

# Longer messages are refused (113 / One API 24) whatever the request asks.
MAX_PARTS: Final = 35


class Encoding(StrEnum):
    """How a message travels."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"
    BINARY = "8-bit"


def is_gsm(text: str) -> bool:
    """Whether every character is in the GSM-7 tables."""
    return all(char in GSM_BASIC or char in GSM_EXTENSION for char in text)


def _pack(sizes: list[int], capacity: tuple[int, int]) -> int:
    """Parts for units of these sizes; a unit (escape pair, surrogate pair) is never split."""
    single, each = capacity
    if sum(sizes) <= single:
        return 1
    parts, used = 1, 0
    for size in sizes:
        if used + size > each:
            parts, used = parts + 1, 0
        used += size
    return parts


def gsm_parts(text: str) -> int:
    """Parts in GSM-7; the extension table takes two septets, anything unknown one ("?")."""
    return _pack([2 if char in GSM_EXTENSION else 1 for char in text], GSM_CAPACITY)


def ucs2_parts(text: str) -> int:
    """Parts in UCS-2 (UTF-16 code units: a character outside the BMP takes two)."""
    return _pack([2 if ord(char) > 0xFFFF else 1 for char in text], UCS2_CAPACITY)  # noqa: PLR2004


def binary_parts(data: bytes) -> int:
    """Parts for 8-bit data."""
    return _pack([1] * len(data), BINARY_CAPACITY)


def parts_for(text: str, encoding: Encoding) -> int:
    """Parts for a text in an encoding; binary text is hex."""
    if encoding is Encoding.BINARY:
        return binary_parts(bytes.fromhex(text))
    if encoding is Encoding.UCS2:
        return ucs2_parts(text)
    return gsm_parts(text)


def is_hex(value: str) -> bool:
    """Whether a string is hex digits, whole bytes of them."""
    return len(value) % 2 == 0 and _HEX.fullmatch(value) is not None


def decode_ucs2_hex(value: str) -> str:
    """HTTP `unicode=1` text: hex UTF-16BE ("00480069" is "Hi"); ValueError if it is not."""
    if not value or len(value) % 4 or not is_hex(value):
        raise ValueError("not hex UCS-2")
    return bytes.fromhex(value).decode("utf-16-be")
