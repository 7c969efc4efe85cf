"""The control API under /_sim/, for tests and demos that run the simulator elsewhere.

JSON in and out; control requests are neither recorded nor subject to faults
or the rate limit.

    GET, DELETE  /_sim/requests    the recorded API requests
    GET          /_sim/messages    the accepted messages, with their timelines
    GET, PATCH   /_sim/account     balance, ip_lockdown, credentials, and the portal's
                                   callback settings: callback_url, callback_method
                                   (get, post, xml, json), mo_url, mo_format (get,
                                   post, one_api, messages); URLs may hold user:password@
    GET, POST, DELETE /_sim/faults injected faults
    GET, PATCH   /_sim/config      messages_per_second; gateway_delay, delivery_delay,
                                   callback_retry_delays, mo_retry_delays,
                                   callback_timeout (seconds)
    GET, DELETE  /_sim/callbacks   every callback attempt (status and reply)
    POST         /_sim/inbound     a reply from a handset: {"from", "to", "text",
                                   "keyword", "related_message_id"}, called back to
                                   mo_url; 202 {"message_id"}
    POST         /_sim/reset       forget requests, messages, callbacks and faults
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web
from yarl import URL

from .callbacks import LEGACY_METHODS, MO_FORMATS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .app import Simulator

PREFIX: Final = "/_sim"
_ACCOUNT_TEXT: Final = ("api_key", "username", "password", "api_id", "currency")
_ACCOUNT_CHOICES: Final = {"callback_method": LEGACY_METHODS, "mo_format": MO_FORMATS}
_ACCOUNT_URLS: Final = ("callback_url", "mo_url")
_FAULT_ARGUMENTS: Final = frozenset({"kind", "count", "delay", "retry_after", "flavours"})
_DELAYS: Final = ("gateway_delay", "delivery_delay", "callback_timeout")
_RETRIES: Final = ("callback_retry_delays", "mo_retry_delays")
_INBOUND: Final = frozenset({"from", "to", "text", "keyword", "related_message_id"})


class ControlError(Exception):
    """A control request we cannot carry out: 400 with its message."""


def _problem(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def _json_object(request: web.Request) -> dict[str, Any]:
    try:
        payload = json.loads(await request.text() or "{}")
    except ValueError:
        raise ControlError("the body is not JSON") from None
    if not isinstance(payload, dict):
        raise ControlError("the body must be a JSON object")
    return payload


async def get_requests(sim: Simulator, _: web.Request) -> web.Response:
    """The recorded API requests, oldest first."""
    return web.json_response([recorded.to_json() for recorded in sim.requests])


async def delete_requests(sim: Simulator, _: web.Request) -> web.Response:
    """Forget the recorded requests (not the messages)."""
    sim.requests.clear()
    return web.Response(status=204)


async def get_messages(sim: Simulator, _: web.Request) -> web.Response:
    """The accepted messages, oldest first."""
    return web.json_response([message.to_json() for message in sim.messages])


async def get_account(sim: Simulator, _: web.Request) -> web.Response:
    """The account, its balance exact."""
    return web.json_response(sim.account.to_json())


def _decimal(value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ControlError("balance must be a number or a numeric string")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ControlError("balance must be a number or a numeric string") from None
    if not amount.is_finite():
        raise ControlError("balance must be finite")
    return amount


def _check_url(name: str, value: object) -> None:
    if value is None:
        return
    if not isinstance(value, str) or URL(value).scheme not in ("http", "https"):
        raise ControlError(f"{name} must be an http(s) URL or null")


def _check_account(changes: dict[str, Any]) -> None:
    known = {"balance", "ip_lockdown", *_ACCOUNT_TEXT, *_ACCOUNT_CHOICES, *_ACCOUNT_URLS}
    if unknown := set(changes) - known:
        raise ControlError(f"unknown account field(s) {sorted(unknown)}")
    if "ip_lockdown" in changes and not isinstance(changes["ip_lockdown"], bool):
        raise ControlError("ip_lockdown must be true or false")
    for name in _ACCOUNT_TEXT:
        if name in changes and not isinstance(changes[name], str):
            raise ControlError(f"{name} must be a string")
    for name, choices in _ACCOUNT_CHOICES.items():
        if name in changes and changes[name] not in choices:
            raise ControlError(f"{name} must be one of {sorted(choices)}")
    for name in _ACCOUNT_URLS:
        if name in changes:
            _check_url(name, changes[name])


async def patch_account(sim: Simulator, request: web.Request) -> web.Response:
    """Change the balance, the IP lockdown, the credentials or the callback settings."""
    changes = await _json_object(request)
    _check_account(changes)
    account = sim.account
    balance = _decimal(changes["balance"]) if "balance" in changes else account.balance
    account.balance = balance
    account.ip_lockdown = changes.get("ip_lockdown", account.ip_lockdown)
    for name in (*_ACCOUNT_TEXT, *_ACCOUNT_CHOICES, *_ACCOUNT_URLS):
        if name in changes:
            setattr(account, name, changes[name])
    return web.json_response(account.to_json())


async def get_faults(sim: Simulator, _: web.Request) -> web.Response:
    """The faults in force, in the order they are tried."""
    return web.json_response([fault.to_json() for fault in sim.faults])


async def post_fault(sim: Simulator, request: web.Request) -> web.Response:
    """Inject a fault; the body holds `inject`'s keyword arguments."""
    arguments = await _json_object(request)
    if unknown := set(arguments) - _FAULT_ARGUMENTS:
        raise ControlError(f"unknown argument(s) {sorted(unknown)}")
    if "kind" not in arguments:
        raise ControlError("kind is required")
    try:
        fault = sim.inject(**arguments)
    except (TypeError, ValueError) as error:
        raise ControlError(str(error)) from None
    return web.json_response(fault.to_json(), status=201)


async def delete_faults(sim: Simulator, _: web.Request) -> web.Response:
    """Clear every fault."""
    sim.clear_faults()
    return web.Response(status=204)


def _seconds(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 10**6:
        raise ControlError(f"{name} must be a number of seconds, not negative")
    return float(value)


def _config(sim: Simulator) -> dict[str, Any]:
    return {"messages_per_second": sim.messages_per_second, **sim.timings.to_json()}


async def patch_config(sim: Simulator, request: web.Request) -> web.Response:
    """Set `messages_per_second` (null for no limit) and the timings (seconds)."""
    changes = await _json_object(request)
    if unknown := set(changes) - {"messages_per_second", *_DELAYS, *_RETRIES}:
        raise ControlError(f"unknown setting(s) {sorted(unknown)}")
    timings: dict[str, Any] = {
        name: _seconds(name, changes[name]) for name in _DELAYS if name in changes
    }
    for name in _RETRIES:
        if name in changes:
            delays = changes[name]
            if not isinstance(delays, list):
                raise ControlError(f"{name} must be a list of seconds")
            timings[name] = tuple(_seconds(name, delay) for delay in delays)
    if "messages_per_second" in changes:
        rate = changes["messages_per_second"]
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0
        ):
            raise ControlError("messages_per_second must be a positive number or null")
        sim.messages_per_second = rate
    sim.timings = replace(sim.timings, **timings)
    return web.json_response(_config(sim))


async def get_config(sim: Simulator, _: web.Request) -> web.Response:
    """The rate limit and the timings."""
    return web.json_response(_config(sim))


async def get_callbacks(sim: Simulator, _: web.Request) -> web.Response:
    """Every callback attempt, oldest first."""
    return web.json_response([attempt.to_json() for attempt in sim.callbacks])


async def delete_callbacks(sim: Simulator, _: web.Request) -> web.Response:
    """Forget the callback attempts (callbacks under way go on)."""
    sim.callbacks.clear()
    return web.Response(status=204)


async def post_inbound(sim: Simulator, request: web.Request) -> web.Response:
    """A reply (MO) from a handset: {"from", "to", "text"[, "keyword", "related_message_id"]}."""
    fields = await _json_object(request)
    if unknown := set(fields) - _INBOUND:
        raise ControlError(f"unknown field(s) {sorted(unknown)}")
    for name in _INBOUND:
        if name in fields and not isinstance(fields[name], str):
            raise ControlError(f"{name} must be a string")
    if missing := {"from", "to", "text"} - set(fields):
        raise ControlError(f"missing field(s) {sorted(missing)}")
    try:
        message_id = sim.inject_inbound(
            fields["from"],
            fields["to"],
            fields["text"],
            keyword=fields.get("keyword"),
            related_message_id=fields.get("related_message_id"),
        )
    except ValueError as error:
        raise ControlError(str(error)) from None
    return web.json_response({"message_id": message_id}, status=202)


async def post_reset(sim: Simulator, _: web.Request) -> web.Response:
    """Forget requests, messages and faults; keep the account."""
    sim.reset()
    return web.Response(status=204)


ROUTES: Final[dict[str, dict[str, Callable[[Simulator, web.Request], Awaitable[web.Response]]]]] = {
    "/requests": {"GET": get_requests, "DELETE": delete_requests},
    "/messages": {"GET": get_messages},
    "/account": {"GET": get_account, "PATCH": patch_account},
    "/faults": {"GET": get_faults, "POST": post_fault, "DELETE": delete_faults},
    "/config": {"GET": get_config, "PATCH": patch_config},
    "/callbacks": {"GET": get_callbacks, "DELETE": delete_callbacks},
    "/inbound": {"POST": post_inbound},
    "/reset": {"POST": post_reset},
}


async def handle(sim: Simulator, request: web.Request) -> web.Response:
    """Answer one control request."""
    methods = ROUTES.get(request.path.removeprefix(PREFIX))
    if methods is None:
        return _problem(404, f"no control resource {request.path}")
    handler = methods.get(request.method)
    if handler is None:
        response = _problem(405, f"{request.method} is not allowed on {request.path}")
        response.headers["Allow"] = ", ".join(methods)
        return response
    try:
        return await handler(sim, request)
    except ControlError as error:
        return _problem(400, str(error))
