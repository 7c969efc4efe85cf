"""Clickatell's message statuses onto one enum: the legacy codes 001-014 and the One API's.

Legacy codes are Clickatell's message status table (the REST and HTTP APIs,
their callbacks and queries); the One API's are its "Message Status Table"
(code and name). The Platform's /messages callbacks name legacy statuses in
capitals ("RECEIVED_BY_RECIPIENT"). docs/api-contract.md records the sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from .models import MessageStatus

_S = MessageStatus

# code -> (Clickatell's short description, status)
LEGACY: Final[dict[str, tuple[str, MessageStatus]]] = {
    "001": ("Message unknown", _S.UNKNOWN),
    "002": ("Message queued", _S.QUEUED),
    "003": ("Delivered to gateway", _S.DELIVERED_TO_GATEWAY),
    "004": ("Received by recipient", _S.DELIVERED),
    "005": ("Error with message", _S.FAILED),
    "006": ("User cancelled message delivery", _S.CANCELLED),
    "007": ("Error delivering message", _S.FAILED),
    "008": ("OK", _S.QUEUED),  # "Message received by gateway"
    "009": ("Routing error", _S.FAILED),
    "010": ("Message expired", _S.EXPIRED),
    "011": ("Message queued for later delivery", _S.SCHEDULED),
    "012": ("Out of credit", _S.OUT_OF_CREDIT),
    "013": ("Clickatell cancelled message delivery", _S.CANCELLED),
    "014": ("Maximum MT limit exceeded", _S.LIMIT_EXCEEDED),
}

# name -> (code, status); a name whose code the table does not give has None.
ONE_API: Final[dict[str, tuple[int | None, MessageStatus]]] = {
    "UNKNOWN": (1, _S.UNKNOWN),
    "QUEUED": (2, _S.QUEUED),
    "SCHEDULED": (3, _S.SCHEDULED),
    "SENT_TO_SUPPLIER": (4, _S.DELIVERED_TO_GATEWAY),
    "DEVICE_ACK": (5, _S.DELIVERED),
    "READ": (6, _S.DELIVERED),
    "EXPIRED": (20, _S.EXPIRED),
    "STOPPED_BY_USER": (21, _S.CANCELLED),
    "STOPPED_BY_ADMIN": (22, _S.CANCELLED),
    "DELIVERY_FAILURE": (23, _S.FAILED),
    "EMULATED": (24, _S.DELIVERED),  # the platform played the delivery out; no error
    "INSUFFICIENT_ACCOUNT_BALANCE": (25, _S.OUT_OF_CREDIT),
    "VOLUME_LIMIT": (26, _S.LIMIT_EXCEEDED),
    "VOLUME_LIMIT_DAILY": (27, _S.LIMIT_EXCEEDED),
    "VOLUME_LIMIT_MONTHLY": (28, _S.LIMIT_EXCEEDED),
    "RECIPIENT_DOES_NOT_EXIST": (29, _S.FAILED),
    "ENCRYPTION_ACCESS_DENIED": (60, _S.FAILED),
    "ENCRYPTION_CONTENT_ERROR": (61, _S.FAILED),
    "MEDIA_NOT_FOUND": (80, _S.FAILED),
    "MEDIA_SIZE_ERROR": (81, _S.FAILED),
    "MEDIA_CHECKSUM_FAILURE": (82, _S.FAILED),
    "MEDIA_REJECTED_BY_SUPPLIER": (83, _S.FAILED),
    "MEDIA_METADATA_ERROR": (84, _S.FAILED),
    "MEDIA_ACCESS_ERROR": (85, _S.FAILED),
    "ROUTING_ERROR": (100, _S.FAILED),
    "WHATSAPP_ACCOUNT_PAYMENT_ISSUE": (130, _S.FAILED),
    "WHATSAPP_RE_ENGAGEMENT_REQUIRED": (131, _S.FAILED),
    "WHATSAPP_SPAM_RATE_LIMIT_REACHED": (132, _S.FAILED),
    "WHATSAPP_SERVER_RATE_LIMIT": (133, _S.FAILED),
    "WHATSAPP_HSM_NOT_AVAILABLE": (134, _S.FAILED),
    "WHATSAPP_EXPERIMENTAL_NUMBER": (139, _S.FAILED),
    "WHATSAPP_TEMPLATE_TEXT_TOO_LONG": (140, _S.FAILED),
    "WHATSAPP_TEMPLATE_FORMAT_MISMATCH": (141, _S.FAILED),
    # Named by the One API's status query schema without a code.
    "STOP_MARKETING_MESSAGES": (None, _S.FAILED),
    "EXCESSIVE_MESSAGES_TO_RECIPIENT": (None, _S.FAILED),
    "ENCRYPTION_VALIDATION_ERROR": (None, _S.FAILED),
    "ANONYMOUS_USER_ID_INVALID": (None, _S.FAILED),
    "ANONYMOUS_USER_ID_ERROR": (None, _S.FAILED),
    "MEDIA_TYPE_NOT_SUPPORTED": (None, _S.FAILED),
}
_ONE_API_BY_CODE: Final = {code: name for name, (code, _) in ONE_API.items() if code is not None}


def legacy_name(description: str) -> str:
    """A legacy status in capitals, as the Platform's /messages names it: RECEIVED_BY_RECIPIENT."""
    return re.sub(r"\W+", "_", description).strip("_").upper()


_LEGACY_BY_NAME: Final = {legacy_name(text): code for code, (text, _) in LEGACY.items()}


@dataclass(frozen=True, kw_only=True)
class Resolved:
    """A status as our enum, with the API's code and text."""

    status: MessageStatus
    code: str | None
    text: str


def _code_text(code: object) -> str | None:
    """A code as digits, from 4, "4" or "004"; None if it is not one."""
    if isinstance(code, bool) or not isinstance(code, int | str):
        return None
    text = str(code).strip()
    return text if text.isascii() and text.isdigit() and len(text) <= 4 else None  # noqa: PLR2004


def legacy(code: object, description: str | None = None) -> Resolved | None:
    """A legacy status code ("004", 4), with the API's description if it gave one."""
    digits = _code_text(code)
    if digits is None or (key := digits.zfill(3)) not in LEGACY:
        return None
    text, status = LEGACY[key]
    return Resolved(status=status, code=key, text=description or text)


def one_api(code: object = None, name: object = None) -> Resolved | None:
    """A One API status by name, or by code where the name is missing or unknown."""
    if isinstance(name, str) and name in ONE_API:
        number, status = ONE_API[name]
        given = _code_text(code)
        shown = given if given is not None else (None if number is None else str(number))
        return Resolved(status=status, code=shown, text=name)
    digits = _code_text(code)
    if digits is not None and (found := _ONE_API_BY_CODE.get(int(digits))) is not None:
        return Resolved(status=ONE_API[found][1], code=digits, text=found)
    return None


def platform(
    code: object = None, name: object = None, description: str | None = None
) -> Resolved | None:
    """A status in a /messages callback: a legacy or One API name, else a legacy code."""
    if isinstance(name, str) and name in _LEGACY_BY_NAME:
        return legacy(_LEGACY_BY_NAME[name], description or name)
    if isinstance(name, str) and name in ONE_API:
        return one_api(code, name)
    return legacy(code, description)
