"""Part counting, checked on its own: GSM-7, UCS-2 and 8-bit boundaries."""

from __future__ import annotations

import pytest

from clickatell_relay.simulator.text import (
    Encoding,
    binary_parts,
    decode_ucs2_hex,
    gsm_parts,
    is_gsm,
    is_hex,
    parts_for,
    ucs2_parts,
)


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 159 + "€", 2),  # the euro takes two septets
        ("a" * 152 + "€" + "a" * 10, 2),  # not split: part one ends after 152 septets
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("{" * 152, 2),  # 76 escape pairs fill a part: 152 of 153 septets
        ("{" * 153, 3),
    ],
)
def test_gsm_parts(text: str, parts: int) -> None:
    assert gsm_parts(text) == parts


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 66 + "😀" + "ж" * 4, 2),  # the surrogate pair moves whole to part two
        ("😀" * 35, 1),
        ("ж" * 201, 3),
        ("ж" * 202, 4),
    ],
)
def test_ucs2_parts(text: str, parts: int) -> None:
    assert ucs2_parts(text) == parts


@pytest.mark.parametrize(("size", "parts"), [(140, 1), (141, 2), (268, 2), (269, 3)])
def test_binary_parts(size: int, parts: int) -> None:
    assert binary_parts(bytes(size)) == parts
    assert parts_for("00" * size, Encoding.BINARY) == parts


def test_gsm_alphabet() -> None:
    assert is_gsm("Hello @£$¥ {}[]~|€^\\ ÄÖÑÜ§¿äöñüà\n\r")
    assert not is_gsm("Привет")
    assert not is_gsm("`")
    assert not is_gsm("\x1b")


def test_hex() -> None:
    assert is_hex("0605040B8423F0")
    assert not is_hex("06 05")
    assert not is_hex("0G")
    assert not is_hex("060")
    assert decode_ucs2_hex("00480069") == "Hi"
    assert decode_ucs2_hex("D83DDE00") == "😀"
    for bad in ("", "0048006", "zz48", "004800\n69"):
        with pytest.raises(ValueError):  # noqa: PT011 - the only error it raises
            decode_ucs2_hex(bad)
