"""A callback target: a real aiohttp server on loopback that records requests and answers as told.

The simulator's callback tests and the client's two-way tests point the
simulator's callback_url and mo_url at it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from aiohttp import web

WAIT = 5.0


@dataclass(frozen=True, kw_only=True)
class Received:
    """One request as the target got it."""

    method: str
    path: str
    query: str  # raw, percent-encoded
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")


class CallbackReceiver:
    """Records every request; answers each with the next scripted status (200 when none)."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self._arrived = asyncio.Event()
        self.answers: list[int] = []
        self._runner: web.AppRunner | None = None
        self.root = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.root = f"http://{host}:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str = "/callback", *, auth: str = "") -> str:
        """The target's URL for a path, with `user:password@` when `auth` is given."""
        return self.root.replace("http://", f"http://{auth}@" if auth else "http://") + path

    async def _handle(self, request: web.Request) -> web.Response:
        self.received.append(
            Received(
                method=request.method,
                path=request.path,
                query=request.rel_url.raw_query_string,
                headers=dict(request.headers),
                body=await request.read(),
            )
        )
        self._arrived.set()
        status = self.answers.pop(0) if self.answers else 200
        headers = {"Location": "/elsewhere"} if 300 <= status < 400 else None
        return web.Response(status=status, text="ok", headers=headers)

    async def wait_for(self, count: int) -> list[Received]:
        """The first `count` requests, once they have come; fails the test after WAIT seconds."""
        try:
            async with asyncio.timeout(WAIT):
                while len(self.received) < count:
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            pytest.fail(f"{len(self.received)} of {count} callbacks came: {self.received}")
        return self.received[:count]


async def started_receiver() -> AsyncIterator[CallbackReceiver]:
    """A started receiver, stopped afterwards (the body of the fixtures)."""
    receiver = CallbackReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()
