"""What the simulator remembers: the account, the requests, the messages, the faults."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from yarl import URL

if TYPE_CHECKING:
    from collections.abc import Callable

FLAVOURS: Final = frozenset({"rest", "platform", "http"})
CENT: Final = Decimal("0.01")

# Message statuses, Clickatell's legacy numbering (three-digit strings); the
# Platform's callbacks and queries name them its own way (callbacks.py).
STATUS_UNKNOWN: Final = "001"
STATUS_QUEUED: Final = "002"
STATUS_AT_GATEWAY: Final = "003"
STATUS_DELIVERED: Final = "004"
STATUS_CANCELLED: Final = "006"
STATUS_SCHEDULED: Final = "011"
STATUS_DESCRIPTIONS: Final = {
    "001": "Message unknown",
    "002": "Message queued",
    "003": "Delivered to gateway",
    "004": "Received by recipient",
    "005": "Error with message",
    "006": "User cancelled message delivery",
    "007": "Error delivering message",
    "008": "OK",
    "009": "Routing error",
    "010": "Message expired",
    "011": "Message queued for later delivery",
    "012": "Out of credit",
    "013": "Clickatell cancelled message delivery",
    "014": "Maximum MT limit exceeded",
}
# What a stop can still catch: messages that have not reached a gateway (seed 001 section 4).
STOPPABLE: Final = frozenset({STATUS_QUEUED, STATUS_SCHEDULED})


def money(amount: Decimal) -> str:
    """An amount as the APIs show it: two decimals ("300.50")."""
    return str(amount.quantize(CENT, rounding=ROUND_HALF_UP))


def utc_now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def milliseconds(when: datetime) -> int:
    """A time as the Platform gives it: Unix milliseconds."""
    return round(when.timestamp() * 1000)


@dataclass(kw_only=True)
class Account:
    """The one account the simulator serves; mutable while it runs."""

    api_key: str = "simulator-api-key"
    username: str = "simulator"
    password: str = "simulator-password"  # noqa: S105 - a test account's fixed password
    api_id: str = "1"
    balance: Decimal = Decimal(100)
    currency: str = "USD"
    ip_lockdown: bool = False
    # Portal settings: where status callbacks and replies (MO) go, and how.
    # A URL may hold user:password@ for basic authentication.
    callback_url: str | None = None
    callback_method: str = "post"  # legacy APIs: get, post, xml or json
    mo_url: str | None = None
    mo_format: str = "one_api"  # get or post (legacy), one_api or messages (Platform)

    def to_json(self) -> dict[str, Any]:
        """The account for the control API; the balance exact, URL passwords hidden."""
        return {
            "api_key": self.api_key,
            "username": self.username,
            "password": self.password,
            "api_id": self.api_id,
            "balance": str(self.balance),
            "currency": self.currency,
            "ip_lockdown": self.ip_lockdown,
            "callback_url": shown_url(self.callback_url),
            "callback_method": self.callback_method,
            "mo_url": shown_url(self.mo_url),
            "mo_format": self.mo_format,
        }


def shown_url(url: str | None) -> str | None:
    """A URL as it may be shown: its password, if any, replaced by ***."""
    if url is None:
        return None
    parsed = URL(url)
    return str(parsed.with_password("***")) if parsed.password else url


@dataclass(kw_only=True)
class Timings:
    """How fast messages move and how callbacks are retried, in seconds.

    Clickatell retries a status callback 8 times (after 2, 4, 8, 16, 32, 64
    and 128 minutes, then 3 days) and a reply 5 times (2, 4, 8, 16, 25
    minutes); the defaults keep the counts and read the minutes as seconds.
    """

    gateway_delay: float = 0.0  # queued -> delivered to gateway (or an early failure)
    delivery_delay: float = 0.0  # delivered to gateway -> received (or a late failure)
    callback_retry_delays: tuple[float, ...] = (2, 4, 8, 16, 32, 64, 128, 4320)
    mo_retry_delays: tuple[float, ...] = (2, 4, 8, 16, 25)
    callback_timeout: float = 10.0

    def to_json(self) -> dict[str, Any]:
        """The timings for the control API."""
        return {
            "gateway_delay": self.gateway_delay,
            "delivery_delay": self.delivery_delay,
            "callback_retry_delays": list(self.callback_retry_delays),
            "mo_retry_delays": list(self.mo_retry_delays),
            "callback_timeout": self.callback_timeout,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class RecordedRequest:
    """One API request as received, with the status it was answered with.

    `headers` keeps the names as aiohttp's parser gives them: as sent, except
    well-known names (Authorization, Content-Type ...), which it spells
    canonically; `header()` looks a name up in any case. A repeated header is
    joined with ", ". `status` is 0 for a request whose connection was dropped
    without an answer.
    """

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    status: int
    flavour: str | None
    time: datetime

    def header(self, name: str) -> str | None:
        """A header's value, whatever the case of its name."""
        wanted = name.lower()
        return next((value for key, value in self.headers.items() if key.lower() == wanted), None)

    def to_json(self) -> dict[str, Any]:
        """The request for the control API."""
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "body": self.body,
            "status": self.status,
            "flavour": self.flavour,
            "time": self.time.isoformat(),
        }


@dataclass(kw_only=True, slots=True)
class Message:
    """One accepted message (one recipient of a request).

    `timeline` is its planned life, (time, status) in order; `status` is the
    last step whose time has come (`refresh`). `reported` counts the steps
    the callbacks have seen.
    """

    api_message_id: str
    to: str
    text: str
    flavour: str
    parts: int
    encoding: str
    charge: Decimal
    client_message_id: str | None
    scheduled_for: datetime | None
    status: str
    options: dict[str, Any]
    received_at: datetime = field(default_factory=utc_now)
    endpoint: str = ""  # rest, http, v1 or messages: how it came, so how it is reported
    request_id: str = ""
    timeline: list[tuple[datetime, str]] = field(default_factory=list)
    reported: int = 0

    def refresh(self, now: datetime) -> None:
        """Move the status to the last step of the timeline that has come."""
        for when, status in self.timeline:
            if when > now:
                break
            self.status = status

    def cancel(self, now: datetime) -> None:
        """Stopped now: the steps to come are dropped for 006."""
        self.timeline = [step for step in self.timeline if step[0] <= now]
        self.timeline.append((now, STATUS_CANCELLED))
        self.status = STATUS_CANCELLED

    @property
    def sender(self) -> str:
        """The `from` the message was sent with, or ""."""
        return str(self.options.get("from") or "")

    def to_json(self) -> dict[str, Any]:
        """The message for the control API; the charge exact, as a string."""
        return {
            "api_message_id": self.api_message_id,
            "to": self.to,
            "text": self.text,
            "flavour": self.flavour,
            "endpoint": self.endpoint,
            "parts": self.parts,
            "encoding": self.encoding,
            "charge": str(self.charge),
            "client_message_id": self.client_message_id,
            "scheduled_for": None if self.scheduled_for is None else self.scheduled_for.isoformat(),
            "status": self.status,
            "timeline": [[when.isoformat(), status] for when, status in self.timeline],
            "options": self.options,
            "received_at": self.received_at.isoformat(),
        }


class FaultKind(StrEnum):
    """What an injected fault does to an API request."""

    UNAVAILABLE = "unavailable"  # 503, code 901 / One API 19
    RATE_LIMITED = "rate_limited"  # 429 with Retry-After
    SLOW = "slow"  # sleep `delay`, then answer normally
    DROP = "drop"  # close the connection without an answer
    GARBAGE = "garbage"  # 200, random bytes as application/json
    HTML = "html"  # 200, text/html maintenance page
    ERROR_200 = "error_200"  # 200, a JSON error body


@dataclass(kw_only=True)
class Fault:
    """An injected fault; `remaining` None means until cleared."""

    kind: FaultKind
    remaining: int | None = None
    delay: float = 0.0
    retry_after: float = 1.0
    flavours: frozenset[str] | None = None

    def matches(self, flavour: str | None) -> bool:
        """Whether this fault applies to a request of that flavour."""
        if self.remaining is not None and self.remaining <= 0:
            return False
        return self.flavours is None or flavour in self.flavours

    def to_json(self) -> dict[str, Any]:
        """The fault for the control API."""
        return {
            "kind": self.kind.value,
            "count": self.remaining,
            "delay": self.delay,
            "retry_after": self.retry_after,
            "flavours": None if self.flavours is None else sorted(self.flavours),
        }


def make_fault(
    kind: object,
    count: object = None,
    delay: object = 0.0,
    retry_after: object = 1.0,
    flavours: object = None,
) -> Fault:
    """A fault from `inject`'s arguments, checked at run time (they may come as JSON).

    ValueError names a bad argument.
    """
    try:
        fault_kind = FaultKind(str(kind))
    except ValueError:
        known = ", ".join(item.value for item in FaultKind)
        raise ValueError(f"unknown fault kind {kind!r}; known: {known}") from None
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError("count must be a positive integer or None")
    seconds = [
        _seconds(name, value) for name, value in (("delay", delay), ("retry_after", retry_after))
    ]
    return Fault(
        kind=fault_kind,
        remaining=count,
        delay=seconds[0],
        retry_after=seconds[1],
        flavours=_flavours(flavours),
    )


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ValueError(f"{name} must be a number of seconds, not negative")
    return float(value)


def _flavours(flavours: object) -> frozenset[str] | None:
    if flavours is None:
        return None
    if isinstance(flavours, str):
        flavours = [flavours]
    if not isinstance(flavours, list | tuple | set | frozenset):
        raise TypeError("flavours must be a list of flavour names or None")
    chosen = frozenset(str(flavour) for flavour in flavours)
    if unknown := chosen - FLAVOURS:
        raise ValueError(f"unknown flavour(s) {sorted(unknown)}; known: {sorted(FLAVOURS)}")
    return chosen


class TokenBucket:
    """Messages per second, with a burst of one second's worth."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        """A full bucket; `clock` gives seconds (monotonic)."""
        if rate <= 0:
            raise ValueError("messages_per_second must be positive")
        self.rate = rate
        self.clock = clock
        self.capacity = max(rate, 1.0)
        self.tokens = self.capacity
        self.updated = clock()

    def take(self, cost: int) -> int | None:
        """Take `cost` tokens, or return the whole seconds (at least 1) to wait.

        A request larger than the burst passes when the bucket is full and
        leaves it in debt, so it is slowed down rather than refused forever.
        """
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        needed = min(float(cost), self.capacity)
        if self.tokens >= needed:
            self.tokens -= cost
            return None
        return max(1, math.ceil((needed - self.tokens) / self.rate))


@dataclass
class State:
    """Everything the handlers read and change."""

    account: Account
    requests: list[RecordedRequest] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    bucket: TokenBucket | None = None
    by_id: dict[str, Message] = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)
    # Told of every accepted or stopped message (the callbacks), when set.
    on_change: Callable[[Message], None] | None = None

    def changed(self, message: Message) -> None:
        """Tell the listener a message was accepted or its timeline changed."""
        if self.on_change is not None:
            self.on_change(message)

    def next_fault(self, flavour: str | None) -> Fault | None:
        """The first fault that applies, counted down; spent faults are dropped."""
        for fault in self.faults:
            if fault.matches(flavour):
                if fault.remaining is not None:
                    fault.remaining -= 1
                self.faults = [item for item in self.faults if item.remaining != 0]
                return fault
        return None

    def add_message(self, message: Message) -> None:
        """Keep an accepted message."""
        self.messages.append(message)
        self.by_id[message.api_message_id] = message
        self.changed(message)

    def stop(self, message: Message) -> None:
        """Stop a message that has not reached a gateway: 006, and its charge back."""
        if message.status in STOPPABLE:
            message.cancel(utc_now())
            self.account.balance += message.charge
            self.changed(message)

    def find_message(self, api_message_id: str) -> Message | None:
        """A message by its API message ID, refreshed to the current time."""
        message = self.by_id.get(api_message_id)
        if message is not None:
            message.refresh(utc_now())
        return message

    def find_by_client_id(self, client_message_id: str) -> Message | None:
        """The latest message sent with that client message ID."""
        for message in reversed(self.messages):
            if message.client_message_id == client_message_id:
                message.refresh(utc_now())
                return message
        return None

    def clear_records(self) -> None:
        """Forget requests and messages."""
        self.requests.clear()
        self.messages.clear()
        self.by_id.clear()
