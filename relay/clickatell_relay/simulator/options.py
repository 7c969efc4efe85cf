"""Send options: which names each API takes, their types and rough ranges.

JSON bodies are held to the JSON types the contract gives (an int flag is not
a boolean); XML elements and HTTP parameters arrive as text and are parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import Enum, auto
from typing import TYPE_CHECKING, Any, Final

from .codes import ApiError
from .state import utc_now
from .text import MAX_PARTS, is_hex

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


class Kind(Enum):
    """What a parameter holds."""

    FLAG = auto()  # 0/1 (REST, HTTP)
    BOOL = auto()  # true/false (Platform)
    INT = auto()
    NUMBER = auto()
    STRING = auto()
    HEX = auto()
    CLIENT_ID = auto()
    TIME = auto()
    SENDER = auto()


@dataclass(frozen=True)
class Spec:
    """A parameter: its kind, an inclusive range for INT, and the setting it drives."""

    kind: Kind
    low: int = 0
    high: int = 0
    role: str | None = None


@dataclass(kw_only=True)
class Settings:
    """What the options of one message mean to the simulator."""

    unicode: bool = False
    binary: bool = False
    max_parts: int | None = None
    client_message_id: str | None = None
    scheduled_for: datetime | None = None
    options: dict[str, Any] = field(default_factory=dict)


MAX_VALIDITY: Final = 7 * 24 * 60  # minutes
MAX_SCHEDULE_AHEAD: Final = timedelta(days=7)  # seed 001 section 2
MAX_FEATURES: Final = 0xFFFF

_FLAG = Spec(Kind.FLAG)
_VALIDITY = Spec(Kind.INT, 1, MAX_VALIDITY)

# Seed 001 section 8, under REST's names.
REST_OPTIONS: Final = {
    "from": Spec(Kind.SENDER),
    "clientMessageId": Spec(Kind.CLIENT_ID, role="client_message_id"),
    "scheduledDeliveryTime": Spec(Kind.TIME, role="scheduled_for"),
    "validityPeriod": _VALIDITY,
    "unicode": Spec(Kind.FLAG, role="unicode"),
    "binary": Spec(Kind.FLAG, role="binary"),
    "escalate": _FLAG,
    "mo": _FLAG,
    "bypassDNCCheck": _FLAG,
    "udh": Spec(Kind.HEX),
    "maxMessageParts": Spec(Kind.INT, 1, MAX_PARTS, role="max_parts"),
    "callback": Spec(Kind.INT, 0, 7),
    "userPriorityQueue": Spec(Kind.INT, 1, 3),
    "maxCredits": Spec(Kind.NUMBER),
    "type": Spec(Kind.STRING),
    "requiredFeatures": Spec(Kind.INT, 0, MAX_FEATURES),
}

# The archived HTTP API's names for the same features (the contract's list).
HTTP_OPTIONS: Final = {
    "from": Spec(Kind.SENDER),
    "climsgid": Spec(Kind.CLIENT_ID, role="client_message_id"),
    "scheduled_time": Spec(Kind.TIME, role="scheduled_for"),
    "validity": _VALIDITY,
    "unicode": Spec(Kind.FLAG, role="unicode"),
    "udh": Spec(Kind.HEX),
    "concat": Spec(Kind.INT, 1, MAX_PARTS, role="max_parts"),
    "msg_callback": Spec(Kind.INT, 0, 7),
    "queue": Spec(Kind.INT, 1, 3),
    "escalate": _FLAG,
    "max_credits": Spec(Kind.NUMBER),
    "msg_type": Spec(Kind.STRING),
    "mo": _FLAG,
    "req_feat": Spec(Kind.INT, 0, MAX_FEATURES),
    "bypass_dnc_check": _FLAG,
}

# One API per-message fields besides channel, to and content.
ONE_API_OPTIONS: Final = {
    "from": Spec(Kind.SENDER),
    "clientMessageId": Spec(Kind.CLIENT_ID, role="client_message_id"),
    "scheduledDeliveryTime": Spec(Kind.TIME, role="scheduled_for"),
    "validityPeriod": _VALIDITY,
    "binary": Spec(Kind.BOOL, role="binary"),
    "udh": Spec(Kind.HEX),
    "charset": Spec(Kind.STRING),
}

# Seed 003's /messages fields besides content and to.
MESSAGES_OPTIONS: Final = {
    **{name: spec for name, spec in ONE_API_OPTIONS.items() if name != "udh"},
    "userDataHeader": Spec(Kind.HEX),
}

_TIME = re.compile(
    r"(?P<stamp>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)"
    r"(?P<zone>Z|[+-]\d{2}:?\d{2})"
)
_ALPHA_SENDER: Final = 11
_NUMERIC_SENDER: Final = 15


def _flag(value: object, *, typed: bool) -> bool:
    if typed and isinstance(value, int) and not isinstance(value, bool) and value in (0, 1):
        return bool(value)
    if not typed and value in ("0", "1"):
        return value == "1"
    raise ApiError("101")


def _bool(value: object, *, typed: bool) -> bool:
    if typed and isinstance(value, bool):
        return value
    if not typed and isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise ApiError("101")


def _int(value: object, spec: Spec, *, typed: bool) -> int:
    if typed and isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif not typed and isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise ApiError("101")
    if not spec.low <= number <= spec.high:
        raise ApiError("101")
    return number


def _number(value: object, *, typed: bool) -> Decimal:
    if typed and isinstance(value, int | float) and not isinstance(value, bool):
        amount = Decimal(str(value))
    elif not typed and isinstance(value, str):
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise ApiError("101") from None
    else:
        raise ApiError("101")
    if not amount.is_finite() or amount <= 0:
        raise ApiError("101")
    return amount


def _string(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ApiError("101")
    return value


def parse_time(value: object, *, utc_only: bool) -> datetime:
    """An ISO 8601 time with a zone: Z or +0000 (REST, HTTP), any offset (Platform)."""
    if not isinstance(value, str) or not (match := _TIME.fullmatch(value)):
        raise ApiError("101")
    zone = match["zone"]
    if zone != "Z" and ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    if utc_only and zone not in ("Z", "+00:00", "-00:00"):
        raise ApiError("101")
    try:
        when = datetime.fromisoformat(match["stamp"] + ("+00:00" if zone == "Z" else zone))
    except ValueError:
        raise ApiError("101") from None
    if when > utc_now() + MAX_SCHEDULE_AHEAD:
        raise ApiError("101")
    return when


def _sender(value: object) -> str:
    """A sender: up to 15 digits, or up to 11 characters of an alphanumeric ID."""
    if not isinstance(value, str) or not value or not value.isprintable():
        raise ApiError("106")
    limit = _NUMERIC_SENDER if value.isascii() and value.isdigit() else _ALPHA_SENDER
    if len(value) > limit:
        raise ApiError("106")
    return value


def _hex(value: object) -> str:
    if not isinstance(value, str) or not value or not is_hex(value):
        raise ApiError("102")
    return value


def _client_id(value: object) -> str:
    text = _string(value)
    if any(char.isspace() for char in text):
        raise ApiError("120")
    return text


def read_value(spec: Spec, value: object, *, typed: bool, utc_only: bool) -> object:
    """One parameter's value, checked; ApiError with the seed's code if it is wrong."""
    readers: dict[Kind, Callable[[], object]] = {
        Kind.FLAG: lambda: _flag(value, typed=typed),
        Kind.BOOL: lambda: _bool(value, typed=typed),
        Kind.INT: lambda: _int(value, spec, typed=typed),
        Kind.NUMBER: lambda: _number(value, typed=typed),
        Kind.STRING: lambda: _string(value),
        Kind.HEX: lambda: _hex(value),
        Kind.CLIENT_ID: lambda: _client_id(value),
        Kind.TIME: lambda: parse_time(value, utc_only=utc_only),
        Kind.SENDER: lambda: _sender(value),
    }
    return readers[spec.kind]()


def read_options(
    received: Mapping[str, Any],
    specs: Mapping[str, Spec],
    *,
    typed: bool,
    utc_only: bool,
) -> Settings:
    """The settings behind the received options; an unknown name is code 101."""
    settings = Settings(options=dict(received))
    for name, raw in received.items():
        spec = specs.get(name)
        if spec is None:
            raise ApiError("101")
        value = read_value(spec, raw, typed=typed, utc_only=utc_only)
        if spec.role is not None:
            setattr(settings, spec.role, value)
    return settings
