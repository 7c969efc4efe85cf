"""Message planning: GSM-7 or UCS-2, and how many parts (property tests with hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aioclickatell import ClickatellInvalidRequestError, Encoding, Overflow, is_gsm7, plan_message
from aioclickatell.segments import GSM7_BASIC, GSM7_EXTENSION

BASIC = st.text(alphabet=sorted(GSM7_BASIC), min_size=1, max_size=2000)
GSM = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION), min_size=1, max_size=1000)
BMP_NON_GSM = st.characters(min_codepoint=0x0400, max_codepoint=0x04FF)  # Cyrillic
UCS2_TEXT = st.text(alphabet=BMP_NON_GSM, min_size=1, max_size=1000)


@pytest.mark.parametrize(
    ("text", "encoding", "parts"),
    [
        ("x" * 160, Encoding.GSM7, 1),
        ("x" * 161, Encoding.GSM7, 2),
        ("x" * 306, Encoding.GSM7, 2),
        ("x" * 307, Encoding.GSM7, 3),
        ("€" * 80, Encoding.GSM7, 1),  # 160 septets
        ("€" * 81, Encoding.GSM7, 2),
        ("ж" * 70, Encoding.UCS2, 1),
        ("ж" * 71, Encoding.UCS2, 2),
        ("ж" * 134, Encoding.UCS2, 2),
        ("ж" * 135, Encoding.UCS2, 3),
        ("😀" * 35, Encoding.UCS2, 1),  # surrogate pairs: 70 code units
        ("😀" * 36, Encoding.UCS2, 2),
    ],
)
def test_known_lengths(text: str, encoding: Encoding, parts: int) -> None:
    plan = plan_message(text)
    assert plan.encoding is encoding
    assert plan.parts == parts


def test_an_extension_character_never_straddles_two_parts() -> None:
    # 152 septets then "€" (2 septets): it moves whole into part two.
    plan = plan_message("x" * 152 + "€" + "x" * 152)
    assert plan.length == 306
    assert plan.parts == 3


def test_binary_counts_bytes() -> None:
    assert plan_message("00" * 140, binary=True).parts == 1
    assert plan_message("00" * 141, binary=True).parts == 2
    with pytest.raises(ClickatellInvalidRequestError, match="hexadecimal"):
        plan_message("not hex", binary=True)


def test_empty_text_is_refused() -> None:
    with pytest.raises(ClickatellInvalidRequestError, match="empty"):
        plan_message("")


def test_explicit_unicode_choice_wins() -> None:
    assert plan_message("plain", unicode=True).encoding is Encoding.UCS2
    assert plan_message("Привет", unicode=False).encoding is Encoding.GSM7


@given(BASIC)
def test_basic_gsm_text_parts(text: str) -> None:
    plan = plan_message(text)
    assert plan.encoding is Encoding.GSM7
    assert plan.length == len(text)
    assert plan.parts == (1 if len(text) <= 160 else math.ceil(len(text) / 153))


@given(UCS2_TEXT)
def test_bmp_unicode_text_parts(text: str) -> None:
    plan = plan_message(text)
    assert plan.encoding is Encoding.UCS2
    assert plan.parts == (1 if len(text) <= 70 else math.ceil(len(text) / 67))


@given(GSM)
def test_gsm_parts_fit_their_budget(text: str) -> None:
    plan = plan_message(text)
    septets = sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    assert plan.length == septets
    if septets <= 160:
        assert plan.parts == 1
    else:
        # Never fewer parts than the septets need, at most one more per escape pair.
        assert math.ceil(septets / 153) <= plan.parts <= math.ceil(septets / 152)


@given(st.text(min_size=1, max_size=600))
def test_detection_matches_the_alphabet(text: str) -> None:
    gsm = all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)
    assert is_gsm7(text) is gsm
    assert (plan_message(text).encoding is Encoding.GSM7) is gsm


@given(st.text(min_size=1, max_size=1500), st.integers(min_value=1, max_value=6))
def test_truncation_fits_and_keeps_a_prefix(text: str, max_parts: int) -> None:
    plan = plan_message(text, max_parts=max_parts, overflow=Overflow.TRUNCATE)
    assert plan.parts <= max_parts
    if plan.truncated:
        ellipsis = "..." if plan.encoding is Encoding.GSM7 else "…"
        assert plan.text.endswith(ellipsis)
        assert text.startswith(plan.text.removesuffix(ellipsis))
    else:
        assert plan.text == text


@given(st.text(min_size=1, max_size=1500), st.integers(min_value=1, max_value=6))
def test_refusal_happens_exactly_when_too_long(text: str, max_parts: int) -> None:
    needed = plan_message(text).parts
    if needed <= max_parts:
        assert plan_message(text, max_parts=max_parts).parts == needed
    else:
        with pytest.raises(ClickatellInvalidRequestError, match=f"needs {needed} parts"):
            plan_message(text, max_parts=max_parts)
