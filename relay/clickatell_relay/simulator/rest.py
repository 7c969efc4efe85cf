"""The legacy REST API (seeds 000-002) under /rest: Bearer token, X-Version 1, JSON or XML."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final
from xml.etree.ElementTree import Element

from aiohttp import web

from .codes import DOCUMENTATION, UNROUTABLE_CODES, ApiError, destination_code, legacy_error
from .options import REST_OPTIONS, read_options
from .state import STATUS_DESCRIPTIONS, State, money
from .text import Encoding, is_hex
from .wire import (
    JSON,
    XML,
    Outcome,
    Outgoing,
    Route,
    add,
    batch_status,
    body_format,
    charge_number,
    count_parts,
    json_object,
    leaf_text,
    negotiate,
    parse_xml,
    part_price,
    resolve,
    submit,
    xml_text,
)

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_RECIPIENTS: Final = 600  # seed 000, 001 section 3


@dataclass(frozen=True, kw_only=True)
class Call:
    """One authenticated REST request, ready for its handler."""

    state: State
    request: web.Request
    body: str
    answer: str
    params: dict[str, str]


# ---- answers ----------------------------------------------------------------


def _respond(answer: str, payload: dict[str, Any], status: int = 200) -> web.Response:
    """`{"data"|"error": ...}` as JSON, or the same under `<response>` as XML."""
    if answer == XML:
        root = Element("response")
        _to_xml(root, payload)
        return web.Response(text=xml_text(root), status=status, content_type="application/xml")
    return web.json_response(payload, status=status)


def _to_xml(parent: Element, value: object) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            for each in item if isinstance(item, list) else [item]:
                _to_xml(add(parent, key), each)
    elif isinstance(value, bool):
        parent.text = "1" if value else "0"
    elif value is not None:
        parent.text = str(value)


def error_response(request: web.Request, error: ApiError) -> web.Response:
    """A request-level error in the format the Accept header asks for (JSON if none fits)."""
    payload = {
        "error": {
            "code": error.code,
            "description": error.description,
            "documentation": DOCUMENTATION.format(code=error.code),
        }
    }
    response = _respond(negotiate(request.headers.get("Accept")) or JSON, payload, error.status)
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _message_entry(outcome: Outcome) -> dict[str, Any]:
    if outcome.code is None:
        return {"accepted": True, "to": outcome.to, "apiMessageId": outcome.api_message_id}
    return {
        "accepted": False,
        "to": outcome.to,
        "apiMessageId": "",
        "error": legacy_error(outcome.code),
    }


# ---- handlers ---------------------------------------------------------------


def _read_body(call: Call) -> tuple[Any, Any, dict[str, Any], bool]:
    """(text, to, options, typed) from a JSON or XML send body."""
    if body_format(call.request.headers.get("Content-Type")) == XML:
        root = parse_xml(call.body)
        data = root.find("data")
        if root.tag != "request" or data is None:
            raise ApiError("100")
        text: Any = None
        to: list[str] = []
        options: dict[str, Any] = {}
        for child in data:
            value = leaf_text(child)
            if child.tag == "to":
                to.append(value)
            elif child.tag == "text" and text is None:
                text = value
            elif child.tag in options or child.tag == "text":
                raise ApiError("101")
            else:
                options[child.tag] = value
        return text, to or None, options, False
    payload = json_object(call.body)
    options = {key: value for key, value in payload.items() if key not in ("text", "to")}
    return payload.get("text"), payload.get("to"), options, True


def send(call: Call) -> web.Response:
    """POST /rest/message."""
    text, to, options, typed = _read_body(call)
    if not isinstance(text, str) or not text:
        raise ApiError("101")
    if not isinstance(to, list) or not to or not all(isinstance(item, str) for item in to):
        raise ApiError("101")
    if len(to) > MAX_RECIPIENTS:
        raise ApiError("101")
    settings = read_options(options, REST_OPTIONS, typed=typed, utc_only=True)
    if settings.binary:
        if not is_hex(text):
            raise ApiError("101")
        encoding = Encoding.BINARY
    else:
        encoding = Encoding.UCS2 if settings.unicode else Encoding.GSM7
    parts = count_parts(text, encoding, settings)
    outgoing = [
        Outgoing(to=number, text=text, encoding=encoding, parts=parts, settings=settings)
        for number in to
    ]
    outcomes = submit(call.state, "rest", outgoing)
    payload = {"data": {"message": [_message_entry(outcome) for outcome in outcomes]}}
    return _respond(call.answer, payload, batch_status(outcomes))


def stop(call: Call) -> web.Response:
    """DELETE /rest/message/{id}: a queued message is cancelled (and refunded)."""
    message = call.state.find_message(call.params["id"])
    if message is None:
        raise ApiError("161")
    call.state.stop(message)
    data = {
        "messageStatus": message.status,
        "description": STATUS_DESCRIPTIONS[message.status],
        "apiMessageId": message.api_message_id,
    }
    return _respond(call.answer, {"data": data})


def query(call: Call) -> web.Response:
    """GET /rest/message/{id}: the status and charge; an unknown ID is 001 "Message unknown"."""
    message = call.state.find_message(call.params["id"])
    data: dict[str, Any]
    if message is None:
        data = {"apiMessageId": call.params["id"], "messageStatus": "001"}
    else:
        data = {
            "apiMessageId": message.api_message_id,
            "clientMessageId": message.client_message_id or "",
            "messageStatus": message.status,
            "charge": charge_number(message.charge),
        }
    data["description"] = STATUS_DESCRIPTIONS[data["messageStatus"]]
    return _respond(call.answer, {"data": data})


def balance(call: Call) -> web.Response:
    """GET /rest/account/balance."""
    return _respond(call.answer, {"data": {"balance": money(call.state.account.balance)}})


def coverage(call: Call) -> web.Response:
    """GET /rest/coverage/{msisdn}."""
    number = call.params["msisdn"]
    code = destination_code(number)
    if code == "105":
        raise ApiError("105")
    data: dict[str, Any] = {"routable": code not in UNROUTABLE_CODES, "destination": number}
    if data["routable"]:
        data["minimumCharge"] = charge_number(part_price(number))
    return _respond(call.answer, {"data": data})


ROUTES: Final[list[Route[Callable[[Call], web.Response]]]] = [
    Route(re.compile(r"/rest/message"), {"POST": send}),
    Route(re.compile(r"/rest/message/(?P<id>[^/]+)"), {"GET": query, "DELETE": stop}),
    Route(re.compile(r"/rest/account/balance"), {"GET": balance}),
    Route(re.compile(r"/rest/coverage/(?P<msisdn>[^/]+)"), {"GET": coverage}),
]


def _bearer(header: str | None) -> str | None:
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def _check(state: State, request: web.Request) -> str:
    """The answer format, after the header checks, in the order 166, 165, 001, 007."""
    answer = negotiate(request.headers.get("Accept"))
    if answer is None:
        raise ApiError("166")
    if request.headers.get("X-Version", "").strip() != "1":
        raise ApiError("165")
    if _bearer(request.headers.get("Authorization")) != state.account.api_key:
        raise ApiError("001")
    if state.account.ip_lockdown:
        raise ApiError("007")
    return answer


def _check_content_type(request: web.Request) -> None:
    """A POST body is JSON or XML (167)."""
    if request.method == "POST" and body_format(request.headers.get("Content-Type")) is None:
        raise ApiError("167")


async def handle(state: State, request: web.Request, body: str) -> web.Response:
    """Answer one REST request; checks run headers first, then route, content type, body."""
    try:
        answer = _check(state, request)
        handler, params = resolve(ROUTES, request.path, request.method)
        _check_content_type(request)
        return handler(Call(state=state, request=request, body=body, answer=answer, params=params))
    except ApiError as error:
        response = error_response(request, error)
        if error.code == "160":
            response.headers["Allow"] = _allowed(request.path)
        return response


def _allowed(path: str) -> str:
    for route in ROUTES:
        if route.pattern.fullmatch(path):
            return ", ".join(route.methods)
    return ""
