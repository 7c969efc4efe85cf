"""Turn what people type as a phone number into what the API wants.

The API wants international format without "+" or leading zeros
("27831234567"). People type "+27 83 123 4567", "0027831234567" or, with a
default region, "083-123-4567". The `phonenumbers` library decides what is a
valid number; Clickatell's test ranges, which it does not know, are let through.

"+" or "00" makes a number international whatever the default region; with a
default region, a number without them is a national number of that region and
nothing else. The API's form loses the "+", so it reads differently under
another default region ("33612345678" is French without one, Italian with
IT): keep numbers as `e164` gives them, and normalize only for the API.
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
    # International with "+" (or "00"), and without a default region, where
    # digits are the API's own form ("27831234567"). With one, national and
    # only national: reading as international what is not a valid national
    # number would turn a typo into a stranger's number.
    candidate = "+" + digits if compact.startswith("+") or region is None else compact
    if (normalized := _parse_valid(candidate, region)) is not None:
        return normalized
    raise ClickatellInvalidRecipientError([number])


def e164(number: str, default_region: str | None = None) -> str:
    """The number in E.164 ("+27831234567"), or raise naming it.

    The form to keep a number in: it reads as the same number whatever the
    default region, where the API's form ("27831234567") does not.
    """
    return "+" + normalize_number(number, default_region)


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
