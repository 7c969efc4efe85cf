"""What the flavours share on the wire: content negotiation, XML, routes, sending."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final, Generic, TypeVar
from xml.etree.ElementTree import Element, ParseError, SubElement, fromstring, tostring

from .codes import ApiError, destination_code, fate_code
from .state import (
    STATUS_AT_GATEWAY,
    STATUS_DELIVERED,
    STATUS_QUEUED,
    STATUS_SCHEDULED,
    Message,
    State,
    Timings,
    utc_now,
)
from .text import MAX_PARTS, Encoding, parts_for

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from .options import Settings

JSON: Final = "json"
XML: Final = "xml"
_MEDIA: Final = {"application/json": JSON, "application/xml": XML}

PART_PRICE: Final = Decimal(1)
TEST_PART_PRICE: Final = Decimal(1) / Decimal(3)
TEST_PREFIXES: Final = ("279991", "1999")  # seed 001 section 1

H = TypeVar("H")


def media_type(header: str | None) -> str:
    """The media type of a Content-Type header, lower case, without parameters."""
    return (header or "").split(";", 1)[0].strip().lower()


def negotiate(accept: str | None) -> str | None:
    """JSON or XML for an Accept header; None when it allows neither.

    Absent or empty means JSON (seed 001 section 2.2); `*/*` is JSON; a list
    is read in order and the first type we speak wins.
    """
    if accept is None or not accept.strip():
        return JSON
    for item in accept.split(","):
        media = media_type(item)
        if media == "*/*":
            return JSON
        if media in _MEDIA:
            return _MEDIA[media]
    return None


def body_format(content_type: str | None) -> str | None:
    """JSON or XML for a Content-Type header; None for anything else."""
    return _MEDIA.get(media_type(content_type))


def parse_xml(body: str) -> Element:
    """An XML body; 100 (malformed) if it is not XML or declares a DTD or entities."""
    if re.search(r"<!(DOCTYPE|ENTITY)", body, re.IGNORECASE):
        raise ApiError("100")
    try:
        # Entities and DTDs are refused above, so expat has nothing to expand.
        return fromstring(body)  # noqa: S314
    except ParseError:
        raise ApiError("100") from None


def add(parent: Element, tag: str, text: str | None = None) -> Element:
    """A child element with optional text."""
    child = SubElement(parent, tag)
    if text is not None:
        child.text = text
    return child


def xml_text(root: Element, declaration: str = '<?xml version="1.0"?>') -> str:
    """A document with the seeds' XML declaration."""
    return declaration + "\n" + tostring(root, encoding="unicode")


def leaf_text(element: Element) -> str:
    """The text of an element that must have no children (101 otherwise)."""
    if len(element):
        raise ApiError("101")
    return element.text or ""


@dataclass(frozen=True)
class Route(Generic[H]):
    """A path pattern and the handler for each method it takes."""

    pattern: re.Pattern[str]
    methods: Mapping[str, H]


def resolve(routes: Sequence[Route[H]], path: str, method: str) -> tuple[H, dict[str, str]]:
    """The handler and path parameters; 161 for an unknown path, 160 for a wrong method."""
    for route in routes:
        if match := route.pattern.fullmatch(path):
            if method not in route.methods:
                raise ApiError("160")
            return route.methods[method], match.groupdict()
    raise ApiError("161")


def json_object(body: str) -> dict[str, Any]:
    """A request body that must be a JSON object; 100 (data malformed) otherwise."""
    try:
        payload = json.loads(body)
    except ValueError:
        raise ApiError("100") from None
    if not isinstance(payload, dict):
        raise ApiError("100")
    return payload


@dataclass(frozen=True, kw_only=True)
class Outgoing:
    """One message a request asks for: one recipient, its text and settings."""

    to: str
    text: str
    encoding: Encoding
    parts: int
    settings: Settings


@dataclass(frozen=True, kw_only=True)
class Outcome:
    """What became of one message: an API message ID, or the legacy code it was refused with."""

    to: str
    api_message_id: str | None = None
    code: str | None = None

    @property
    def accepted(self) -> bool:
        """Whether the message was accepted."""
        return self.code is None


def count_parts(text: str, encoding: Encoding, settings: Settings) -> int:
    """Parts of a message; 113 when over its maximum or the simulator's."""
    parts = parts_for(text, encoding)
    if parts > min(settings.max_parts or MAX_PARTS, MAX_PARTS):
        raise ApiError("113")
    return parts


def part_price(number: str) -> Decimal:
    """One credit per part, a third of a credit in the test ranges."""
    return TEST_PART_PRICE if number.startswith(TEST_PREFIXES) else PART_PRICE


def charge(item: Outgoing) -> Decimal:
    """What a message costs; one that will expire costs nothing (status 010)."""
    return Decimal(0) if fate_code(item.to) == "010" else item.parts * part_price(item.to)


def timeline(
    number: str, received: datetime, scheduled_for: datetime | None, timings: Timings
) -> list[tuple[datetime, str]]:
    """A message's life: (scheduled 011,) queued 002, delivered to gateway 003, received 004.

    Numbers 2799998 + a status code end in that status instead (codes.FATE_CODES).
    """
    steps: list[tuple[datetime, str]] = []
    start = received
    if scheduled_for is not None and scheduled_for > received:
        steps.append((received, STATUS_SCHEDULED))
        start = scheduled_for
    gateway = start + timedelta(seconds=timings.gateway_delay)
    handset = gateway + timedelta(seconds=timings.delivery_delay)
    steps.append((start, STATUS_QUEUED))
    match fate_code(number):
        case None:
            steps += [(gateway, STATUS_AT_GATEWAY), (handset, STATUS_DELIVERED)]
        case "007":
            steps += [(gateway, STATUS_AT_GATEWAY), (handset, "007")]
        case "010":
            steps.append((handset, "010"))
        case early:
            steps.append((gateway, early))
    return steps


def submit(
    state: State, flavour: str, outgoing: Sequence[Outgoing], endpoint: str | None = None
) -> list[Outcome]:
    """Rate-limit, check destinations, charge, and keep the accepted messages.

    Raises 130 (rate limit) or 301 (no credit) for the whole request; no
    message is kept and nothing is charged then. `endpoint` (v1, messages)
    says how a Platform message came, so how its callbacks look.
    """
    if state.bucket is not None and (wait := state.bucket.take(len(outgoing))) is not None:
        raise ApiError("130", retry_after=wait)
    codes = [destination_code(item.to) for item in outgoing]
    accepted = [item for item, code in zip(outgoing, codes, strict=True) if code is None]
    total = sum((charge(item) for item in accepted), Decimal(0))
    if total > state.account.balance:
        raise ApiError("301")
    state.account.balance -= total
    now = utc_now()
    request_id = uuid.uuid4().hex
    outcomes: list[Outcome] = []
    for item, code in zip(outgoing, codes, strict=True):
        if code is not None:
            outcomes.append(Outcome(to=item.to, code=code))
            continue
        message = Message(
            api_message_id=uuid.uuid4().hex,
            to=item.to,
            text=item.text,
            flavour=flavour,
            endpoint=endpoint or flavour,
            request_id=request_id,
            parts=item.parts,
            encoding=item.encoding.value,
            charge=charge(item),
            client_message_id=item.settings.client_message_id,
            scheduled_for=item.settings.scheduled_for,
            status=STATUS_QUEUED,
            options=item.settings.options,
            received_at=now,
            timeline=timeline(item.to, now, item.settings.scheduled_for, state.timings),
        )
        message.refresh(now)
        state.add_message(message)
        outcomes.append(Outcome(to=item.to, api_message_id=message.api_message_id))
    return outcomes


def batch_status(outcomes: Sequence[Outcome]) -> int:
    """202 all accepted, 207 mixed, 400 all refused as invalid (105), 410 all refused otherwise."""
    refused = [outcome.code for outcome in outcomes if outcome.code is not None]
    if not refused:
        return 202
    if len(refused) < len(outcomes):
        return 207
    return 400 if all(code == "105" for code in refused) else 410


def charge_text(amount: Decimal) -> str:
    """A per-part price as coverage shows it: "1", "0.33"."""
    return format(amount.quantize(Decimal("0.01")).normalize(), "f")


def charge_number(amount: Decimal) -> int | float:
    """A per-part price as a JSON number: 1, 0.33."""
    text = charge_text(amount)
    return float(text) if "." in text else int(text)
