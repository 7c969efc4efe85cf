"""The archived HTTP API (seed 004): user, password and api_id; plain-text answers.

API errors are answered with status 200 and an `ERR: code, description` line,
as the archived API did; only an unknown path (404), a wrong method (405), the
rate limit (429) and injected faults use other statuses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl

from aiohttp import web

from .codes import LEGACY, UNROUTABLE_CODES, ApiError, destination_code
from .options import HTTP_OPTIONS, read_options
from .state import STATUS_UNKNOWN, Message, State, money
from .text import Encoding, decode_ucs2_hex
from .wire import Outgoing, Route, charge_text, count_parts, part_price, resolve, submit

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_GET_RECIPIENTS: Final = 300  # seed 004
MAX_POST_RECIPIENTS: Final = 600
CREDENTIALS: Final = ("user", "password", "api_id")
COVERAGE_OK: Final = (
    "OK: This prefix is currently supported. Messages sent to this prefix will be routed. "
    "Charge: {charge}"
)
COVERAGE_ERR: Final = (
    "ERR: This prefix is not currently supported. Messages sent to this prefix will fail. "
    "Please contact support for assistance."
)
_STATUS: Final = {"130": 429, "160": 405, "161": 404, "901": 503}


@dataclass(frozen=True, kw_only=True)
class Call:
    """One authenticated HTTP API request and its parameters."""

    state: State
    request: web.Request
    params: dict[str, str]


def _text(body: str, status: int = 200) -> web.Response:
    return web.Response(text=body, status=status, content_type="text/plain")


def error_line(code: str, description: str | None = None) -> str:
    """`ERR: 105, Invalid destination address`."""
    return f"ERR: {code}, {description or LEGACY[code][0]}"


def error_response(request: web.Request, error: ApiError) -> web.Response:  # noqa: ARG001 - one signature for every flavour
    """A request-level error as one ERR line."""
    response = _text(error_line(error.code, error.description), _STATUS.get(error.code, 200))
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


# ---- handlers ---------------------------------------------------------------


def send(call: Call) -> web.Response:
    """Sendmsg: `ID: x` for one number; `ID: x To: n` / `ERR: c, d To: n` lines for several."""
    params = call.params
    to, text = params.get("to", ""), params.get("text", "")
    numbers = [number.strip() for number in to.split(",")] if to.strip() else []
    if not numbers or not text:
        raise ApiError("101")
    limit = MAX_GET_RECIPIENTS if call.request.method == "GET" else MAX_POST_RECIPIENTS
    if len(numbers) > limit:
        raise ApiError("101")
    options = {
        key: value for key, value in params.items() if key not in (*CREDENTIALS, "to", "text")
    }
    settings = read_options(options, HTTP_OPTIONS, typed=False, utc_only=True)
    if settings.unicode:
        try:
            text = decode_ucs2_hex(text)
        except ValueError:
            raise ApiError("116") from None
        encoding = Encoding.UCS2
    else:
        encoding = Encoding.GSM7
    parts = count_parts(text, encoding, settings)
    outgoing = [
        Outgoing(to=number, text=text, encoding=encoding, parts=parts, settings=settings)
        for number in numbers
    ]
    outcomes = submit(call.state, "http", outgoing)
    if len(outcomes) == 1:
        only = outcomes[0]
        return _text(f"ID: {only.api_message_id}" if only.code is None else error_line(only.code))
    lines = [
        f"ID: {outcome.api_message_id} To: {outcome.to}"
        if outcome.code is None
        else f"{error_line(outcome.code)} To: {outcome.to}"
        for outcome in outcomes
    ]
    return _text("\n".join(lines))


def get_balance(call: Call) -> web.Response:
    """Getbalance: `Credit: 300.50`."""
    return _text(f"Credit: {money(call.state.account.balance)}")


def _message(call: Call) -> Message | None:
    """The message apimsgid (or climsgid) names; 109 when neither is given."""
    if api_message_id := call.params.get("apimsgid"):
        return call.state.find_message(api_message_id)
    if client_message_id := call.params.get("climsgid"):
        return call.state.find_by_client_id(client_message_id)
    raise ApiError("109")


def delete_message(call: Call) -> web.Response:
    """Delmsg by apimsgid (or climsgid): `ID: x Status: 006`; unknown is 109."""
    message = _message(call)
    if message is None:
        raise ApiError("109")
    call.state.stop(message)
    return _text(f"ID: {message.api_message_id} Status: {message.status}")


def query_message(call: Call) -> web.Response:
    """Querymsg by apimsgid (or climsgid): `ID: x Status: 004`; unknown is status 001."""
    message = _message(call)
    if message is None:
        given = call.params.get("apimsgid") or call.params.get("climsgid")
        return _text(f"ID: {given} Status: {STATUS_UNKNOWN}")
    return _text(f"ID: {message.api_message_id} Status: {message.status}")


def route_coverage(call: Call) -> web.Response:
    """RouteCoverage: OK with the per-part charge, or ERR for an unroutable prefix."""
    number = call.params.get("msisdn", "")
    if not number:
        raise ApiError("101")
    code = destination_code(number)
    if code == "105":
        raise ApiError("105")
    if code in UNROUTABLE_CODES:
        return _text(COVERAGE_ERR)
    return _text(COVERAGE_OK.format(charge=charge_text(part_price(number))))


_BOTH: Final = ("GET", "POST")
ROUTES: Final[list[Route[Callable[[Call], web.Response]]]] = [
    Route(re.compile(r"/http/sendmsg"), dict.fromkeys(_BOTH, send)),
    Route(re.compile(r"/http/getbalance"), dict.fromkeys(_BOTH, get_balance)),
    Route(re.compile(r"/http/delmsg"), dict.fromkeys(_BOTH, delete_message)),
    Route(re.compile(r"/http/querymsg"), dict.fromkeys(_BOTH, query_message)),
    Route(re.compile(r"/utils/routeCoverage"), dict.fromkeys(_BOTH, route_coverage)),
]


def _params(request: web.Request, body: str) -> dict[str, str]:
    """The query string, and for POST the url-encoded form over it."""
    params = dict(request.query)
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "application/octet-stream",  # what aiohttp reports when no type was sent
    ):
        params |= dict(parse_qsl(body, keep_blank_values=True))
    return params


def _check(state: State, params: dict[str, str]) -> None:
    """001 for a wrong user or password, then 108 for a wrong api_id, then 007."""
    account = state.account
    if params.get("user") != account.username or params.get("password") != account.password:
        raise ApiError("001")
    if params.get("api_id") != account.api_id:
        raise ApiError("108")
    if account.ip_lockdown:
        raise ApiError("007")


async def handle(state: State, request: web.Request, body: str) -> web.Response:
    """Answer one HTTP API request: route and method, then credentials, then the command."""
    try:
        handler, _ = resolve(ROUTES, request.path, request.method)
        params = _params(request, body)
        _check(state, params)
        return handler(Call(state=state, request=request, params=params))
    except ApiError as error:
        response = error_response(request, error)
        if error.code == "160":
            response.headers["Allow"] = ", ".join(_BOTH)
        return response
