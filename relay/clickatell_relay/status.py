"""What the relay tells the world: retained status JSON, availability, Home Assistant discovery.

`<prefix>/availability` is `online` while we are connected and `offline`
otherwise (our last will says `offline` when we vanish). `<prefix>/status`
holds the retained JSON below. Discovery configs under
`<discovery_prefix>/sensor/<node_id>/<object>/config` make the figures appear
in Home Assistant as sensors of one device, with no configuration there, and
`<discovery_prefix>/notify/<node_id>/<name>/config` a notify entity per
contact or group of `status.notify_entities`, which publishes to the
entity's route (`<prefix>/notify/<name>`).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from . import __version__

if TYPE_CHECKING:
    from .config import RelayConfig
    from .store import Stats

ONLINE: Final = "online"
OFFLINE: Final = "offline"
# The relay's JSON alert, with the message escaped by Home Assistant's own JSON
# filter: a message that looks like JSON, or has quotes or braces, stays text.
# (Home Assistant's MQTT notify gives the template the message only: no title.)
NOTIFY_COMMAND_TEMPLATE: Final = '{{ {"text": value} | to_json }}'
_SEPARATORS = re.compile(r"[^a-z0-9]+")


@dataclass
class Health:
    """Live facts the store does not hold: errors, pauses, balance.

    Errors are kept by what they are about (`send`, `balance`, `broker`,
    `queue`, a task's name), each until that part works again: the status's
    `last_error` is the latest error still standing, and none once all is well.
    """

    errors: dict[str, tuple[str, float]] = field(default_factory=dict)  # source: (text, time)
    paused: bool = False
    pause_reason: str | None = None
    balance: float | None = None
    currency: str | None = None
    started_at: float = 0.0

    def error(self, source: str, message: str) -> None:
        """Remember an error about `source`."""
        self.errors[source] = (message, time.time())

    def clear(self, *sources: str) -> None:
        """These work again."""
        for source in sources:
            self.errors.pop(source, None)

    @property
    def last_error(self) -> str | None:
        """The latest error still standing."""
        latest = max(self.errors.values(), key=lambda error: error[1], default=None)
        return None if latest is None else latest[0]

    @property
    def last_error_at(self) -> float | None:
        """When it happened."""
        return max((at for _text, at in self.errors.values()), default=None)

    def pause(self, reason: str) -> None:
        """Sending is paused (no credit, budget spent, credentials refused)."""
        self.paused = True
        self.pause_reason = reason

    def resume(self) -> None:
        """Sending goes on."""
        self.paused = False
        self.pause_reason = None


def _iso(timestamp: float | None) -> str | None:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, UTC).isoformat()


def status_payload(
    stats: Stats,
    health: Health,
    *,
    durable_commits: int = 0,
    bookkeeping_commits: int = 0,
    state: str = ONLINE,
    now: float | None = None,
) -> dict[str, Any]:
    """The status document published (retained) on `<prefix>/status`."""
    now = time.time() if now is None else now
    counters = stats.counters
    oldest = stats.oldest_queued_at
    return {
        "state": state,
        "queue_depth": stats.queue_depth,
        "digest_waiting": stats.digest_waiting,
        "oldest_age": 0 if oldest is None else max(0, round(now - oldest)),
        "received": int(counters.get("received", 0)),
        "sent": int(counters.get("sent", 0)),
        "failed": int(counters.get("failed", 0)),
        "dead_lettered": int(counters.get("dead_lettered", 0)),
        # Final delivery statuses called back (listener): on the handset, or not.
        "delivered": int(counters.get("delivered", 0)),
        "undelivered": int(counters.get("undelivered", 0)),
        "inbound": int(counters.get("inbound", 0)),
        "dead_letters_stored": stats.dead_letters,
        "awaiting_ack": stats.awaiting_ack,
        "acknowledged": int(counters.get("acknowledged", 0)),
        "last_error": health.last_error,
        "last_error_at": _iso(health.last_error_at),
        "paused": health.paused,
        "pause_reason": health.pause_reason,
        "balance": health.balance,
        "currency": health.currency,
        "credits_today": round(stats.credits_today, 2),
        "durable_commits": durable_commits,
        "bookkeeping_commits": bookkeeping_commits,
        "version": __version__,
        "updated_at": _iso(now),
    }


@dataclass(frozen=True, kw_only=True)
class _Entity:
    component: str
    object_id: str
    name: str
    template: str
    extra: dict[str, Any]


_ENTITIES: Final = (
    _Entity(
        component="sensor",
        object_id="queue_depth",
        name="Queue depth",
        template="{{ value_json.queue_depth }}",
        extra={"state_class": "measurement", "unit_of_measurement": "SMS", "icon": "mdi:tray-full"},
    ),
    _Entity(
        component="sensor",
        object_id="oldest_age",
        name="Oldest queued",
        template="{{ value_json.oldest_age }}",
        extra={
            "device_class": "duration",
            "state_class": "measurement",
            "unit_of_measurement": "s",
        },
    ),
    _Entity(
        component="sensor",
        object_id="sent",
        name="Sent",
        template="{{ value_json.sent }}",
        extra={
            "state_class": "total_increasing",
            "unit_of_measurement": "SMS",
            "icon": "mdi:message-check",
        },
    ),
    _Entity(
        component="sensor",
        object_id="failed",
        name="Failed attempts",
        template="{{ value_json.failed }}",
        extra={"state_class": "total_increasing", "icon": "mdi:message-alert"},
    ),
    _Entity(
        component="sensor",
        object_id="dead_lettered",
        name="Dead-lettered",
        template="{{ value_json.dead_lettered }}",
        extra={"state_class": "total_increasing", "icon": "mdi:email-off"},
    ),
    _Entity(
        component="sensor",
        object_id="last_error",
        name="Last error",
        template="{{ value_json.last_error or 'none' }}",
        extra={"entity_category": "diagnostic", "icon": "mdi:alert-circle-outline"},
    ),
    _Entity(
        component="sensor",
        object_id="balance",
        name="Balance",
        # A null balance renders "None", which Home Assistant's MQTT sensor reads as unknown.
        template="{{ value_json.balance }}",
        extra={"icon": "mdi:cash"},  # and `balance_unit`
    ),
    _Entity(
        component="binary_sensor",
        object_id="paused",
        name="Sending paused",
        template="{{ 'ON' if value_json.paused else 'OFF' }}",
        extra={"device_class": "problem"},
    ),
)


def notify_object_id(name: str) -> str:
    """A contact's or group's name as it appears in its notify entity's ID.

    As Home Assistant's `slugify` makes it of an ASCII name: what is neither a
    letter nor a digit becomes one `_`, none at either end.
    """
    return _SEPARATORS.sub("_", name.lower()).strip("_")


def balance_unit(currency: str | None) -> dict[str, str]:
    """The balance sensor's unit: the currency the API gives (the One API's), else credits.

    Home Assistant takes a monetary sensor with state class `total` only.
    """
    if currency:
        return {"device_class": "monetary", "state_class": "total", "unit_of_measurement": currency}
    return {"state_class": "measurement", "unit_of_measurement": "credits"}


def discovery_messages(config: RelayConfig, currency: str | None = None) -> list[tuple[str, str]]:
    """(topic, retained payload) of every Home Assistant discovery config.

    `currency`: the account's, as the last balance gave it (None: credits).
    """
    status = config.status
    node = status.node_id
    device = {
        "identifiers": [node],
        "name": status.name,
        "manufacturer": "clickatell-relay",
        "model": "MQTT to SMS relay",
        "sw_version": __version__,
    }
    messages = []
    for entity in _ENTITIES:
        payload = {
            "name": entity.name,
            "unique_id": f"{node}_{entity.object_id}",
            # The entity ID (Home Assistant 2026.4 ignores the old `object_id`).
            "default_entity_id": f"{entity.component}.{node}_{entity.object_id}",
            "state_topic": config.mqtt.status_topic,
            "value_template": entity.template,
            "json_attributes_topic": config.mqtt.status_topic
            if entity.object_id == "last_error"
            else None,
            "availability_topic": config.mqtt.availability_topic,
            "payload_available": ONLINE,
            "payload_not_available": OFFLINE,
            "device": device,
            **entity.extra,
            **(balance_unit(currency) if entity.object_id == "balance" else {}),
        }
        topic = f"{status.discovery_prefix}/{entity.component}/{node}/{entity.object_id}/config"
        messages.append((topic, json.dumps({k: v for k, v in payload.items() if v is not None})))
    for name in status.notify_entities:
        object_id = notify_object_id(name)
        payload = {
            "name": name,
            "unique_id": f"{node}_notify_{object_id}",
            "default_entity_id": f"notify.{node}_{object_id}",
            "command_topic": config.mqtt.notify_topic(name),
            "command_template": NOTIFY_COMMAND_TEMPLATE,
            # Held by the broker for the relay's persistent session while it is away.
            # No availability on purpose: Home Assistant skips an unavailable entity's
            # action (a warning in its log, no error), so a message sent while the relay
            # restarts would never reach the broker.
            "qos": 1,
            "retain": False,
            "icon": "mdi:message-text-outline",
            "device": device,
        }
        topic = f"{status.discovery_prefix}/notify/{node}/{object_id}/config"
        messages.append((topic, json.dumps(payload)))
    return messages
