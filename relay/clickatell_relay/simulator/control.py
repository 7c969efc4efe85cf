"""The control API under /_sim/, for tests and demos that run the simulator elsewhere.

JSON in and out; control requests are neither recorded nor subject to faults
or the rate limit.
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from .app import Simulator

PREFIX: Final = "/_sim"
_ACCOUNT_TEXT: Final = ("api_key", "username", "password", "api_id", "currency")
_FAULT_ARGUMENTS: Final = frozenset({"kind", "count", "delay", "retry_after", "flavours"})


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


async def patch_account(sim: Simulator, request: web.Request) -> web.Response:
    """Change the balance, the IP lockdown or the credentials."""
    changes = await _json_object(request)
    account = sim.account
    if unknown := set(changes) - {"balance", "ip_lockdown", *_ACCOUNT_TEXT}:
        raise ControlError(f"unknown account field(s) {sorted(unknown)}")
    if "ip_lockdown" in changes and not isinstance(changes["ip_lockdown"], bool):
        raise ControlError("ip_lockdown must be true or false")
    for name in _ACCOUNT_TEXT:
        if name in changes and not isinstance(changes[name], str):
            raise ControlError(f"{name} must be a string")
    balance = _decimal(changes["balance"]) if "balance" in changes else account.balance
    account.balance = balance
    account.ip_lockdown = changes.get("ip_lockdown", account.ip_lockdown)
    for name in _ACCOUNT_TEXT:
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


async def patch_config(sim: Simulator, request: web.Request) -> web.Response:
    """Set `messages_per_second` (null for no limit)."""
    changes = await _json_object(request)
    if unknown := set(changes) - {"messages_per_second"}:
        raise ControlError(f"unknown setting(s) {sorted(unknown)}")
    if "messages_per_second" in changes:
        rate = changes["messages_per_second"]
        if rate is not None and (
            isinstance(rate, bool) or not isinstance(rate, int | float) or rate <= 0
        ):
            raise ControlError("messages_per_second must be a positive number or null")
        sim.messages_per_second = rate
    return web.json_response({"messages_per_second": sim.messages_per_second})


async def post_reset(sim: Simulator, _: web.Request) -> web.Response:
    """Forget requests, messages and faults; keep the account."""
    sim.reset()
    return web.Response(status=204)


ROUTES: Final[dict[str, dict[str, Callable[[Simulator, web.Request], Awaitable[web.Response]]]]] = {
    "/requests": {"GET": get_requests, "DELETE": delete_requests},
    "/messages": {"GET": get_messages},
    "/account": {"GET": get_account, "PATCH": patch_account},
    "/faults": {"GET": get_faults, "POST": post_fault, "DELETE": delete_faults},
    "/config": {"PATCH": patch_config},
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
