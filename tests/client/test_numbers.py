"""Recipient normalisation with phonenumbers (and Clickatell's test ranges)."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioclickatell import ClickatellInvalidRecipientError, e164, normalize_number, normalize_numbers


@pytest.mark.parametrize(
    ("number", "region", "expected"),
    [
        ("+27 83 123 4567", None, "27831234567"),
        ("0027831234567", None, "27831234567"),
        ("27831234567", None, "27831234567"),
        ("083-123-4567", "ZA", "27831234567"),
        ("(650) 253-0000", "US", "16502530000"),
        ("+1 650.253.0000", None, "16502530000"),
        ("07911 123456", "GB", "447911123456"),
        ("+39 06 6982 0000", None, "390669820000"),  # Italy keeps its leading zero
        ("2799900001", None, "2799900001"),  # Clickatell test range
        ("1999 555 0100", None, "19995550100"),
        ("+27 999 123 456", None, "27999123456"),
    ],
)
def test_accepted_forms(number: str, region: str | None, expected: str) -> None:
    assert normalize_number(number, region) == expected


@pytest.mark.parametrize(
    ("number", "region"),
    [
        ("", None),
        ("12", None),
        ("abc", None),
        ("0831234567", None),
        ("+27 83", "ZA"),
        ("++27831234567", None),
    ],
)
def test_refused_forms_name_the_number(number: str, region: str | None) -> None:
    with pytest.raises(ClickatellInvalidRecipientError) as caught:
        normalize_number(number, region)
    assert caught.value.numbers == [number]
    assert repr(number) in str(caught.value)


def test_several_bad_numbers_are_all_named() -> None:
    with pytest.raises(ClickatellInvalidRecipientError) as caught:
        normalize_numbers(["27831234567", "x", "12"])
    assert caught.value.numbers == ["x", "12"]
    assert "are not valid phone numbers" in str(caught.value)


REGIONS = ["ZA", "US", "GB", "DE", "FR", "NL", "AU", "IN", "BR"]


@st.composite
def example_numbers(draw: st.DrawFn) -> tuple[str, str]:
    region = draw(st.sampled_from(REGIONS))
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    assert example is not None
    return region, phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


@given(example_numbers(), st.sampled_from(["", " ", "-", "."]))
def test_formatting_does_not_change_the_result(item: tuple[str, str], separator: str) -> None:
    region, e164 = item
    expected = e164[1:]
    spaced = separator.join([e164[:3], e164[3:6], e164[6:]])
    assert normalize_number(spaced) == expected
    assert normalize_number("00" + e164[1:]) == expected
    national = phonenumbers.format_number(
        phonenumbers.parse(e164), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    assert normalize_number(national, region) == expected


@given(example_numbers())
def test_normalizing_is_idempotent(item: tuple[str, str]) -> None:
    once = normalize_number(item[1])
    assert normalize_number(once) == once


@given(st.text(max_size=30))
def test_any_text_is_a_number_or_a_named_refusal(text: str) -> None:
    try:
        result = normalize_number(text)
    except ClickatellInvalidRecipientError as error:
        assert error.numbers == [text]
    else:
        assert result.isdigit()
        assert not result.startswith("0")


def _examples() -> list[tuple[str, str]]:
    """(region, E.164) of every example number phonenumbers has, of every region and type."""
    examples: dict[str, str] = {}
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in phonenumbers.PhoneNumberType.values():
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None and phonenumbers.is_valid_number(example):
                formatted = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
                examples.setdefault(formatted, region)
    return [(region, number) for number, region in examples.items()]


EXAMPLES = _examples()
REGIONS_AND_NONE = [None, *sorted(phonenumbers.SUPPORTED_REGIONS)]


@given(st.sampled_from(EXAMPLES), st.sampled_from(REGIONS_AND_NONE))
def test_plus_or_00_is_international_whatever_the_default_region(
    example: tuple[str, str], default_region: str | None
) -> None:
    _, number = example
    international = phonenumbers.format_number(
        phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    for typed in (number, "00" + number[1:], international):
        assert normalize_number(typed, default_region) == number[1:]


@given(
    st.sampled_from(EXAMPLES), st.sampled_from(REGIONS_AND_NONE), st.sampled_from(REGIONS_AND_NONE)
)
def test_e164_reads_the_same_under_any_default_region(
    example: tuple[str, str], first: str | None, second: str | None
) -> None:
    """What `e164` gives, read again under another default region, is the same number.

    The API's form is not: "33612345678", French, is Italian read with IT.
    """
    region, number = example
    national = phonenumbers.format_number(
        phonenumbers.parse(number), phonenumbers.PhoneNumberFormat.NATIONAL
    )
    kept = e164(national, region) if first is None else e164(number, first)
    assert kept == number
    assert normalize_number(kept, second) == number[1:]
    assert e164(kept, second) == kept


@pytest.mark.parametrize(
    ("number", "region"),
    [
        ("4915112345678", "FR"),
        ("447911123456", "US"),
        ("33612345678", "GB"),
    ],
)
def test_with_a_default_region_a_number_without_plus_or_00_is_only_national(
    number: str, region: str
) -> None:
    """Valid only as international: refused rather than guessed (a typo could be anyone's)."""
    assert normalize_number(number) == number
    with pytest.raises(ClickatellInvalidRecipientError):
        normalize_number(number, region)
