"""What the entry sent and what became of it: statuses and replies as events.

The webhook and the status polling hand everything they read to the
`MessageTracker` of the entry. It fires `clickatell_sms_message_status` for a
status of a message this entry sent, once per status, and
`clickatell_sms_message_received` for an SMS received, once per message;
the event entities hear the same through the dispatcher. It remembers the
messages it sent (bounded, in a `Store`, so statuses that come after a
restart still tie back to them), the statuses already reported and the
replies already seen, so Clickatell's retries and replays fire nothing twice.
"""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final, TypedDict

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_send
from homeassistant.helpers.storage import Store
from homeassistant.util import dt as dt_util

from .aioclickatell import DeliveryStatus, InboundMessage, MessageStatus, SendResult
from .const import DOMAIN, EVENT_MESSAGE_RECEIVED, EVENT_MESSAGE_STATUS, LOGGER
from .recipients import recipient_of

if TYPE_CHECKING:
    from .coordinator import ClickatellConfigEntry

STORAGE_VERSION: Final = 1
# A message may be scheduled 7 days ahead, and Clickatell retries a status
# callback for 3 days: a sent message is remembered for 10 days.
KEEP_SENT: Final = timedelta(days=10)
MAX_SENT: Final = 2000
# Clickatell retries a reply for under an hour; a day covers every retry.
KEEP_REPLIES: Final = timedelta(days=1)
MAX_REPLIES: Final = 1000
SAVE_DELAY: Final = 10  # seconds: a burst of statuses is one write


class _StoredMessage(TypedDict):
    to: str
    client_message_id: str | None
    sent_at: str
    seen: list[str]


class _StoredData(TypedDict):
    sent: dict[str, _StoredMessage]
    replies: dict[str, str]


@dataclass(kw_only=True)
class SentMessage:
    """A message this entry sent, and the statuses already reported for it."""

    to: str  # as the API has it: "27831234567"
    client_message_id: str | None
    sent_at: datetime
    seen: list[MessageStatus] = field(default_factory=list)

    @property
    def final(self) -> bool:
        """Whether a final status was reported: no later status will follow."""
        return any(status.final for status in self.seen)


def signal_status(entry_id: str) -> str:
    """The dispatcher signal of the entry's statuses: (recipient subentry ID or None, data)."""
    return f"{DOMAIN}_{entry_id}_message_status"


def signal_received(entry_id: str) -> str:
    """The dispatcher signal of the entry's received SMS: (recipient subentry ID or None, data)."""
    return f"{DOMAIN}_{entry_id}_message_received"


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class MessageTracker:
    """The entry's sent messages, and the events their statuses and replies become."""

    def __init__(self, hass: HomeAssistant, entry: ClickatellConfigEntry) -> None:
        """Nothing is read until `async_load`."""
        self._hass = hass
        self._entry = entry
        self._store = Store[_StoredData](hass, STORAGE_VERSION, f"{DOMAIN}.{entry.entry_id}")
        self._sent: dict[str, SentMessage] = {}
        self._replies: dict[str, datetime] = {}
        # A change waits SAVE_DELAY for its write; an unload writes it at once.
        self._dirty = False
        # What the two-way side saw, for diagnostics: counts only, no content.
        self.counts: Counter[str] = Counter()

    async def async_load(self) -> None:
        """Read what was remembered before the last restart."""
        if (stored := await self._store.async_load()) is None:
            return
        for message_id, item in stored["sent"].items():
            self._sent[message_id] = SentMessage(
                to=item["to"],
                client_message_id=item["client_message_id"],
                sent_at=datetime.fromisoformat(item["sent_at"]),
                seen=[MessageStatus(status) for status in item["seen"]],
            )
        self._replies = {
            message_id: datetime.fromisoformat(when)
            for message_id, when in stored["replies"].items()
        }
        self._prune()

    async def async_flush(self) -> None:
        """Write a change still waiting for its delayed save: the entry unloads.

        Home Assistant's stop writes it itself (Store's final write), but an
        unload or reload does not: the next tracker reads the file, and a
        status of a message sent just before would no longer tie back to it.
        """
        if self._dirty:
            await self._store.async_save(self._data())

    async def async_remove(self) -> None:
        """Forget everything: the entry is deleted."""
        await self._store.async_remove()

    @property
    def remembered(self) -> int:
        """How many sent messages are remembered."""
        return len(self._sent)

    def unfinished(self, since: datetime) -> dict[str, SentMessage]:
        """Messages sent since then that have no final status yet, by message ID."""
        return {
            message_id: message
            for message_id, message in self._sent.items()
            if message.sent_at >= since and not message.final
        }

    @callback
    def async_sent(self, result: SendResult) -> None:
        """Remember the messages Clickatell accepted, to tie their statuses to them."""
        now = dt_util.utcnow()
        for item in result.accepted:
            if item.api_message_id is not None:
                self._sent[item.api_message_id] = SentMessage(
                    to=item.to, client_message_id=result.client_message_id, sent_at=now
                )
        self._prune()
        self._async_changed()

    @callback
    def async_status(self, status: DeliveryStatus) -> bool:
        """Fire the status of a message this entry sent, unless it was already reported.

        A status already seen (a retry, a replay) and a status that is not
        final after a final one (callbacks may come out of order) fire
        nothing. Returns whether an event was fired.
        """
        message = self._sent.get(status.api_message_id)
        if message is None:
            self.counts["unknown_message"] += 1
            LOGGER.debug("Status %s for a message this entry did not send", status.status)
            return False
        if status.status in message.seen or (message.final and not status.status.final):
            self.counts["repeated_status"] += 1
            LOGGER.debug("Status %s was already reported or is stale", status.status)
            return False
        message.seen.append(status.status)
        self._async_changed()
        self.counts["status"] += 1

        subentry_id, name = self._recipient(message.to)
        data: dict[str, Any] = {
            "config_entry_id": self._entry.entry_id,
            "message_id": status.api_message_id,
            "client_message_id": status.client_message_id or message.client_message_id,
            "to": message.to,
            "recipient": name,
            "status": status.status.value,
            "status_code": status.status_code,
            "status_text": status.status_text,
            "final": status.status.final,
            "failed": status.status.failed,
            "charge": status.charge,
            "timestamp": _time(status.timestamp),
        }
        self._hass.bus.async_fire(EVENT_MESSAGE_STATUS, data)
        async_dispatcher_send(self._hass, signal_status(self._entry.entry_id), subentry_id, data)
        return True

    @callback
    def async_received(self, message: InboundMessage) -> bool:
        """Fire an SMS received, unless it was already seen. Returns whether it fired."""
        if message.message_id in self._replies:
            self.counts["repeated_message"] += 1
            LOGGER.debug("An SMS received was already reported")
            return False
        self._replies[message.message_id] = dt_util.utcnow()
        self._prune()
        self._async_changed()

        subentry_id, name = self._recipient(message.sender)
        self.counts["received" if subentry_id else "received_from_others"] += 1
        data: dict[str, Any] = {
            "config_entry_id": self._entry.entry_id,
            "message_id": message.message_id,
            "from": message.sender,
            "recipient": name,
            "to": message.to,
            "text": message.text,
            "timestamp": _time(message.timestamp),
            "keyword": message.keyword,
            "related_message_id": message.related_message_id,
        }
        self._hass.bus.async_fire(EVENT_MESSAGE_RECEIVED, data)
        async_dispatcher_send(self._hass, signal_received(self._entry.entry_id), subentry_id, data)
        return True

    def _recipient(self, number: str) -> tuple[str | None, str | None]:
        """The subentry ID and name of the recipient with this number, if one has it."""
        if (subentry := recipient_of(self._entry, number)) is None:
            return None, None
        return subentry.subentry_id, subentry.title

    @callback
    def _async_changed(self) -> None:
        """Write within SAVE_DELAY: a burst of statuses is one write."""
        self._dirty = True
        self._store.async_delay_save(self._data, SAVE_DELAY)

    def _prune(self) -> None:
        """Forget what is too old, and the oldest beyond the bounds (the dicts keep their order)."""
        oldest_sent = dt_util.utcnow() - KEEP_SENT
        self._sent = {
            message_id: message
            for message_id, message in list(self._sent.items())[-MAX_SENT:]
            if message.sent_at >= oldest_sent
        }
        oldest_reply = dt_util.utcnow() - KEEP_REPLIES
        self._replies = {
            message_id: when
            for message_id, when in list(self._replies.items())[-MAX_REPLIES:]
            if when >= oldest_reply
        }

    @callback
    def _data(self) -> _StoredData:
        self._dirty = False
        return {
            "sent": {
                message_id: {
                    "to": message.to,
                    "client_message_id": message.client_message_id,
                    "sent_at": message.sent_at.isoformat(),
                    "seen": [status.value for status in message.seen],
                }
                for message_id, message in self._sent.items()
            },
            "replies": {message_id: when.isoformat() for message_id, when in self._replies.items()},
        }
