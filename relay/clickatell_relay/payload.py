"""From MQTT payload bytes to an alert, or to a rejection with its reason.

Pure functions, no I/O: the receive path calls `parse_payload` for every
message, and property tests feed it arbitrary bytes. A payload is plain text
or a JSON object with `text` (or `message`), and optionally `title` (put on
the first line: SMS has no subject), `recipients` (names or numbers, checked
against the allowlist by routing), `priority` and `options`. A route's
template builds the text from the JSON fields with `{field}` or
`{nested.field}` references and nothing else (no attribute or index access,
no format specifications), so a payload cannot reach into Python objects.
"""

from __future__ import annotations

import json
import math
import re
import string
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Final

from aioclickatell import ClickatellError, Overflow, SendOptions, plan_message

PRIORITY_NAMES: Final = {"low": 1, "normal": 5, "high": 8, "critical": 9}
MAX_PRIORITY: Final = 9
PRIORITY_HINT: Final = f"0-{MAX_PRIORITY} or one of {', '.join(PRIORITY_NAMES)}"
# Options a route may let an alert's JSON payload set (`payload_options`; the rest
# are the route's business).
PAYLOAD_OPTIONS: Final = frozenset(
    {"validity_period", "user_priority_queue", "scheduled_delivery_time"}
)

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")
MAX_RECIPIENTS_IN_PAYLOAD: Final = 1000
MAX_JSON_DEPTH: Final = 32


class Reason(StrEnum):
    """Why an alert, or one of its SMS, went to the dead-letter topic."""

    # Refused on receipt
    TOO_LARGE = "too_large"  # more bytes than mqtt.max_payload_bytes
    NOT_UTF8 = "not_utf8"
    EMPTY = "empty"
    NOT_JSON = "not_json"  # the route wants JSON
    BAD_JSON = "bad_json"  # JSON, but not an alert object
    BAD_OPTIONS = "bad_options"
    TEMPLATE = "template"  # the route's template names a field the payload lacks
    TOO_LONG = "too_long"  # more parts than the route's max_parts
    UNKNOWN_RECIPIENT = "unknown_recipient"  # not a contact, group or allowlisted number
    RECIPIENTS_NOT_ALLOWED = "recipients_not_allowed"  # the route takes none from payloads
    NO_RECIPIENTS = "no_recipients"
    NO_ROUTE = "no_route"
    QUEUE_FULL = "queue_full"
    # Given up on after queueing
    REJECTED = "rejected"  # the API refused this recipient (permanent error code)
    INVALID_REQUEST = "invalid_request"  # the API refused the whole request as invalid
    RECIPIENT_CAP = "recipient_cap"  # limits.per_recipient_per_hour reached
    OVER_BUDGET = "over_budget"  # one SMS costs more than limits.daily_credit_budget
    UNKNOWN_OUTCOME = "unknown_outcome"  # limits.max_unknown_outcomes requests, no answer read
    EXPIRED = "expired"  # older than queue.max_age without being sent


@dataclass(frozen=True, kw_only=True)
class Alert:
    """A parsed alert, before its recipients are resolved."""

    text: str
    recipients: tuple[str, ...] | None = None  # as the payload named them; None: the route's
    priority: int | None = None  # None: the route's
    options: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Rejection:
    """Why a payload cannot become an alert."""

    reason: Reason
    detail: str


def template_problem(template: str) -> str | None:
    """What is wrong with a template, or None when it is usable."""
    try:
        pieces = list(string.Formatter().parse(template))
    except ValueError as error:
        return str(error)
    for _literal, name, spec, conversion in pieces:
        if name is None:
            continue
        if not _FIELD.fullmatch(name):
            return f"{{{name}}}: write a field name such as {{severity}} or {{labels.host}}"
        if spec or conversion:
            return f"{{{name}}}: format specifications and conversions are not supported"
    return None


def _value_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def render_template(template: str, fields: dict[str, Any]) -> str | Rejection:
    """Fill `{field}` references from `fields`; a missing field is a rejection."""
    out: list[str] = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        out.append(literal)
        if name is None:
            continue
        value: Any = fields
        for step in name.split("."):
            if not isinstance(value, dict) or step not in value:
                return Rejection(reason=Reason.TEMPLATE, detail=f"the payload has no {name!r}")
            value = value[step]
        out.append(_value_text(value))
    return "".join(out)


def parse_priority(value: object) -> int | None:
    """A priority written as 0-9 or as one of `PRIORITY_NAMES`; None if it is neither."""
    if isinstance(value, str) and value.lower() in PRIORITY_NAMES:
        return PRIORITY_NAMES[value.lower()]
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PRIORITY:
        return value
    return None


def _recipients(value: object) -> tuple[str, ...] | Rejection:
    items = [value] if isinstance(value, str) else value
    if (
        not isinstance(items, list)
        or not items
        or len(items) > MAX_RECIPIENTS_IN_PAYLOAD
        or not all(isinstance(item, str) and item.strip() for item in items)
    ):
        return Rejection(
            reason=Reason.BAD_JSON,
            detail="recipients must be a name or number, or a non-empty list of them",
        )
    return tuple(dict.fromkeys(item.strip() for item in items))


def _options(value: object, allowed: frozenset[str]) -> dict[str, Any] | Rejection:
    if not isinstance(value, dict):
        return Rejection(reason=Reason.BAD_OPTIONS, detail="options must be an object")
    refused = sorted(set(value) - allowed)
    if refused:
        taken = ", ".join(sorted(allowed)) or "none"
        return Rejection(
            reason=Reason.BAD_OPTIONS,
            detail=f"options this route does not take from a payload: {', '.join(refused)}"
            f" (its payload_options: {taken})",
        )
    try:
        SendOptions.from_dict(dict(value))
    except (ClickatellError, TypeError) as error:
        return Rejection(reason=Reason.BAD_OPTIONS, detail=str(error))
    return dict(value)


def _too_deep(value: object, depth: int = 0) -> bool:
    if depth > MAX_JSON_DEPTH:
        return True
    if isinstance(value, dict):
        return any(_too_deep(item, depth + 1) for item in value.values())
    if isinstance(value, list):
        return any(_too_deep(item, depth + 1) for item in value)
    return False


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _load_json(text: str) -> object | Rejection:
    try:
        value: object = json.loads(text, parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        return Rejection(reason=Reason.NOT_JSON, detail=f"not valid JSON: {error}")
    if _too_deep(value):
        return Rejection(reason=Reason.BAD_JSON, detail="JSON nested too deeply")
    return value


def _finite(value: object) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def parse_payload(  # noqa: PLR0911 - one return per way a payload can fail
    payload: bytes,
    *,
    topic: str = "",
    mode: str = "auto",
    template: str | None = None,
    max_parts: int = 3,
    max_bytes: int = 16384,
    payload_options: frozenset[str] = frozenset(),
) -> Alert | Rejection:
    """Parse one MQTT payload under a route's rules.

    `mode` is "text" (the payload is the message), "json" (it must be an
    alert object) or "auto" (what starts with `{` or `[` must be a JSON alert
    object, anything else is text: a broken JSON alert is refused as
    `bad_json`, never sent verbatim). `payload_options` names the send options
    the payload may set (the route's); any other is refused.
    """
    if len(payload) > max_bytes:
        return Rejection(
            reason=Reason.TOO_LARGE, detail=f"{len(payload)} bytes, more than {max_bytes}"
        )
    try:
        decoded = payload.decode("utf-8")
    except UnicodeDecodeError as error:
        return Rejection(reason=Reason.NOT_UTF8, detail=f"not UTF-8 at byte {error.start}")
    stripped = decoded.strip()
    if not stripped:
        return Rejection(reason=Reason.EMPTY, detail="the payload is empty")

    if mode == "text" or (mode == "auto" and not stripped.startswith(("{", "["))):
        return _finish(stripped, {"text": stripped, "topic": topic}, template, max_parts)
    document = _load_json(stripped)
    if isinstance(document, Rejection):
        if mode == "auto":  # it looks like JSON: a broken alert, not a text
            return Rejection(reason=Reason.BAD_JSON, detail=document.detail)
        return document
    if not isinstance(document, dict):
        return Rejection(reason=Reason.BAD_JSON, detail="expected a JSON object")
    return _from_json(document, topic, template, max_parts, payload_options)


def _from_json(
    document: dict[str, Any],
    topic: str,
    template: str | None,
    max_parts: int,
    payload_options: frozenset[str],
) -> Alert | Rejection:
    text_value = document.get("text", document.get("message"))
    title = document.get("title")
    for name, value in (("text", text_value), ("title", title)):
        if value is not None and not isinstance(value, str):
            return Rejection(reason=Reason.BAD_JSON, detail=f"{name} must be a string")
    if template is None and (text_value is None or not text_value.strip()):
        return Rejection(
            reason=Reason.EMPTY if text_value is not None else Reason.BAD_JSON,
            detail="the JSON payload has no text (or message)",
        )
    if not all(_finite(value) for value in document.values()):
        return Rejection(reason=Reason.BAD_JSON, detail="numbers must be finite")
    extras = _extras(document, payload_options)
    if isinstance(extras, Rejection):
        return extras
    recipients, priority, options = extras
    message = (text_value or "").strip()
    fields = {**document, "topic": topic, "text": message}
    # As the integration's notify does; a route's template places the title itself.
    text = f"{title.strip()}\n{message}" if title and title.strip() else message
    alert = _finish(text, fields, template, max_parts)
    if isinstance(alert, Rejection):
        return alert
    return Alert(text=alert.text, recipients=recipients, priority=priority, options=options)


def _extras(
    document: dict[str, Any], payload_options: frozenset[str]
) -> tuple[tuple[str, ...] | None, int | None, dict[str, Any]] | Rejection:
    """Recipients, priority and options of a JSON alert."""
    recipients: tuple[str, ...] | None = None
    raw_recipients = document.get("recipients", document.get("to"))
    if raw_recipients is not None:
        parsed = _recipients(raw_recipients)
        if isinstance(parsed, Rejection):
            return parsed
        recipients = parsed
    priority: int | None = None
    if "priority" in document:
        priority = parse_priority(document["priority"])
        if priority is None:
            return Rejection(reason=Reason.BAD_JSON, detail=f"priority must be {PRIORITY_HINT}")
    options: dict[str, Any] = {}
    if "options" in document:
        parsed_options = _options(document["options"], payload_options)
        if isinstance(parsed_options, Rejection):
            return parsed_options
        options = parsed_options
    return recipients, priority, options


def _finish(
    text: str, fields: dict[str, Any], template: str | None, max_parts: int
) -> Alert | Rejection:
    if template is not None:
        rendered = render_template(template, fields)
        if isinstance(rendered, Rejection):
            return rendered
        text = rendered.strip()
    if not text:
        return Rejection(reason=Reason.EMPTY, detail="the message text is empty")
    try:
        plan_message(text, max_parts=max_parts, overflow=Overflow.REFUSE)
    except ClickatellError as error:
        return Rejection(reason=Reason.TOO_LONG, detail=str(error))
    return Alert(text=text)
