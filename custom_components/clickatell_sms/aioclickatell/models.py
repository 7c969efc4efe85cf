"""Typed options and results of the Clickatell client."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, fields, replace
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any, Self, TypeAlias

from .const import (
    MAX_CREDITS_VALUES,
    MAX_MESSAGE_PARTS_LIMIT,
    MAX_SCHEDULE_DAYS,
    MAX_VALIDITY_MINUTES,
)
from .exceptions import ClickatellInvalidOptionError, ClickatellInvalidRequestError

_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}")
_NUMERIC_SENDER = re.compile(r"\+?\d{1,15}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_SPACE = re.compile(r"\s")  # what str.isspace calls a space


# The type each option takes; values come from code, YAML and JSON alike.
_OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "sender": str,
    "client_message_id": str,
    "scheduled_delivery_time": datetime,
    "validity_period": int,
    "unicode": bool,
    "charset": str,
    "binary": bool,
    "udh": str,
    "max_message_parts": int,
    "callback": int,
    "user_priority_queue": int,
    "escalate": bool,
    "max_credits": (int, float),
    "message_type": str,
    "mo": bool,
    "required_features": int,
    "bypass_dnc_check": bool,
}


def _type_problem(name: str, value: object) -> str | None:
    """Why a value does not fit its option, if it does not (True is no number here)."""
    kind = _OPTION_TYPES[name]
    if isinstance(value, bool) and kind is not bool:
        return "expected a number or text, not true/false"
    if not isinstance(value, kind):
        expected = "a time with a zone" if kind is datetime else getattr(kind, "__name__", "number")
        return f"expected {expected}, got {type(value).__name__}"
    if isinstance(value, float) and not math.isfinite(value):
        return "expected a finite number"
    return None


def _check(condition: bool, option: str, problem: str) -> None:
    if not condition:
        raise ClickatellInvalidOptionError(option, problem)


def _in_range(value: int | None, option: str, low: int, high: int) -> None:
    if value is not None:
        _check(
            not isinstance(value, bool) and low <= value <= high,
            option,
            f"must be {low} to {high}",
        )


@dataclass(frozen=True, kw_only=True)
class SendOptions:
    """The feature parameters of seed 001 section 8 and seed 003.

    Every option is None when not set, and then not sent: the account's
    defaults apply. The API's parameter names are given beside each field.
    """

    sender: str | None = None  # from
    client_message_id: str | None = None  # clientMessageId
    scheduled_delivery_time: datetime | None = None  # scheduledDeliveryTime
    validity_period: int | None = None  # validityPeriod, minutes
    unicode: bool | None = None  # unicode; None lets the client decide from the text
    charset: str | None = None  # charset (Platform)
    binary: bool | None = None  # binary; the text is then hex data
    udh: str | None = None  # udh / userDataHeader, hex
    max_message_parts: int | None = None  # maxMessageParts
    callback: int | None = None  # callback, 0-7
    user_priority_queue: int | None = None  # userPriorityQueue, 1-3
    escalate: bool | None = None  # escalate
    max_credits: float | None = None  # maxCredits
    message_type: str | None = None  # type
    mo: bool | None = None  # mo
    required_features: int | None = None  # requiredFeatures
    bypass_dnc_check: bool | None = None  # bypassDNCCheck

    def __post_init__(self) -> None:
        """Refuse values the API would refuse, naming the option."""
        for name, value in self.set_options().items():
            if (problem := _type_problem(name, value)) is not None:
                raise ClickatellInvalidOptionError(name, problem)
        if self.sender is not None:
            _check(
                bool(
                    _NUMERIC_SENDER.fullmatch(self.sender)
                    or _ALPHANUMERIC_SENDER.fullmatch(self.sender)
                ),
                "sender",
                "a number of up to 15 digits or up to 11 letters and digits",
            )
        if self.client_message_id is not None:
            _check(
                0 < len(self.client_message_id) <= 64  # noqa: PLR2004
                and _SPACE.search(self.client_message_id) is None,
                "client_message_id",
                "1 to 64 characters without spaces (code 120)",
            )
        if self.scheduled_delivery_time is not None:
            when = self.scheduled_delivery_time
            _check(when.tzinfo is not None, "scheduled_delivery_time", "needs a time zone")
            _check(
                when <= datetime.now(UTC) + timedelta(days=MAX_SCHEDULE_DAYS),
                "scheduled_delivery_time",
                f"at most {MAX_SCHEDULE_DAYS} days ahead",
            )
        _in_range(self.validity_period, "validity_period", 1, MAX_VALIDITY_MINUTES)
        _in_range(self.max_message_parts, "max_message_parts", 1, MAX_MESSAGE_PARTS_LIMIT)
        _in_range(self.callback, "callback", 0, 7)
        _in_range(self.user_priority_queue, "user_priority_queue", 1, 3)
        _in_range(self.required_features, "required_features", 0, 0xFFFF)
        if self.udh is not None:
            _check(bool(_HEX.fullmatch(self.udh)), "udh", "hexadecimal bytes")
        if self.max_credits is not None:
            _check(
                float(self.max_credits) in MAX_CREDITS_VALUES,
                "max_credits",
                "one of " + ", ".join(f"{value:g}" for value in sorted(MAX_CREDITS_VALUES)),
            )
        for name in ("charset", "message_type"):
            value = getattr(self, name)
            _check(value is None or bool(value.strip()), name, "must not be empty")

    def merged(self, overrides: SendOptions | None) -> SendOptions:
        """These options with every option set in `overrides` taking precedence."""
        if overrides is None:
            return self
        return replace(self, **overrides.set_options())

    def set_options(self) -> dict[str, Any]:
        """The options that are set, by field name."""
        # Once per request and more: the names are listed once, not asked of `fields`.
        return {name: value for name in _OPTION_NAMES if (value := getattr(self, name)) is not None}

    def to_json(self) -> dict[str, Any]:
        """The options that are set, as JSON can hold them (times in ISO 8601)."""
        return {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in self.set_options().items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build options from field names, as service calls, config files and JSON give them.

        A scheduled time may be an ISO 8601 text with a zone ("2026-01-01T08:00:00Z").
        """
        unknown = sorted(set(data).difference(_OPTION_NAMES))
        if unknown:
            raise ClickatellInvalidRequestError(f"Unknown option(s): {', '.join(unknown)}")
        values = dict(data)
        when = values.get("scheduled_delivery_time")
        if isinstance(when, str):
            try:
                values["scheduled_delivery_time"] = datetime.fromisoformat(when)
            except ValueError:
                raise ClickatellInvalidOptionError(
                    "scheduled_delivery_time", "expected an ISO 8601 time"
                ) from None
        return cls(**values)


_OPTION_NAMES = tuple(item.name for item in fields(SendOptions))


class Encoding(StrEnum):
    """How the text travels over the air."""

    GSM7 = "GSM-7"
    UCS2 = "UCS-2"
    BINARY = "8-bit"


@dataclass(frozen=True, kw_only=True)
class MessagePlan:
    """What the network will make of a text: encoding, size and parts."""

    text: str
    encoding: Encoding
    length: int  # septets (GSM-7), UTF-16 code units (UCS-2) or bytes (binary)
    parts: int
    truncated: bool = False


@dataclass(frozen=True, kw_only=True)
class MessageResult:
    """What the API said about one recipient."""

    to: str
    accepted: bool
    api_message_id: str | None = None
    error_code: str | None = None
    error_description: str | None = None


@dataclass(frozen=True, kw_only=True)
class SendResult:
    """Per-recipient results of a send, with the plan the text was sent under."""

    messages: tuple[MessageResult, ...]
    plan: MessagePlan
    requests: int
    client_message_id: str | None = None

    @property
    def accepted(self) -> tuple[MessageResult, ...]:
        """Recipients the API accepted."""
        return tuple(message for message in self.messages if message.accepted)

    @property
    def rejected(self) -> tuple[MessageResult, ...]:
        """Recipients the API refused, each with its error."""
        return tuple(message for message in self.messages if not message.accepted)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-friendly view, for service responses and the command line."""
        return {
            "messages": [asdict(message) for message in self.messages],
            "accepted": len(self.accepted),
            "rejected": len(self.rejected),
            "parts": self.plan.parts,
            "encoding": self.plan.encoding.value,
            "truncated": self.plan.truncated,
            "requests": self.requests,
            "client_message_id": self.client_message_id,
        }


@dataclass(frozen=True, kw_only=True)
class Balance:
    """Credits left on the account."""

    balance: float
    currency: str | None = None


@dataclass(frozen=True, kw_only=True)
class Coverage:
    """Whether a number can be reached, and the lowest charge of one part."""

    destination: str
    routable: bool
    minimum_charge: float | None = None


@dataclass(frozen=True, kw_only=True)
class StopResult:
    """Outcome of an attempt to stop a message."""

    api_message_id: str
    status: str
    description: str | None = None
    stopped: bool = field(init=False)

    def __post_init__(self) -> None:
        """Status 006 is "User cancelled message delivery"."""
        object.__setattr__(self, "stopped", self.status == "006")


class MessageStatus(StrEnum):
    """What became of a message, one name for the legacy codes and the One API's statuses.

    The API's own code and text stay beside it in `DeliveryStatus`; the mapping
    is in docs/api-contract.md and `statuses.py`.
    """

    UNKNOWN = "unknown"  # legacy 001, One API UNKNOWN: no such message, or not reported yet
    SCHEDULED = "scheduled"  # 011, SCHEDULED: waiting for its scheduled time
    QUEUED = "queued"  # 002, 008, QUEUED: accepted, not yet handed on
    DELIVERED_TO_GATEWAY = "delivered_to_gateway"  # 003, SENT_TO_SUPPLIER
    DELIVERED = "delivered"  # 004, DEVICE_ACK, READ: on the handset
    FAILED = "failed"  # 005, 007, 009, DELIVERY_FAILURE, ROUTING_ERROR, ...
    EXPIRED = "expired"  # 010, EXPIRED
    CANCELLED = "cancelled"  # 006, 013, STOPPED_BY_USER, STOPPED_BY_ADMIN
    OUT_OF_CREDIT = "out_of_credit"  # 012, INSUFFICIENT_ACCOUNT_BALANCE
    LIMIT_EXCEEDED = "limit_exceeded"  # 014, VOLUME_LIMIT*

    @property
    def final(self) -> bool:
        """Whether no later status will follow."""
        return self in _FINAL

    @property
    def failed(self) -> bool:
        """Whether the message ended without reaching the handset."""
        return self.final and self is not MessageStatus.DELIVERED


_FINAL = frozenset(
    {
        MessageStatus.DELIVERED,
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.CANCELLED,
        MessageStatus.OUT_OF_CREDIT,
        MessageStatus.LIMIT_EXCEEDED,
    }
)


@dataclass(frozen=True, kw_only=True)
class DeliveryStatus:
    """A message's status, from a status callback or a status query.

    `status_code` and `status_text` are the API's own ("004" and "Received by
    recipient"; "5" and "DEVICE_ACK"), filled from Clickatell's tables where
    the API gave only one of them (a One API status named without a number
    has no code). Fields an API does not send are None.
    """

    api_message_id: str
    status: MessageStatus
    status_code: str | None
    status_text: str
    client_message_id: str | None = None
    to: str | None = None
    sender: str | None = None  # from
    charge: float | None = None
    timestamp: datetime | None = None  # aware, UTC


@dataclass(frozen=True, kw_only=True)
class InboundMessage:
    """A message a handset sent to a two-way number (an MO message, a reply)."""

    message_id: str
    sender: str  # from: the handset
    to: str  # the two-way number
    text: str
    timestamp: datetime | None = None  # aware, UTC
    keyword: str | None = None
    related_message_id: str | None = None  # the message this replies to, where the API says
    charset: str | None = None  # as the API named it
    udh: str | None = None  # hex


# What a callback carries: a status (delivery receipt) or a reply.
CallbackEvent: TypeAlias = DeliveryStatus | InboundMessage
