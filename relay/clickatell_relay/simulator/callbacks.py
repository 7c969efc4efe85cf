"""Callbacks: the simulator calls your server as Clickatell does.

Status callbacks follow each message's timeline (state.Message) to the
account's `callback_url`; replies (MO) injected through `inject_inbound` or
`POST /_sim/inbound` go to its `mo_url`. A URL may hold `user:password@` for
basic authentication; what is recorded and logged never shows it.

Who is told what (docs/api-contract.md, "Callbacks"):

- REST and HTTP messages, by the message's `callback` (REST) or
  `msg_callback` (HTTP) level 0-7, bits of Clickatell's table: 1 the
  intermediate status (003), 2 the final ones (004, 005, 007, 009, 010,
  012), 4 the errors (005, 007, 009, 010, 012); 0 or none, nothing. 002,
  006 and 011 are in no level. The account's `callback_method` says how:
  `get` (the fields in the query), `post` (a form), `xml` (a <callback>
  document) or `json` (an object of the same fields).
- Platform messages, every status: One API messages (/v1) as a One API
  event, /messages ones as the /messages flat object.
- Replies in the account's `mo_format`: `get` or `post` (legacy fields; text
  outside GSM-7 as hex UCS-2, charset UTF-16BE, else ISO-8859-1), `one_api`
  (a moText event) or `messages` (the /messages reply, with the API key).

A 2xx answer ends a callback; a redirect is not followed and not retried (as
Clickatell says); any other answer, a timeout or a broken connection is
retried after each of Timings.callback_retry_delays (replies: mo_retry_delays).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlencode
from xml.etree.ElementTree import Element

import aiohttp
from yarl import URL

from .codes import ONE_API_STATUSES
from .state import STATUS_DESCRIPTIONS, Message, State, milliseconds, utc_now
from .text import is_gsm
from .wire import add, xml_text

if TYPE_CHECKING:
    from collections.abc import Coroutine

_LOGGER = logging.getLogger(__name__)

LEGACY_METHODS: Final = frozenset({"get", "post", "xml", "json"})
MO_FORMATS: Final = frozenset({"get", "post", "one_api", "messages"})
INTERMEDIATE: Final = frozenset({"003"})
FINAL: Final = frozenset({"004", "005", "007", "009", "010", "012"})
ERRORS: Final = frozenset({"005", "007", "009", "010", "012"})
# Legacy replies carry local time without a zone: South Africa's.
LEGACY_REPLY_ZONE: Final = timezone(timedelta(hours=2))
INTEGRATION_NAME: Final = "Simulator"
NETWORK: Final = "Simulator"
FORM: Final = "application/x-www-form-urlencoded"


def reported(level: int, status: str) -> bool:
    """Whether a legacy callback level asks for this status."""
    return bool(
        (level & 1 and status in INTERMEDIATE)
        or (level & 2 and status in FINAL)
        or (level & 4 and status in ERRORS)
    )


def legacy_name(status: str) -> str:
    """A legacy status in capitals, as /messages names it: RECEIVED_BY_RECIPIENT."""
    return STATUS_DESCRIPTIONS[status].upper().replace(" ", "_")


@dataclass(frozen=True, kw_only=True)
class Push:
    """One callback request: where, how, and what."""

    kind: str  # "status" or "reply"
    message_id: str
    method: str
    url: URL  # without credentials
    authorization: str | None = field(repr=False)  # "Basic ..." from the URL's user:password
    body: bytes | None
    content_type: str | None


@dataclass(frozen=True, kw_only=True)
class CallbackAttempt:
    """One try at a callback, as the target answered it."""

    kind: str
    message_id: str
    method: str
    url: str  # scheme, host and path: no credentials, no query
    payload: str  # the body, or for GET the query
    attempt: int
    status: int | None  # None: no answer (error says why)
    error: str | None
    time: datetime

    def to_json(self) -> dict[str, Any]:
        """The attempt for the control API."""
        return {
            "kind": self.kind,
            "message_id": self.message_id,
            "method": self.method,
            "url": self.url,
            "payload": self.payload,
            "attempt": self.attempt,
            "status": self.status,
            "error": self.error,
            "time": self.time.isoformat(),
        }


def _target(url_text: str) -> tuple[URL, str | None]:
    """The URL without credentials, and the basic authentication they stand for."""
    url = URL(url_text)
    if url.user is None and url.password is None:
        return url, None
    pair = f"{url.user or ''}:{url.password or ''}".encode()
    return url.with_user(None), "Basic " + base64.b64encode(pair).decode("ascii")


def _legacy_push(
    kind: str, message_id: str, url_text: str, method: str, fields: dict[str, Any]
) -> Push:
    """Legacy fields by GET (query), POST (form), XML or JSON."""
    url, auth = _target(url_text)
    text_fields = {name: str(value) for name, value in fields.items()}
    # Text is ISO-8859-1 or hex by now (_legacy_text), so latin-1 encodes it.
    encoded = urlencode(text_fields, encoding="latin-1")
    body: bytes | None = None
    content_type: str | None = None
    match method:
        case "get":
            joiner = "&" if url.raw_query_string else "?"
            url = URL(f"{url}{joiner}{encoded}", encoded=True)
        case "post":
            body, content_type = encoded.encode("ascii"), FORM
        case "xml":
            root = Element("callback")
            for name, value in text_fields.items():
                add(root, name, value)
            body, content_type = xml_text(root).encode(), "application/xml"
        case _:
            body, content_type = json.dumps(fields).encode(), "application/json"
    verb = "GET" if method == "get" else "POST"
    return Push(
        kind=kind,
        message_id=message_id,
        method=verb,
        url=url,
        authorization=auth,
        body=body,
        content_type=content_type,
    )


def _json_push(kind: str, message_id: str, url_text: str, payload: dict[str, Any]) -> Push:
    url, auth = _target(url_text)
    return Push(
        kind=kind,
        message_id=message_id,
        method="POST",
        url=url,
        authorization=auth,
        body=json.dumps(payload, ensure_ascii=False).encode(),
        content_type="application/json",
    )


def _legacy_text(text: str) -> tuple[str, str]:
    """(text, charset) of a legacy reply: ISO-8859-1 where GSM-7 allows, else hex UCS-2."""
    if is_gsm(text):
        with contextlib.suppress(UnicodeEncodeError):
            text.encode("latin-1")
            return text, "ISO-8859-1"
    return text.encode("utf-16-be").hex().upper(), "UTF-16BE"


class Callbacks:
    """Follows messages and calls back; keeps every attempt."""

    def __init__(self, state: State) -> None:
        """Callbacks for the state's account; no task runs until a message is accepted."""
        self._state = state
        self.attempts: list[CallbackAttempt] = []
        self._followers: set[asyncio.Task[None]] = set()
        self._wakeups: dict[str, asyncio.Event] = {}  # per message followed
        self._deliveries: set[asyncio.Task[None]] = set()
        self._session: aiohttp.ClientSession | None = None

    # ---- following messages ------------------------------------------------------------

    def message_changed(self, message: Message) -> None:
        """A message was accepted or stopped: follow it, or wake its follower to re-read it."""
        if (wake := self._wakeups.get(message.api_message_id)) is not None:
            wake.set()
            return
        if not self._state.account.callback_url or self._level(message) == 0:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no server running: nothing to call back from
            return
        self._wakeups[message.api_message_id] = asyncio.Event()
        task = loop.create_task(self._follow(message))
        self._followers.add(task)
        task.add_done_callback(self._followers.discard)

    @staticmethod
    def _level(message: Message) -> int:
        """The legacy callback level (0-7) a message asked for; Platform messages: all (7)."""
        if message.endpoint not in ("rest", "http"):
            return 7
        level = message.options.get("callback" if message.endpoint == "rest" else "msg_callback")
        return 0 if level is None else int(str(level))

    async def _follow(self, message: Message) -> None:
        """Call back each step of the timeline as its time comes, one after the other.

        A failed callback is retried on the side; the next step does not wait for it.
        """
        wake = self._wakeups[message.api_message_id]
        try:
            while message.reported < len(message.timeline):
                when, status = message.timeline[message.reported]
                wait = (when - utc_now()).total_seconds()
                if wait > 0:
                    wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(wake.wait(), wait)
                    continue
                message.reported += 1
                if self._wanted(message, status) and (
                    push := self._status_push(message, status, when)
                ):
                    await self._send(push, self._state.timings.callback_retry_delays)
        finally:
            self._wakeups.pop(message.api_message_id, None)

    def _wanted(self, message: Message, status: str) -> bool:
        """Platform callbacks report every status; legacy ones what the level asks for."""
        return message.endpoint not in ("rest", "http") or reported(self._level(message), status)

    def _status_push(self, message: Message, status: str, when: datetime) -> Push | None:
        account = self._state.account
        url = account.callback_url
        if not url:
            return None
        message_id = message.api_message_id
        if message.endpoint in ("rest", "http"):
            fields = {
                "api_id": account.api_id,
                "apiMsgId": message_id,
                "cliMsgId": message.client_message_id or "",
                "timestamp": int(when.timestamp()),
                "to": message.to,
                "from": message.sender,
                "charge": f"{message.charge:.6f}",
                "status": status,
            }
            return _legacy_push("status", message_id, url, account.callback_method, fields)
        code, name = ONE_API_STATUSES[status]
        if message.endpoint == "v1":
            entry = {
                "channel": "sms",
                "messageId": message_id,
                "clientMessageId": message.client_message_id,
                "timestamp": milliseconds(when),
                "statusCode": code,
                "status": name,
            }
            payload = self._one_api_event("messageStatusUpdate", entry)
        else:
            payload = {
                "integrationName": INTEGRATION_NAME,
                "messageId": message_id,
                "requestId": message.request_id,
                "clientMessageId": message.client_message_id or "",
                "to": message.to,
                "from": message.sender,
                "statusCode": int(status),
                "status": legacy_name(status),
                "statusDescription": STATUS_DESCRIPTIONS[status],
                "timestamp": milliseconds(when),
            }
        return _json_push("status", message_id, url, payload)

    def _one_api_event(self, name: str, entry: dict[str, Any]) -> dict[str, Any]:
        return {
            "integrationId": uuid.uuid5(uuid.NAMESPACE_URL, self._state.account.api_id).hex,
            "integrationName": INTEGRATION_NAME,
            "event": {name: [entry]},
        }

    # ---- replies -------------------------------------------------------------------------

    def inbound(
        self,
        sender: str,
        to: str,
        text: str,
        *,
        keyword: str | None = None,
        related_message_id: str | None = None,
    ) -> str:
        """Send a reply (MO) to the account's MO URL; its message ID.

        ValueError when no MO URL is set; RuntimeError outside a running loop.
        """
        account = self._state.account
        if not account.mo_url:
            raise ValueError("no mo_url is set on the account")
        loop = asyncio.get_running_loop()
        message_id = uuid.uuid4().hex
        now = utc_now()
        match account.mo_format:
            case "get" | "post":
                legacy_text, charset = _legacy_text(text)
                fields = {
                    "api_id": account.api_id,
                    "moMsgId": message_id,
                    "from": sender,
                    "to": to,
                    "timestamp": now.astimezone(LEGACY_REPLY_ZONE).strftime("%Y-%m-%d %H:%M:%S"),
                    "text": legacy_text,
                    "charset": charset,
                    "udh": "",
                }
                push = _legacy_push("reply", message_id, account.mo_url, account.mo_format, fields)
            case "one_api":
                entry: dict[str, Any] = {
                    "channel": "sms",
                    "messageId": message_id,
                    "relatedMessageId": related_message_id,
                    "relatedClientMessageId": None,
                    "from": sender,
                    "to": to,
                    "timestamp": milliseconds(now),
                    "content": text,
                    "charset": "UTF-8",
                    "sms": {"network": NETWORK} | ({"keyword": keyword} if keyword else {}),
                }
                push = _json_push(
                    "reply", message_id, account.mo_url, self._one_api_event("moText", entry)
                )
            case _:
                payload = {
                    "integrationId": uuid.uuid5(uuid.NAMESPACE_URL, account.api_id).hex,
                    "messageId": related_message_id or "",
                    "replyMessageId": message_id,
                    "apiKey": account.api_key,
                    "fromNumber": sender,
                    "toNumber": to,
                    "timestamp": milliseconds(now),
                    "text": text,
                    "charset": "UTF-8",
                    "udh": "",
                    "network": NETWORK,
                    "keyword": keyword or "",
                }
                push = _json_push("reply", message_id, account.mo_url, payload)
        self._spawn(self._send(push, self._state.timings.mo_retry_delays), loop)
        return message_id

    # ---- delivery --------------------------------------------------------------------------

    def _spawn(
        self, work: Coroutine[Any, Any, None], loop: asyncio.AbstractEventLoop | None = None
    ) -> None:
        task = (loop or asyncio.get_running_loop()).create_task(work)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)

    async def _send(self, push: Push, retry_delays: tuple[float, ...]) -> None:
        """Try once; if the target did not take it, retry on the side."""
        if not await self._try(push, 1):
            self._spawn(self._retry(push, retry_delays))

    async def _retry(self, push: Push, retry_delays: tuple[float, ...]) -> None:
        for attempt, delay in enumerate(retry_delays, start=2):
            await asyncio.sleep(delay)
            if await self._try(push, attempt):
                return

    async def _try(self, push: Push, attempt: int) -> bool:
        """One attempt, recorded; whether it is over (2xx, or a redirect, not followed)."""
        status, error = await self._attempt(push)
        shown = str(push.url.with_query(None).with_fragment(None))
        _LOGGER.debug(
            "%s callback %s to %s, attempt %d: %s",
            push.kind,
            push.message_id,
            push.url.origin(),  # a path may be a secret: a webhook ID, a listener's path secret
            attempt,
            status or error,
        )
        self.attempts.append(
            CallbackAttempt(
                kind=push.kind,
                message_id=push.message_id,
                method=push.method,
                url=shown,
                payload=push.body.decode() if push.body is not None else push.url.raw_query_string,
                attempt=attempt,
                status=status,
                error=error,
                time=utc_now(),
            )
        )
        return status is not None and 200 <= status < 400  # noqa: PLR2004

    async def _attempt(self, push: Push) -> tuple[int | None, str | None]:
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = {"Content-Type": push.content_type} if push.content_type else {}
        if push.authorization is not None:
            headers["Authorization"] = push.authorization
        timeout = aiohttp.ClientTimeout(total=self._state.timings.callback_timeout)
        try:
            async with self._session.request(
                push.method,
                push.url,
                data=push.body,
                headers=headers,
                allow_redirects=False,
                timeout=timeout,
            ) as response:
                await response.read()
                return response.status, None
        except (aiohttp.ClientError, OSError, TimeoutError) as error:
            # The type only: aiohttp's messages may hold the URL, and so the password.
            return None, type(error).__name__

    async def settled(self) -> None:
        """Wait until every step due has been called back and every retry is over."""
        while tasks := [*self._followers, *self._deliveries]:
            await asyncio.wait(tasks)

    def clear(self) -> list[asyncio.Task[None]]:
        """Stop following and calling back, forget the attempts; the tasks being cancelled."""
        tasks = [*self._followers, *self._deliveries]
        for task in tasks:
            task.cancel()
        self._followers.clear()
        self._deliveries.clear()
        self._wakeups.clear()
        self.attempts.clear()
        return tasks

    async def close(self) -> None:
        """Stop following and calling back; close the session."""
        await asyncio.gather(*self.clear(), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None
