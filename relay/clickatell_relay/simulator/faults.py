"""Injected faults: what a request meets before the API sees it."""

from __future__ import annotations

import asyncio
import json
import math
import os
from typing import TYPE_CHECKING, Final

from aiohttp import web

from . import http, platform, rest
from .codes import ApiError
from .state import Fault, FaultKind

if TYPE_CHECKING:
    from collections.abc import Callable

ERROR_200_BODY: Final = json.dumps(
    {
        "errorCode": 106,
        "error": "Invalid source address",
        "errorDescription": "The specified sender address is incorrect.",
    }
)
HTML_BODY: Final = "<html>maintenance</html>"

_ERROR_RESPONSES: Final[dict[str, Callable[[web.Request, ApiError], web.Response]]] = {
    "rest": rest.error_response,
    "platform": platform.error_response,
    "http": http.error_response,
}


def error_response(flavour: str | None, request: web.Request, error: ApiError) -> web.Response:
    """An error in the flavour's own format; plain text outside the APIs."""
    if flavour in _ERROR_RESPONSES:
        return _ERROR_RESPONSES[flavour](request, error)
    response = web.Response(
        text=f"{error.status}: {error.description}", status=error.status, content_type="text/plain"
    )
    if error.retry_after is not None:
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def garbage() -> bytes:
    """Bytes that are neither JSON nor even UTF-8 (0xFF never occurs in UTF-8)."""
    return b"\xff\xfe" + os.urandom(62)


_CANNED: Final[dict[FaultKind, Callable[[], web.Response]]] = {
    FaultKind.GARBAGE: lambda: web.Response(body=garbage(), content_type="application/json"),
    FaultKind.HTML: lambda: web.Response(text=HTML_BODY, content_type="text/html"),
    FaultKind.ERROR_200: lambda: web.Response(text=ERROR_200_BODY, content_type="application/json"),
}


async def apply(fault: Fault, flavour: str | None, request: web.Request) -> web.Response | None:
    """The fault's answer, or None to answer normally (after `slow` has slept)."""
    match fault.kind:
        case FaultKind.SLOW:
            await asyncio.sleep(fault.delay)
            return None
        case FaultKind.UNAVAILABLE:
            return error_response(flavour, request, ApiError("901"))
        case FaultKind.RATE_LIMITED:
            wait = max(1, math.ceil(fault.retry_after))
            return error_response(flavour, request, ApiError("130", retry_after=wait))
        case FaultKind.DROP:
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never sent: the connection is gone
    return _CANNED[fault.kind]()
