"""Replies that acknowledge alerts; repeats and an escalation until one does.

A route with `acknowledge:` gives each alert a reference a person can type
(three characters of `REFERENCE_ALPHABET`, no 0/O or 1/I/L to mix up) and
appends a hint to its SMS ("Reply ACK 7K2 to acknowledge"). A reply from a
number of the directory or allowlist acknowledges the alert its `ACK <ref>`
names or, without one (or with a reference nobody knows), the alert of the
SMS the API says it answers (`related_message_id`, where the flavour says),
or else the latest alert sent to that number within the route's `window`. The acknowledgement is
stored with the alert's schedule in one durable commit, with its message in
the listener's outbox: published on `<prefix>/ack/<route>` from the store,
forgotten after the PUBACK.

The schedule (repeats every `repeat.every` up to `repeat.max`, one
escalation after `escalate.after`) lives in the queue file: each follow-up
SMS is queued, and the schedule moved on, in one durable commit, so a
restart or a power cut neither loses nor doubles one. Follow-ups go through
the queue like any alert (rate limits, caps, budget); an acknowledgement
ends the schedule and drops the follow-ups still queued.

Routes without `acknowledge:` cost nothing: the receive path only looks at
the route's setting, and the scheduler runs only when a route has it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from aioclickatell import ClickatellError, Overflow, plan_message

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    from aioclickatell import InboundMessage

    from .config import Contact, RelayConfig
    from .store import Store

_LOGGER = logging.getLogger(__name__)

REFERENCE_ALPHABET: Final = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
REFERENCE_LENGTH: Final = 3
FOLLOWUP_POLL: Final = 60.0  # the scheduler looks at least this often
# "ACK 7K2", "ack7k2", "Ack: 7k2", "ACK #7K2" anywhere in the reply.
_ASKED = re.compile(r"\bACK\s*[:#-]?\s*([A-Z0-9]{3,4})\b", re.IGNORECASE)


def ack_topic(route: str) -> str:
    """Where a route's acknowledgements are published, under the relay's prefix."""
    return f"ack/{route}"


def new_reference(taken: Collection[str], rng: random.Random | None = None) -> str:
    """A reference no stored alert has: 3 characters, 4 once half of those are taken."""
    rng = rng or random.Random()  # noqa: S311 - a label, not a secret
    length = REFERENCE_LENGTH
    while len(taken) * 2 >= len(REFERENCE_ALPHABET) ** length:
        length += 1
    while True:
        reference = "".join(rng.choice(REFERENCE_ALPHABET) for _ in range(length))
        if reference not in taken:
            return reference


def asked_reference(reply: str) -> str | None:
    """The reference an `ACK <ref>` in a reply names, upper case; None without one."""
    match = _ASKED.search(reply)
    return None if match is None else match.group(1).upper()


def with_hint(text: str, hint: str | None, reference: str) -> str:
    """The SMS text of an acknowledgeable alert: its text, then the hint on a line of its own."""
    return text if hint is None else f"{text}\n{hint.replace('{ref}', reference)}"


def hint_problem(text: str, hint: str | None, max_parts: int) -> str | None:
    """Why the text with its hint does not fit the route's parts; None when it does."""
    if hint is None:
        return None
    try:
        plan_message(
            with_hint(text, hint, "X" * REFERENCE_LENGTH),
            max_parts=max_parts,
            overflow=Overflow.REFUSE,
        )
    except ClickatellError as error:
        return f"with the acknowledgement hint: {error}"
    return None


def iso(timestamp: float | None) -> str | None:
    """A timestamp as the payloads write it."""
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


@dataclass(frozen=True, kw_only=True)
class Reply:
    """An inbound SMS from a number of the directory or the allowlist."""

    number: str  # normalized
    name: str | None  # the contact's name, when the number is a contact's
    text: str
    received_at: float
    message_id: str | None = None


def ack_document(alert: dict[str, Any], reply: Reply, *, matched_by: str, first: bool) -> str:
    """The JSON published on `<prefix>/ack/<route>`: the alert and the reply that answers it.

    `alert` is the stored row, `acked_at` the time of its first acknowledgement.
    """
    return json.dumps(
        {
            "reference": alert["reference"],
            "route": alert["route"],
            "topic": alert["topic"],
            "text": alert["text"],
            "client_message_ids": alert["message_ids"],
            "sent_at": iso(alert["created_at"]),
            "repeats_sent": alert["repeats_sent"],
            "escalated": bool(alert["escalated"]),
            "acknowledged_by": {"name": reply.name, "number": reply.number},
            "reply": reply.text,
            "reply_message_id": reply.message_id,
            "matched_by": matched_by,  # "reference", "related" or "latest"
            # A later reply to an alert already acknowledged: published, changes nothing.
            "already_acknowledged": not first,
            "acknowledged_at": iso(alert["acked_at"]),
            "time": iso(reply.received_at),
        }
    )


class Acknowledgements:
    """Turns replies into acknowledgements; keeps the repeats and escalations going."""

    def __init__(
        self,
        *,
        config: RelayConfig,
        store: Store,
        on_queued: Callable[[], None],
        on_acknowledged: Callable[[], None],
        new_id: Callable[[], str],
        clock: Callable[[], float] = time.time,
    ) -> None:
        """Wire to the store.

        `on_queued` is told when follow-up SMS are queued, `on_acknowledged`
        when an acknowledgement waits in the outbox.
        """
        self._config = config
        self._store = store
        self._on_queued = on_queued
        self._on_acknowledged = on_acknowledged
        self._new_id = new_id
        self._clock = clock
        self.enabled = any(route.acknowledge is not None for route in config.routes)
        self._schedule_changed = asyncio.Event()

    def schedule_changed(self) -> None:
        """A tracked alert was queued: the next follow-up may be sooner."""
        self._schedule_changed.set()

    async def on_inbound(self, message: InboundMessage, contact: Contact | None) -> None:
        """Acknowledge what a reply answers, if anything (the listener's inbound hook).

        The listener has stored the reply; `contact` is its sender in the
        directory, None for a number outside the directory and allowlist: such
        a reply acknowledges nothing.
        """
        if not self.enabled:
            return
        if contact is None:
            _LOGGER.debug("A reply from outside the allowlist: it acknowledges nothing")
            return
        now = self._clock()
        reply = Reply(
            number=contact.number,
            name=contact.name,
            text=message.text,
            received_at=now if message.timestamp is None else message.timestamp.timestamp(),
            message_id=message.message_id,
        )
        outcome = await self._store.call(
            self._store.acknowledge,
            reply,
            asked=asked_reference(reply.text),
            related=message.related_message_id,
            now=now,
        )
        if outcome is None:
            _LOGGER.info("A reply from the directory matched no alert awaiting acknowledgement")
            return
        reference, first = outcome
        if first:
            _LOGGER.info("Alert %s acknowledged: its repeats and escalation stop", reference)
        else:
            _LOGGER.info("Alert %s was already acknowledged: the reply is published", reference)
        self._on_acknowledged()

    # Follow-ups -----------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Queue the repeats and escalations that are due, until `stop`."""
        while not stop.is_set():
            self._schedule_changed.clear()
            now = self._clock()
            queued, due = await self._store.call(
                self._store.queue_followups,
                allowlist=self._config.allowlist,
                max_messages=self._config.queue.max_messages,
                new_id=self._new_id,
                now=now,
            )
            if queued:
                _LOGGER.info("%d repeat or escalation SMS queued", queued)
                self._on_queued()
            delay = FOLLOWUP_POLL if due is None else min(max(due - now, 0.0), FOLLOWUP_POLL)
            await _wait_any(stop, self._schedule_changed, delay)


async def _wait_any(stop: asyncio.Event, event: asyncio.Event, delay: float) -> None:
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(event.wait())]
    try:
        await asyncio.wait(waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waits:
            waiter.cancel()
