"""The callback listener: Clickatell's delivery statuses and replies, into the queue, onto MQTT.

    request -> path secret -> method -> auth -> size -> parse -> match -> commit -> 200
                                                     (the publisher: queue -> MQTT -> forget)

An aiohttp server, started only when `listener.enabled` (this module, and
aiohttp's server with it, is imported only then). Bodies are read by
`aioclickatell.parse_callback` alone, for the configured API flavour. What a
callback carries is committed to the queue (synchronous=FULL) before the
answer; the relay's publisher sends it with QoS 1 and forgets it only after
the broker's PUBACK, so neither a broker away nor a power cut after the 200
loses it. Clickatell retries anything but a 2xx, so the answers are:

* 404: a path other than the secret one (also what a scanner gets);
* 405: a method the account's API does not call back with;
* 401: basic authentication is set and the request's is missing or wrong;
* 413: a body over `listener.max_body_bytes`;
* 400: anything `parse_callback` refuses (Clickatell sends none);
* 503: the queue cannot commit, or a status outran the answer to its send
  request (its SMS is not known by its API message ID yet): retried later;
* 200: everything else, also a status of an SMS this relay never sent (or
  no longer keeps), a replay, a status after the final one, an empty request.

Refusals are logged at debug level, never with what the request held, and
the path secret and password are never logged (aiohttp's access log is off).
A reply, once committed, is handed to the relay's inbound hooks.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import sqlite3
import time
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, Final

from aiohttp import hdrs, web

from aioclickatell import (
    ApiFlavour,
    ClickatellInvalidCallbackError,
    DeliveryStatus,
    InboundMessage,
    MessageStatus,
    callback_authorized,
    parse_callback,
)

from .routing import valid_number
from .store import NewCallback, NewDeadLetter, NotYetKnown, SentSms

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from .config import Contact, Directory, RelayConfig
    from .relay import InboundHook
    from .status import Health
    from .store import Store

_LOGGER = logging.getLogger(__name__)

# The legacy APIs call back by GET or POST, as set in the portal; the Platform POSTs JSON.
CALLBACK_METHODS: Final = {
    ApiFlavour.REST: frozenset({hdrs.METH_GET, hdrs.METH_POST}),
    ApiFlavour.HTTP: frozenset({hdrs.METH_GET, hdrs.METH_POST}),
    ApiFlavour.PLATFORM: frozenset({hdrs.METH_POST}),
}
# Statuses that end an SMS undelivered for a reason worth a dead letter (not a stop by hand).
UNDELIVERED: Final = frozenset(
    {
        MessageStatus.FAILED,
        MessageStatus.EXPIRED,
        MessageStatus.OUT_OF_CREDIT,
        MessageStatus.LIMIT_EXCEEDED,
    }
)
INBOUND_TOPIC: Final = "inbound"
SHUTDOWN_GRACE: Final = 5.0  # seconds a request being answered may take to finish on stop


def delivery_topic(route: str) -> str:
    """A route's delivery topic, under the relay's prefix."""
    return f"delivery/{route}"


class CallbackListener:
    """The HTTP server Clickatell calls back; one per relay, run by its supervisor."""

    def __init__(
        self,
        config: RelayConfig,
        *,
        store: Store,
        directory: Directory,
        hooks: Sequence[InboundHook],
        health: Health,
        on_change: Callable[[], None],  # committed or recovered: publish, status
    ) -> None:
        """Nothing listens before `run`."""
        self._config = config
        self._listener = config.listener
        self._api = config.clickatell.api
        self._store = store
        self._directory = directory
        self._hooks = hooks
        self._health = health
        self._on_change = on_change
        self._path = self._listener.path.encode()
        self.port: int | None = None  # the bound port once listening (`port: 0` picks one)
        self.listening = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop`; then let the requests being answered finish, and close."""
        app = web.Application(client_max_size=self._listener.max_body_bytes + 1)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._listener.host, self._listener.port)
            await site.start()
            self.port = int(runner.addresses[0][1])  # what `port: 0` got
            _LOGGER.info(
                "Listening for Clickatell's callbacks on %s:%d", self._listener.host, self.port
            )
            self.listening.set()
            self._health.clear("listener")  # a failure to listen is over
            self._on_change()  # the status says so
            await stop.wait()
        finally:
            self.listening.clear()
            await runner.cleanup()

    # The request ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.Response:  # noqa: PLR0911 - one per check
        # Compared whole, in constant time: how long it takes says nothing of the secret.
        if not hmac.compare_digest(request.rel_url.raw_path.encode(), self._path):
            return _refuse("path", HTTPStatus.NOT_FOUND)
        if request.method not in CALLBACK_METHODS[self._api]:
            response = _refuse("method", HTTPStatus.METHOD_NOT_ALLOWED)
            response.headers[hdrs.ALLOW] = ", ".join(sorted(CALLBACK_METHODS[self._api]))
            return response
        if not self._authorized(request.headers.get(hdrs.AUTHORIZATION)):
            response = _refuse("authentication", HTTPStatus.UNAUTHORIZED)
            response.headers[hdrs.WWW_AUTHENTICATE] = 'Basic realm="clickatell-relay"'
            return response
        if (body := await self._read_body(request)) is None:
            return _refuse("size", HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
        query = request.rel_url.raw_query_string  # raw: a legacy reply's text has its charset
        if not body.strip() and not query:
            _LOGGER.debug("An empty callback: nothing to do")
            return web.Response(status=HTTPStatus.OK)
        try:
            events = parse_callback(
                self._api,
                body=body,
                content_type=request.headers.get(hdrs.CONTENT_TYPE),
                query=query,
            )
        except ClickatellInvalidCallbackError as error:
            _LOGGER.debug("Refused a callback: %s", error)
            return web.Response(status=HTTPStatus.BAD_REQUEST)
        try:
            return await self._take(events)
        except (sqlite3.Error, OSError) as error:
            _LOGGER.warning("Cannot commit a callback to the queue (Clickatell retries): %s", error)
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)

    def _authorized(self, header: str | None) -> bool:
        """Whether the request carries the basic authentication configured, if any."""
        username, password = self._listener.username, self._listener.password
        if not username or not password:
            return True
        return callback_authorized(header, username, password)

    async def _read_body(self, request: web.Request) -> bytes | None:
        """The body, or None if it is over the limit (no more is read)."""
        limit = self._listener.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return None
        body = bytearray()
        while chunk := await request.content.read(limit + 1 - len(body)):
            body += chunk
            if len(body) > limit:
                return None
        return bytes(body)

    # What a callback carries ----------------------------------------------------------------

    async def _take(self, events: Sequence[DeliveryStatus | InboundMessage]) -> web.Response:
        """Match, commit, then hand the new replies to the hooks; the answer."""
        items: list[NewCallback] = []
        replies: list[tuple[InboundMessage, Contact | None]] = []
        for event in events:
            if isinstance(event, DeliveryStatus):
                region = self._config.clickatell.default_region
                found = await self._store.call(
                    self._store.find_sms,
                    api_message_id=event.api_message_id,
                    client_message_id=event.client_message_id,
                    recipient=valid_number(event.to, region) if event.to else None,
                )
                if found is NotYetKnown.PENDING:
                    _LOGGER.debug("A status before its send was recorded: answered 503")
                    return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
                if found is None:
                    _LOGGER.debug("A status of a message this relay did not send: ignored")
                    continue
                items.append(self._status(event, found))
            else:
                contact = self._directory.lookup(event.sender)
                replies.append((event, contact))
                items.append(self._reply(event, contact))
        if not items:
            return web.Response(status=HTTPStatus.OK)
        new = await self._store.call(self._store.commit_callbacks, items)
        self._on_change()
        fresh = [item for item, is_new in zip(items, new, strict=True) if is_new]
        _LOGGER.debug(
            "Callback: %d event(s) committed, %d replayed or after a final status",
            len(fresh),
            len(items) - len(fresh),
        )
        keys = {item.key for item in fresh}
        for message, contact in replies:
            if f"reply:{message.message_id}" in keys:
                await self._call_hooks(message, contact)
        return web.Response(status=HTTPStatus.OK)

    def _status(self, status: DeliveryStatus, sms: SentSms) -> NewCallback:
        contact = self._directory.lookup(sms.recipient)
        final = status.status.final
        payload = {
            "route": sms.route,
            "topic": sms.topic,
            "client_message_id": sms.client_message_id,
            "api_message_id": status.api_message_id,
            "recipient": sms.recipient,
            "contact": None if contact is None else contact.name,
            "status": status.status.value,
            "final": final,
            "code": status.status_code,
            "description": status.status_text,
            "charge": status.charge,
            "timestamp": _iso(status.timestamp),
        }
        dead = None
        if status.status in UNDELIVERED and self._listener.dead_letter_undelivered:
            dead = NewDeadLetter(
                reason="undelivered",
                detail=f"{status.status.value}: {status.status_text}",
                code=status.status_code,
                topic=sms.topic,
                route=sms.route,
                recipient=sms.recipient,
                text=sms.text,
                client_message_id=sms.client_message_id,
            )
        counter = None
        if final:
            counter = "delivered" if status.status is MessageStatus.DELIVERED else "undelivered"
        return NewCallback(
            key=f"status:{status.api_message_id}:{status.status.value}:{status.status_code}",
            topic=delivery_topic(sms.route),
            payload=json.dumps(payload),
            sms_id=sms.id,
            delivery=status.status.value,
            delivery_code=status.status_code,
            final=final,
            counter=counter,
            dead=dead,
        )

    def _reply(self, message: InboundMessage, contact: Contact | None) -> NewCallback:
        key = f"reply:{message.message_id}"
        if contact is None and not self._listener.publish_unknown_senders:
            _LOGGER.debug("A reply from a number outside the directory: not published")
            return NewCallback(key=key, topic=None, counter="inbound_unknown")
        payload: dict[str, Any] = {
            "message_id": message.message_id,
            "from": message.sender,
            "to": message.to,
            "text": message.text,
            "timestamp": _iso(message.timestamp),
            "keyword": message.keyword,
            "related_message_id": message.related_message_id,
            "contact": None if contact is None else contact.name,
            "unknown_sender": contact is None,
        }
        return NewCallback(
            key=key,
            topic=INBOUND_TOPIC,
            payload=json.dumps(payload, ensure_ascii=False),
            counter="inbound" if contact is not None else "inbound_unknown",
        )

    async def _call_hooks(self, message: InboundMessage, contact: Contact | None) -> None:
        """Each hook once per new reply; one that fails is logged and the others still run."""
        for hook in self._hooks:
            try:
                await hook(message, contact)
            except Exception:  # a hook's bug must not cost the callback its answer
                _LOGGER.exception("An inbound hook failed (%s)", getattr(hook, "__name__", hook))


def _refuse(reason: str, status: HTTPStatus) -> web.Response:
    _LOGGER.debug("Refused a callback: %s (%d)", reason, int(status))
    return web.Response(status=status)


def _iso(when: datetime | None) -> str:
    """A callback's time, or now when it gave none."""
    return (when or datetime.fromtimestamp(time.time(), UTC)).isoformat()
