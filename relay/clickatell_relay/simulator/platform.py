"""The Platform: the One API (/v1/message, /v1/balance) and seed 003's /messages.

The raw key goes in Authorization (Bearer is refused); codes are the One API's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from xml.etree.ElementTree import Element

from aiohttp import web

from .codes import ONE_API, ONE_API_STATUSES, ApiError, one_api_error
from .options import MESSAGES_OPTIONS, ONE_API_OPTIONS, Settings, read_options
from .state import State, milliseconds, money, utc_now
from .text import Encoding, is_gsm, is_hex
from .wire import (
    JSON,
    XML,
    Outcome,
    Outgoing,
    Route,
    add,
    batch_status,
    body_format,
    count_parts,
    json_object,
    leaf_text,
    negotiate,
    parse_xml,
    resolve,
    submit,
    xml_text,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

MAX_MESSAGES: Final = 200  # seed 003, 001 section 2, 002
XML_DECLARATION: Final = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
ONE_API_SEND: Final = "/v1/message"
# The Platform's "HTTP integration": a GET with the key in the query. Not in the
# seeds; Apprise's Clickatell plugin sends this way, and the benchmarks compare.
HTTP_SEND: Final = "/messages/http/send"


@dataclass(frozen=True, kw_only=True)
class Call:
    """One authenticated Platform request, ready for its handler."""

    state: State
    request: web.Request
    body: str
    answer: str


def _is_messages(path: str) -> bool:
    """Whether a path is seed 003's /messages rather than the One API."""
    return path == "/messages" or path.startswith("/messages/")


# ---- answers ----------------------------------------------------------------


def _seed_003_error(code: int) -> dict[str, Any]:
    description, detail = ONE_API[code]
    return {"errorCode": code, "error": description, "errorDescription": detail}


def _messages_response(
    answer: str, entries: list[dict[str, Any]], error: int | None, status: int
) -> web.Response:
    """Seed 003's answer: the messages and the request's own three error fields."""
    request_error = (
        _seed_003_error(error)
        if error is not None
        else {"errorCode": None, "error": None, "errorDescription": None}
    )
    if answer == XML:
        root = Element("SendMessagesResponse")
        listing = add(root, "Messages")
        for entry in entries:
            item = add(listing, "Message")
            for key, value in entry.items():
                if value is not None:
                    add(item, key[:1].upper() + key[1:], _xml_value(value))
                elif key == "apiMessageId":
                    add(item, "ApiMessageId")
        for key, value in request_error.items():
            if value is not None:
                add(root, key[:1].upper() + key[1:], _xml_value(value))
        return web.Response(
            text=xml_text(root, XML_DECLARATION), status=status, content_type="application/xml"
        )
    return web.json_response({"messages": entries, **request_error}, status=status)


def _xml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def error_response(request: web.Request, error: ApiError) -> web.Response:
    """A request-level error: One API JSON, or seed 003's fields (JSON or XML) on /messages."""
    code = error.one_api_code
    if _is_messages(request.path):
        answer = negotiate(request.headers.get("Accept")) or JSON
        response = _messages_response(answer, [], code, error.status)
    elif request.path == ONE_API_SEND:
        response = web.json_response(
            {"messages": [], "error": one_api_error(code)}, status=error.status
        )
    else:
        response = web.json_response({"error": one_api_error(code)}, status=error.status)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


# ---- reading requests -------------------------------------------------------


def _plan(
    to: object,
    content: object,
    options: Mapping[str, Any],
    specs: Mapping[str, Any],
    *,
    typed: bool,
) -> list[Outgoing]:
    """Messages for recipients of one content; the encoding follows the content."""
    if not isinstance(content, str) or not content:
        raise ApiError("101")
    settings: Settings = read_options(options, specs, typed=typed, utc_only=False)
    if settings.binary:
        if not is_hex(content):
            raise ApiError("101")
        encoding = Encoding.BINARY
    else:
        encoding = Encoding.GSM7 if is_gsm(content) else Encoding.UCS2
    parts = count_parts(content, encoding, settings)
    given = to if isinstance(to, list) else [to]
    numbers = [number for number in given if isinstance(number, str)]
    if not numbers or len(numbers) != len(given):
        raise ApiError("101")
    return [
        Outgoing(to=number, text=content, encoding=encoding, parts=parts, settings=settings)
        for number in numbers
    ]


def _too_many() -> ApiError:
    return ApiError("101", one_api=22)


# ---- handlers ---------------------------------------------------------------


def one_api_send(call: Call) -> web.Response:
    """POST /v1/message: one entry per recipient, each with its own content."""
    payload = json_object(call.body)
    entries = payload.get("messages")
    if set(payload) != {"messages"} or not isinstance(entries, list) or not entries:
        raise ApiError("101")
    if len(entries) > MAX_MESSAGES:
        raise _too_many()
    outgoing: list[Outgoing] = []
    for entry in entries:
        if not isinstance(entry, dict) or entry.get("channel") != "sms":
            raise ApiError("101")
        if not isinstance(entry.get("to"), str):
            raise ApiError("101")
        options = {
            key: value for key, value in entry.items() if key not in ("channel", "to", "content")
        }
        planned = _plan(entry["to"], entry.get("content"), options, ONE_API_OPTIONS, typed=True)
        for item in planned:
            item.settings.options = {"channel": entry["channel"], **item.settings.options}
        outgoing.extend(planned)
    outcomes = submit(call.state, "platform", outgoing, "v1")
    listing = [_one_api_entry(outcome) for outcome in outcomes]
    return web.json_response({"messages": listing, "error": None}, status=batch_status(outcomes))


def _one_api_entry(outcome: Outcome) -> dict[str, Any]:
    if outcome.code is None:
        return {"apiMessageId": outcome.api_message_id, "accepted": True, "to": outcome.to}
    return {
        "apiMessageId": None,
        "accepted": False,
        "to": outcome.to,
        "error": one_api_error(ApiError(outcome.code).one_api_code),
    }


def _messages_body(call: Call) -> tuple[object, object, dict[str, Any], bool]:
    """(content, to, options, typed) from seed 003's JSON or XML."""
    if body_format(call.request.headers.get("Content-Type")) == XML:
        root = parse_xml(call.body)
        if root.tag != "SendMessageRequest":
            raise ApiError("100")
        fields: dict[str, Any] = {}
        to: list[str] = []
        for child in root:
            name = child.tag[:1].lower() + child.tag[1:]
            value = leaf_text(child)
            if name == "to":
                to.append(value)
            elif name in fields:
                raise ApiError("101")
            else:
                fields[name] = value
        content = fields.pop("content", None)
        return content, to or None, fields, False
    payload = json_object(call.body)
    options = {key: value for key, value in payload.items() if key not in ("content", "to")}
    return payload.get("content"), payload.get("to"), options, True


def messages_send(call: Call) -> web.Response:
    """POST /messages (seed 003)."""
    content, to, options, typed = _messages_body(call)
    if not isinstance(to, list) or not to:
        raise ApiError("101")
    if len(to) > MAX_MESSAGES:
        raise _too_many()
    outgoing = _plan(to, content, options, MESSAGES_OPTIONS, typed=typed)
    outcomes = submit(call.state, "platform", outgoing, "messages")
    entries = [_messages_entry(outcome) for outcome in outcomes]
    return _messages_response(call.answer, entries, None, batch_status(outcomes))


def _messages_entry(outcome: Outcome) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "apiMessageId": outcome.api_message_id,
        "accepted": outcome.accepted,
        "to": outcome.to,
        "errorCode": None,
        "error": None,
        "errorDescription": None,
    }
    if outcome.code is not None:
        entry |= _seed_003_error(ApiError(outcome.code).one_api_code)
    return entry


def http_send(call: Call) -> web.Response:
    """GET /messages/http/send?apiKey=&to=&content=[&from=]: seed 003's answer, in JSON."""
    query = call.request.query
    unknown = set(query) - {"apiKey", "to", "content", "from"}
    if unknown:
        raise ApiError("101")
    to = [number for number in query.get("to", "").split(",") if number]
    if not to:
        raise ApiError("101")
    if len(to) > MAX_MESSAGES:
        raise _too_many()
    options = {"from": query["from"]} if query.get("from") else {}
    outgoing = _plan(to, query.get("content"), options, MESSAGES_OPTIONS, typed=False)
    outcomes = submit(call.state, "platform", outgoing, "messages")
    entries = [_messages_entry(outcome) for outcome in outcomes]
    return _messages_response(JSON, entries, None, batch_status(outcomes))


def query(call: Call) -> web.Response:
    """GET /v1/message/{id}: `{"sms": {"status", "timestamp"}}`; unknown has no channel."""
    message = call.state.find_message(call.request.path.rsplit("/", 1)[1])
    if message is None:
        return web.json_response({"status": "UNKNOWN", "timestamp": milliseconds(utc_now())})
    changed = max(when for when, status in message.timeline if status == message.status)
    entry = {"status": ONE_API_STATUSES[message.status][1], "timestamp": milliseconds(changed)}
    return web.json_response({"sms": entry})


def balance(call: Call) -> web.Response:
    """GET /v1/balance: a number, not a string."""
    account = call.state.account
    return web.json_response(
        {"currency": account.currency, "balance": float(money(account.balance))}
    )


ROUTES: Final[list[Route[Callable[[Call], web.Response]]]] = [
    Route(re.compile(ONE_API_SEND), {"POST": one_api_send}),
    Route(re.compile(r"/v1/balance"), {"GET": balance}),
    Route(re.compile(r"/v1/message/[^/]+"), {"GET": query}),
    Route(re.compile(r"/messages"), {"POST": messages_send}),
    Route(re.compile(HTTP_SEND), {"GET": http_send}),
]


def _check(state: State, request: web.Request) -> str:
    """The answer format, after the checks 30 (Accept), 1 (key), 7 (lockdown)."""
    answer = negotiate(request.headers.get("Accept"))
    if answer is None or (answer == XML and not _is_messages(request.path)):
        raise ApiError("166")
    given = (
        request.query.get("apiKey", "")
        if request.path == HTTP_SEND
        else request.headers.get("Authorization") or ""
    )
    if given.strip() != state.account.api_key:
        raise ApiError("001")
    if state.account.ip_lockdown:
        raise ApiError("007")
    return answer


def _check_content_type(request: web.Request) -> None:
    """A POST body is JSON (or XML on /messages); else 167, One API 30."""
    if request.method == "POST":
        media = body_format(request.headers.get("Content-Type"))
        if media is None or (media == XML and not _is_messages(request.path)):
            raise ApiError("167")


async def handle(state: State, request: web.Request, body: str) -> web.Response:
    """Answer one Platform request: headers, route, content type, body."""
    try:
        answer = _check(state, request)
        handler, _ = resolve(ROUTES, request.path, request.method)
        _check_content_type(request)
        return handler(Call(state=state, request=request, body=body, answer=answer))
    except ApiError as error:
        return error_response(request, error)
