"""The checked configuration: frozen dataclasses, and `redacted()`, the one view that is logged.

The defaults are the shipped ones; `schema.py` fills a key left out with the same value.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Final

from yarl import URL

from aioclickatell import MAX_CALLBACK_BYTES, ApiFlavour, SendOptions
from clickatell_relay.payload import PRIORITY_NAMES

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .problems import Problem

REDACTED: Final = "**REDACTED**"
DEFAULT_ACK_HINT: Final = "Reply ACK {ref} to acknowledge"
SECRET_KEYS: Final = frozenset({"api_key", "password", "path_secret"})


@dataclass(frozen=True, kw_only=True)
class TlsConfig:
    """TLS to the broker."""

    enabled: bool = False
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = False


@dataclass(frozen=True, kw_only=True)
class MqttConfig:
    """The broker, the session and the relay's own topics."""

    host: str = "127.0.0.1"
    port: int = 1883
    client_id: str = "clickatell-relay"
    protocol: str = "5"  # "5" or "3.1.1"
    session_expiry: int = 7 * 86400  # seconds the broker keeps our session offline
    keepalive: int = 30
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: TlsConfig = field(default_factory=TlsConfig)
    topic_prefix: str = "clickatell_relay"
    shared_group: str | None = None
    reconnect_min_delay: float = 1.0
    reconnect_max_delay: float = 60.0
    max_payload_bytes: int = 16384

    @property
    def status_topic(self) -> str:
        """Retained JSON status."""
        return f"{self.topic_prefix}/status"

    @property
    def availability_topic(self) -> str:
        """Retained online/offline; the last will says offline."""
        return f"{self.topic_prefix}/availability"

    @property
    def dead_letter_topic(self) -> str:
        """Every refused alert and every SMS given up on."""
        return f"{self.topic_prefix}/dead_letter"

    def notify_topic(self, name: str) -> str:
        """Where Home Assistant's notify entity for a contact or group publishes."""
        return f"{self.topic_prefix}/notify/{name}"


@dataclass(frozen=True, kw_only=True)
class ClickatellConfig:
    """The API account and how to call it."""

    api: ApiFlavour = ApiFlavour.PLATFORM
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_id: str | None = None
    base_url: str | None = field(default=None, repr=False)  # may hold a proxy's user:password@
    max_batch_size: int = 200
    default_region: str | None = None
    sender: str | None = None
    request_timeout: float = 15.0


@dataclass(frozen=True, kw_only=True)
class QueueConfig:
    """The durable queue on disk."""

    path: str = "/var/lib/clickatell-relay/queue.db"
    max_messages: int = 10000
    max_age: float = 86400.0
    retention: float = 86400.0
    receive_linger: float = 0.0  # 0: group commit
    max_burst: int = 500


@dataclass(frozen=True, kw_only=True)
class LimitsConfig:
    """How fast and how much the relay may send."""

    requests_per_second: float = 10.0
    messages_per_second: float = 100.0
    concurrency: int = 2
    # Out of the box: a check that flaps every minute would text each person 60
    # times an hour; a real incident rarely needs more than a few texts an hour
    # each (a digest route folds the rest). None: no cap.
    per_recipient_per_hour: int | None = 10
    per_recipient_overflow: str = "dead_letter"  # or "hold"
    daily_credit_budget: float | None = None
    credits_per_part: float = 1.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    max_unknown_outcomes: int = 3  # requests per SMS without a readable answer, then dead letter
    balance_check_interval: float = 300.0
    poll_interval: float = 5.0


@dataclass(frozen=True, kw_only=True)
class DigestConfig:
    """Alertmanager-style grouping: wait, then at most one SMS per interval."""

    wait: float
    interval: float


@dataclass(frozen=True, kw_only=True)
class AcknowledgeConfig:
    """Replies that acknowledge a route's alerts; repeats and an escalation until one does."""

    hint: str | None = DEFAULT_ACK_HINT  # appended to the SMS; `{ref}` is the alert's reference
    window: float = 86400.0  # a bare reply acknowledges the latest alert sent this long ago
    repeat_every: float | None = None  # None: no repeats
    repeat_max: int = 0  # repeats after the first SMS, at most
    escalate_after: float | None = None  # None: no escalation
    escalate_to: tuple[str, ...] = ()  # normalized numbers


@dataclass(frozen=True, kw_only=True)
class RouteConfig:
    """A topic filter and what becomes of the alerts published under it."""

    name: str
    topic: str
    recipients: tuple[str, ...]  # normalized numbers
    priority: int = PRIORITY_NAMES["normal"]
    payload: str = "auto"  # auto, text or json
    template: str | None = None
    max_parts: int = 3
    allow_payload_recipients: bool = True
    payload_options: frozenset[str] = frozenset()  # the send options a payload may set
    digest: DigestConfig | None = None
    options: SendOptions = field(default_factory=SendOptions)
    # The contact or group whose Home Assistant notify entity publishes here (its own route).
    notify_entity: str | None = None
    acknowledge: AcknowledgeConfig | None = None  # None: replies acknowledge nothing here


@dataclass(frozen=True, kw_only=True)
class StatusConfig:
    """Status and Home Assistant discovery."""

    interval: float = 30.0
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    node_id: str = "clickatell_relay"
    name: str = "Clickatell relay"
    # Contacts and groups with a Home Assistant notify entity (`all` resolved to names).
    notify_entities: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ListenerConfig:
    """The optional HTTP listener for Clickatell's callbacks (statuses and replies)."""

    enabled: bool = False
    host: str = "127.0.0.1"  # behind a reverse proxy with TLS on the same machine
    port: int = 8765
    path_secret: str | None = field(default=None, repr=False)  # the URL's only path segment
    username: str | None = None  # basic authentication, with password
    password: str | None = field(default=None, repr=False)
    max_body_bytes: int = MAX_CALLBACK_BYTES
    # Replies from numbers outside the directory and the allowlist are published only if set.
    publish_unknown_senders: bool = False
    # An SMS whose final status is failed or expired is also a dead letter.
    dead_letter_undelivered: bool = True

    @property
    def path(self) -> str:
        """The one path callbacks are taken on."""
        return f"/{self.path_secret}"


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    """Everything the relay needs, checked."""

    mqtt: MqttConfig = field(default_factory=MqttConfig)
    clickatell: ClickatellConfig = field(default_factory=ClickatellConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    status: StatusConfig = field(default_factory=StatusConfig)
    listener: ListenerConfig = field(default_factory=ListenerConfig)
    contacts: Mapping[str, str] = field(default_factory=dict)  # name -> number
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # name -> numbers
    allowlist: frozenset[str] = frozenset()  # every number an alert may reach
    routes: tuple[RouteConfig, ...] = ()
    log_level: str = "INFO"
    source: str = "<defaults>"
    # Settings that work but expose a secret or spend without limit (check-config prints them).
    warnings: tuple[Problem, ...] = field(default=(), compare=False)

    def redacted(self) -> dict[str, Any]:
        """The configuration as plain data with every secret replaced; safe to log."""
        redacted: dict[str, Any] = _redact(asdict(self))
        del redacted["warnings"]
        for route, original in zip(redacted["routes"], self.routes, strict=True):
            route["options"] = _redact(original.options.set_options())
        return redacted


def _redact(data: Any) -> Any:  # noqa: ANN401 - walks any plain data
    if isinstance(data, dict):
        return {
            key: (REDACTED if key in SECRET_KEYS and value else _redact(value))
            for key, value in data.items()
        }
    if isinstance(data, list | tuple):
        return [_redact(item) for item in data]
    if isinstance(data, frozenset | set):
        return sorted(data)
    if isinstance(data, str) and "@" in data:  # a URL's user:password@, as for a proxy
        try:
            url = URL(data)
        except ValueError:
            return data
        return str(url.with_password(REDACTED)) if url.password else data
    return data
