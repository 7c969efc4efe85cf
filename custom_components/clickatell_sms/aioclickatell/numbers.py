"""Turn what people type as a phone number into what the API wants.

The API wants international format without "+" or leading zeros
("27831234567"). People type "+27 83 123 4567", "0027831234567" or, with a
default region, "083-123-4567". The `phonenumbers` library decides what is a
valid number; Clickatell's test ranges, which it does not know, are let through.
"""

from __future__ import annotations

import re

import phonenumbers

from .exceptions import ClickatellInvalidRecipientError

# Clickatell's test ranges (seed 001 section 1) are not real numbering plans.
_TEST_RANGE = re.compile(r"(?:27999|1999)\d{5,10}")
_SEPARATORS = re.compile(r"[\s\-./()]")


def _parse_valid(candidate: str, region: str | None) -> str | None:
    try:
        parsed = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    # E.164 keeps the leading zero some plans need (Italy's "+39 06 ...").
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)[1:]


def normalize_number(number: str, default_region: str | None = None) -> str:
    """Return the number as the API wants it, or raise naming the number."""
    compact = _SEPARATORS.sub("", number.strip())
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    digits = compact.removeprefix("+")
    if not digits.isdigit():
        raise ClickatellInvalidRecipientError([number])
    if _TEST_RANGE.fullmatch(digits):
        return digits
    region = default_region.upper() if default_region else None
    if compact.startswith("+"):
        candidates = [compact]
    elif region is None:
        candidates = ["+" + digits]  # the API's own form: international without "+"
    else:
        # With a default region, a number without "+" or "00" is first read as
        # national ("2015550123" in the US), then as international.
        candidates = [compact, "+" + digits]
    for candidate in candidates:
        if (normalized := _parse_valid(candidate, region)) is not None:
            return normalized
    raise ClickatellInvalidRecipientError([number])


def normalize_numbers(numbers: list[str], default_region: str | None = None) -> list[str]:
    """Normalize several numbers, dropping duplicates; raise naming every bad one."""
    normalized: dict[str, None] = {}
    invalid: list[str] = []
    for number in numbers:
        try:
            normalized[normalize_number(number, default_region)] = None
        except ClickatellInvalidRecipientError:
            invalid.append(number)
    if invalid:
        raise ClickatellInvalidRecipientError(invalid)
    return list(normalized)
