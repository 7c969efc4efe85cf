"""The simulator: one aiohttp server for the three flavours and the control API."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Final, Self

from aiohttp import web

from . import control, faults, http, platform, rest
from .callbacks import CallbackAttempt, Callbacks
from .state import (
    Account,
    Fault,
    FaultKind,
    Message,
    RecordedRequest,
    State,
    Timings,
    TokenBucket,
)
from .state import make_fault as _make_fault
from .state import utc_now as _utc_now

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterable
    from types import TracebackType

_LOGGER = logging.getLogger(__name__)

_HANDLERS: Final[dict[str, Callable[[State, web.Request, str], Awaitable[web.Response]]]] = {
    "rest": rest.handle,
    "platform": platform.handle,
    "http": http.handle,
}


def flavour_of(path: str) -> str | None:
    """Which API a path belongs to, by its first segment."""
    first = path.split("/", 2)[1] if path.startswith("/") else ""
    match first:
        case "rest":
            return "rest"
        case "v1" | "messages":
            return "platform"
        case "http" | "utils":
            return "http"
    return None


def _headers(request: web.Request) -> dict[str, str]:
    """The headers as received; a repeated header is joined with commas."""
    headers: dict[str, str] = {}
    for name, value in request.headers.items():
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class Simulator:
    """Clickatell's REST, Platform and HTTP APIs on one loopback server."""

    def __init__(
        self,
        account: Account | None = None,
        *,
        messages_per_second: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        timings: Timings | None = None,
    ) -> None:
        """A simulator serving one account; not listening until `start`.

        `clock` (monotonic seconds) drives the rate limit; tests may pass a fake.
        `timings` set how fast messages move and callbacks are retried.
        """
        self._state = State(
            account=account if account is not None else Account(),
            timings=timings if timings is not None else Timings(),
        )
        self._callbacks = Callbacks(self._state)
        self._state.on_change = self._callbacks.message_changed
        self._clock = clock
        self._rate: float | None = None
        self.messages_per_second = messages_per_second
        self._runner: web.AppRunner | None = None
        self._root_url: str | None = None

    # ---- what tests read and change ------------------------------------------

    @property
    def account(self) -> Account:
        """The account; change its balance or ip_lockdown at will."""
        return self._state.account

    @account.setter
    def account(self, account: Account) -> None:
        self._state.account = account

    @property
    def requests(self) -> list[RecordedRequest]:
        """Recorded API requests, oldest first (control requests are not recorded)."""
        return self._state.requests

    @property
    def message_count(self) -> int:
        """How many messages were accepted; cheap, unlike `messages`, for polling."""
        return len(self._state.messages)

    @property
    def messages(self) -> list[Message]:
        """Accepted messages, oldest first; scheduled ones show 004 once their time has come."""
        now = _utc_now()
        for message in self._state.messages:
            message.refresh(now)
        return self._state.messages

    @property
    def timings(self) -> Timings:
        """How fast messages move and callbacks are retried; change them at will."""
        return self._state.timings

    @timings.setter
    def timings(self, timings: Timings) -> None:
        self._state.timings = timings

    @property
    def callbacks(self) -> list[CallbackAttempt]:
        """Every callback attempt (status and reply), oldest first."""
        return self._callbacks.attempts

    def inject_inbound(
        self,
        sender: str,
        to: str,
        text: str,
        *,
        keyword: str | None = None,
        related_message_id: str | None = None,
    ) -> str:
        """A handset sends `text` to the two-way number `to`: called back to the MO URL.

        Returns the reply's message ID; ValueError when the account has no mo_url.
        """
        return self._callbacks.inbound(
            sender, to, text, keyword=keyword, related_message_id=related_message_id
        )

    async def callbacks_settled(self) -> None:
        """Wait until every callback due has been made and every retry is over.

        A message scheduled for later keeps this waiting; use a timeout.
        """
        await self._callbacks.settled()

    @property
    def faults(self) -> list[Fault]:
        """The faults in force, in the order they are tried."""
        return list(self._state.faults)

    @property
    def messages_per_second(self) -> float | None:
        """The rate limit on messages (recipients); None for none."""
        return self._rate

    @messages_per_second.setter
    def messages_per_second(self, rate: float | None) -> None:
        if rate is not None and rate <= 0:
            raise ValueError("messages_per_second must be positive or None")
        self._rate = None if rate is None else float(rate)
        self._state.bucket = None if rate is None else TokenBucket(float(rate), self._clock)

    def inject(
        self,
        kind: FaultKind | str,
        count: int | None = None,
        delay: float = 0.0,
        retry_after: float = 1.0,
        flavours: Iterable[str] | None = None,
    ) -> Fault:
        """Make the next `count` API requests (all, if None) of these flavours meet a fault.

        Faults are tried in the order injected; the first that applies is used.
        """
        fault = _make_fault(kind, count, delay, retry_after, flavours)
        self._state.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        """Remove every fault."""
        self._state.faults.clear()

    def reset(self) -> None:
        """Forget requests, messages, callbacks and faults; refill the rate; keep the account."""
        self._callbacks.clear()
        self._state.clear_records()
        self.clear_faults()
        self.messages_per_second = self._rate

    # ---- serving -------------------------------------------------------------

    def make_app(self) -> web.Application:
        """A fresh aiohttp application answering for this simulator."""
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on host:port; port 0 picks a free one (see `root_url`)."""
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        # No access log: the HTTP API carries the password in its query string.
        runner = web.AppRunner(self.make_app(), shutdown_timeout=1.0, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound_host, bound_port = runner.addresses[0][:2]
        shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
        self._root_url = f"http://{shown}:{bound_port}"

    async def stop(self) -> None:
        """Stop listening and calling back; a stopped simulator may be started again."""
        runner, self._runner, self._root_url = self._runner, None, None
        await self._callbacks.close()
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Self:
        """Start on a free loopback port."""
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop."""
        await self.stop()

    @property
    def root_url(self) -> str:
        """`http://host:port` of the running simulator."""
        if self._root_url is None:
            raise RuntimeError("the simulator is not running")
        return self._root_url

    def base_url(self, flavour: str) -> str:
        """The base URL a client of that flavour is configured with."""
        if flavour == "rest":
            return f"{self.root_url}/rest"
        if flavour in ("platform", "http"):
            return self.root_url
        raise ValueError(f"unknown flavour {flavour!r}; known: rest, platform, http")

    # ---- answering -----------------------------------------------------------

    async def _dispatch(self, request: web.Request) -> web.Response:
        if request.path == control.PREFIX or request.path.startswith(f"{control.PREFIX}/"):
            return await control.handle(self, request)
        received = _utc_now()
        body = (await request.read()).decode("utf-8", errors="replace")
        flavour = flavour_of(request.path)
        status = 0
        try:
            response = await self._answer(request, flavour, body)
            if request.transport is not None and not request.transport.is_closing():
                status = response.status
            return response
        finally:
            # The path only: the HTTP API's query holds the password.
            _LOGGER.debug("%s %s -> %s", request.method, request.path, status or "dropped")
            self._state.requests.append(
                RecordedRequest(
                    method=request.method,
                    path=request.path,
                    query=dict(request.query),
                    headers=_headers(request),
                    body=body,
                    status=status,
                    flavour=flavour,
                    time=received,
                )
            )

    async def _answer(self, request: web.Request, flavour: str | None, body: str) -> web.Response:
        fault = self._state.next_fault(flavour)
        if fault is not None:
            _LOGGER.debug("Fault %s on %s %s", fault.kind.value, request.method, request.path)
            if (response := await faults.apply(fault, flavour, request)) is not None:
                return response
        if flavour is None:
            return web.Response(text="404: Not Found", status=404, content_type="text/plain")
        return await _HANDLERS[flavour](self._state, request, body)


async def run_forever(
    simulator: Simulator,
    host: str = "127.0.0.1",
    port: int = 0,
    stop: asyncio.Event | None = None,
) -> None:
    """Start, log the base URLs, serve until `stop` is set or cancelled, then stop."""
    await simulator.start(host=host, port=port)
    try:
        _LOGGER.info(
            "Clickatell simulator listening: rest %s, platform %s, http %s, control %s/_sim/",
            simulator.base_url("rest"),
            simulator.base_url("platform"),
            simulator.base_url("http"),
            simulator.root_url,
        )
        await (stop or asyncio.Event()).wait()
    finally:
        await simulator.stop()


async def serve(
    account: Account | None = None,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    messages_per_second: float | None = None,
) -> None:
    """Build a simulator for the account and run it until cancelled (for the CLI)."""
    await run_forever(Simulator(account, messages_per_second=messages_per_second), host, port)
