"""Plan a message before it is sent: encoding, length and number of parts.

GSM 03.38 text travels in 7-bit septets: 160 in one SMS, 153 per part once a
concatenation header is needed; characters of the extension table take two
septets and never straddle two parts. Anything else travels as UCS-2: 70 code
units in one SMS, 67 per part, surrogate pairs kept whole. Binary data is
counted in bytes: 140, or 134 per part.
"""

from __future__ import annotations

from .const import Overflow
from .exceptions import ClickatellInvalidRequestError
from .models import Encoding, MessagePlan

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# (units in a single message, units per part of a concatenated message)
_LIMITS = {
    Encoding.GSM7: (160, 153),
    Encoding.UCS2: (70, 67),
    Encoding.BINARY: (140, 134),
}
_ELLIPSIS = {Encoding.GSM7: "...", Encoding.UCS2: "…"}


def is_gsm7(text: str) -> bool:
    """True when every character of the text exists in the GSM 03.38 alphabet."""
    return all(char in GSM7_BASIC or char in GSM7_EXTENSION for char in text)


def _unit_costs(text: str, encoding: Encoding) -> list[int]:
    """Cost of each indivisible piece of the text, in the encoding's units."""
    if encoding is Encoding.GSM7:
        return [2 if char in GSM7_EXTENSION else 1 for char in text]
    if encoding is Encoding.UCS2:
        return [2 if ord(char) > 0xFFFF else 1 for char in text]  # noqa: PLR2004
    return [1] * (len(text) // 2)  # binary: one unit per byte of hex


def _count_parts(costs: list[int], encoding: Encoding) -> int:
    single, per_part = _LIMITS[encoding]
    if sum(costs) <= single:
        return 1
    parts, used = 1, 0
    for cost in costs:
        if used + cost > per_part:
            parts, used = parts + 1, 0
        used += cost
    return parts


def _encoding_for(text: str, *, unicode: bool | None, binary: bool) -> Encoding:
    if binary:
        try:
            bytes.fromhex(text)
        except ValueError:
            raise ClickatellInvalidRequestError(
                "Binary messages take their content as hexadecimal bytes"
            ) from None
        return Encoding.BINARY
    if unicode is None:
        return Encoding.GSM7 if is_gsm7(text) else Encoding.UCS2
    # An explicit choice wins; without unicode, the network shows "?" for
    # characters GSM-7 lacks, each still one septet.
    return Encoding.UCS2 if unicode else Encoding.GSM7


def plan_message(
    text: str,
    *,
    max_parts: int | None = None,
    overflow: Overflow = Overflow.REFUSE,
    unicode: bool | None = None,
    binary: bool = False,
) -> MessagePlan:
    """Work out how the text will travel; refuse or truncate it past `max_parts`."""
    if not text:
        raise ClickatellInvalidRequestError("The message text is empty")
    encoding = _encoding_for(text, unicode=unicode, binary=binary)
    costs = _unit_costs(text, encoding)
    parts = _count_parts(costs, encoding)
    if max_parts is None or parts <= max_parts:
        return MessagePlan(text=text, encoding=encoding, length=sum(costs), parts=parts)
    if overflow is Overflow.REFUSE or encoding is Encoding.BINARY:
        raise ClickatellInvalidRequestError(
            f"The message needs {parts} parts ({encoding.value}), "
            f"more than the maximum of {max_parts}"
        )
    return _truncate(text, encoding, max_parts)


def _truncate(text: str, encoding: Encoding, max_parts: int) -> MessagePlan:
    """The longest prefix that fits in `max_parts` parts, ellipsis included."""
    ellipsis = _ELLIPSIS[encoding]
    ellipsis_costs = _unit_costs(ellipsis, encoding)
    costs = _unit_costs(text, encoding)
    # Binary search on the prefix length: part counts grow with the prefix.
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if _count_parts(costs[:middle] + ellipsis_costs, encoding) <= max_parts:
            low = middle
        else:
            high = middle - 1
    truncated = text[:low].rstrip() + ellipsis
    final_costs = _unit_costs(truncated, encoding)
    return MessagePlan(
        text=truncated,
        encoding=encoding,
        length=sum(final_costs),
        parts=_count_parts(final_costs, encoding),
        truncated=True,
    )
