"""The relay's configuration: YAML in, voluptuous in the middle, frozen dataclasses out.

Every error names `file:line` of the value at fault: the YAML loader keeps the
position of every key and list item, and a validation error's path is walked
back through the document to the nearest position. Secrets may be written as
`${ENV_VAR}`, read from a file (`api_key_file:`, `password_file:`), or come
from environment variables that override the file (see `ENV_OVERRIDES`).
`RelayConfig.redacted()` is the only view of the configuration that is logged.
"""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import voluptuous as vol
import yaml

from aioclickatell import (
    ApiFlavour,
    ClickatellError,
    SendOptions,
)
from aioclickatell.const import (
    HTTP_POST_BATCH_CEILING,
    MAX_MESSAGE_PARTS_LIMIT,
    PLATFORM_BATCH_CEILING,
    REST_BATCH_CEILING,
)

from .payload import (
    PAYLOAD_OPTIONS,  # noqa: F401 - re-exported: tests import it here
    PRIORITY_HINT,
    PRIORITY_NAMES,
    parse_priority,
    template_problem,
)
from .routing import resolve_name, valid_number

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

REDACTED: Final = "**REDACTED**"
DEFAULT_CONFIG_PATH: Final = "/etc/clickatell-relay/relay.yaml"

# Environment variables that override the file's secrets (and only secrets).
ENV_OVERRIDES: Final = {
    ("clickatell", "api_key"): "CLICKATELL_API_KEY",
    ("clickatell", "username"): "CLICKATELL_USERNAME",
    ("clickatell", "password"): "CLICKATELL_PASSWORD",
    ("clickatell", "api_id"): "CLICKATELL_API_ID",
    ("mqtt", "username"): "RELAY_MQTT_USERNAME",
    ("mqtt", "password"): "RELAY_MQTT_PASSWORD",
}
SECRET_KEYS: Final = frozenset({"api_key", "password"})

BATCH_CEILINGS: Final = {
    ApiFlavour.REST: REST_BATCH_CEILING,
    ApiFlavour.PLATFORM: PLATFORM_BATCH_CEILING,
    ApiFlavour.HTTP: HTTP_POST_BATCH_CEILING,
}

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_DURATION_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_TOPIC_PREFIX = re.compile(r"[^#+\s]+")


# Positions ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Position:
    """Where a value sits in a file, 1-based."""

    file: str
    line: int
    column: int


class MarkedDict(dict[Any, Any]):
    """A YAML mapping that remembers where it and each of its values start."""

    position: Position | None = None
    key_positions: dict[Any, Position]


class MarkedList(list[Any]):
    """A YAML sequence that remembers where it and each of its items start."""

    position: Position | None = None
    item_positions: list[Position]


class _MarkingLoader(yaml.SafeLoader):
    """A safe loader that keeps positions on mappings and sequences."""

    def _position(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(self.name, mark.line + 1, mark.column + 1)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> MarkedDict:  # noqa: ARG002 - always deep
        """A mapping with positions; duplicate keys are an error, not a silent override."""
        self.flatten_mapping(node)
        result = MarkedDict()
        result.position = self._position(node)
        result.key_positions = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                ) from None
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_positions[key] = self._position(value_node)
        return result

    def construct_marked_sequence(self, node: yaml.SequenceNode) -> MarkedList:
        """A sequence with positions."""
        result = MarkedList(self.construct_object(child, deep=True) for child in node.value)
        result.position = self._position(node)
        result.item_positions = [self._position(child) for child in node.value]
        return result

    def construct_marked_mapping(self, node: yaml.MappingNode) -> MarkedDict:
        """Entry point registered for every mapping."""
        return self.construct_mapping(node, deep=True)


_MarkingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _MarkingLoader.construct_marked_mapping
)
_MarkingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _MarkingLoader.construct_marked_sequence
)


def _position_of(document: object, path: Sequence[Any]) -> Position | None:
    """The position of the deepest node on `path` that has one."""
    best = document.position if isinstance(document, MarkedDict | MarkedList) else None
    node: Any = document
    for step in path:
        key = step.schema if isinstance(step, vol.Marker) else step
        if isinstance(node, MarkedDict) and key in node:
            best = node.key_positions.get(key, best)
            node = node[key]
        elif isinstance(node, MarkedList) and isinstance(key, int) and 0 <= key < len(node):
            best = node.item_positions[key]
            node = node[key]
        else:
            break
    return best


# Errors ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configuration, with where it is."""

    message: str
    position: Position | None = None
    source: str = ""

    def __str__(self) -> str:
        """`file:line: message`, as compilers write it."""
        if self.position is None:
            return f"{self.source}: {self.message}" if self.source else self.message
        return f"{self.position.file}:{self.position.line}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; every problem names its line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        """Keep every problem; the message lists them one per line."""
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


# Typed configuration ----------------------------------------------------------


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


@dataclass(frozen=True, kw_only=True)
class ClickatellConfig:
    """The API account and how to call it."""

    api: ApiFlavour = ApiFlavour.PLATFORM
    api_key: str | None = field(default=None, repr=False)
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    api_id: str | None = None
    base_url: str | None = None
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
    receive_linger: float = 0.05
    max_burst: int = 500


@dataclass(frozen=True, kw_only=True)
class LimitsConfig:
    """How fast and how much the relay may send."""

    requests_per_second: float = 10.0
    messages_per_second: float = 100.0
    concurrency: int = 2
    per_recipient_per_hour: int | None = None
    per_recipient_overflow: str = "dead_letter"  # or "hold"
    daily_credit_budget: float | None = None
    credits_per_part: float = 1.0
    backoff_initial: float = 1.0
    backoff_max: float = 60.0
    balance_check_interval: float = 300.0
    poll_interval: float = 5.0


@dataclass(frozen=True, kw_only=True)
class DigestConfig:
    """Alertmanager-style grouping: wait, then at most one SMS per interval."""

    wait: float
    interval: float


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
    digest: DigestConfig | None = None
    options: SendOptions = field(default_factory=SendOptions)


@dataclass(frozen=True, kw_only=True)
class StatusConfig:
    """Status and Home Assistant discovery."""

    interval: float = 30.0
    discovery: bool = True
    discovery_prefix: str = "homeassistant"
    node_id: str = "clickatell_relay"
    name: str = "Clickatell relay"


@dataclass(frozen=True, kw_only=True)
class RelayConfig:
    """Everything the relay needs, checked."""

    mqtt: MqttConfig = field(default_factory=MqttConfig)
    clickatell: ClickatellConfig = field(default_factory=ClickatellConfig)
    queue: QueueConfig = field(default_factory=QueueConfig)
    limits: LimitsConfig = field(default_factory=LimitsConfig)
    status: StatusConfig = field(default_factory=StatusConfig)
    contacts: Mapping[str, str] = field(default_factory=dict)  # name -> number
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # name -> numbers
    allowlist: frozenset[str] = frozenset()  # every number an alert may reach
    routes: tuple[RouteConfig, ...] = ()
    log_level: str = "INFO"
    source: str = "<defaults>"

    def redacted(self) -> dict[str, Any]:
        """The configuration as plain data with every secret replaced; safe to log."""
        redacted: dict[str, Any] = _redact(asdict(self))
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
    return data


# Validators -------------------------------------------------------------------


def duration(value: object) -> float:
    """Seconds, as a number or as "30s", "5m", "1h", "7d", "250ms"."""
    if isinstance(value, bool):
        raise vol.Invalid("expected a duration such as 30, 30s, 5m or 1h")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and (match := _DURATION.fullmatch(value)):
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2) or "s"]
    else:
        raise vol.Invalid("expected a duration such as 30, 30s, 5m or 1h")
    if seconds < 0:
        raise vol.Invalid("a duration cannot be negative")
    return seconds


def _priority(value: object) -> int:
    if (priority := parse_priority(value)) is None:
        raise vol.Invalid(f"expected a priority {PRIORITY_HINT}")
    return priority


def _name(value: object) -> str:
    if isinstance(value, str) and _NAME.fullmatch(value):
        return value
    raise vol.Invalid("expected a name of letters, digits, '_', '-' and '.'")


def _text(value: object) -> str:
    """A non-empty string; numbers written without quotes become strings."""
    if isinstance(value, bool) or value is None:
        raise vol.Invalid("expected a text")
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise vol.Invalid("expected a non-empty text")


def topic_filter(value: object) -> str:
    """An MQTT topic filter: '+' and '#' only as whole levels, '#' only last."""
    if not isinstance(value, str) or not value or "\x00" in value:
        raise vol.Invalid("expected an MQTT topic filter")
    if value.startswith("$share/"):
        raise vol.Invalid("write the filter without $share/; set mqtt.shared_group instead")
    levels = value.split("/")
    for index, level in enumerate(levels):
        if ("+" in level and level != "+") or ("#" in level and level != "#"):
            raise vol.Invalid("'+' and '#' must fill a whole topic level")
        if level == "#" and index != len(levels) - 1:
            raise vol.Invalid("'#' may only be the last level")
    return value


def _topic_prefix(value: object) -> str:
    if isinstance(value, str) and _TOPIC_PREFIX.fullmatch(value) and not value.endswith("/"):
        return value
    raise vol.Invalid("expected a topic without wildcards, spaces or a trailing '/'")


def _positive(kind: type) -> Callable[[object], Any]:
    return vol.All(
        vol.Coerce(kind) if kind is float else _strict_int,
        vol.Range(min=0, min_included=False),
    )


def _strict_int(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise vol.Invalid("expected a whole number")


def _flavour(value: object) -> ApiFlavour:
    try:
        return ApiFlavour(str(value).lower())
    except ValueError:
        raise vol.Invalid("expected one of rest, platform, http") from None


def _options(value: object) -> SendOptions:
    if not isinstance(value, dict):
        raise vol.Invalid("expected a mapping of send options")
    try:
        return SendOptions.from_dict(dict(value))
    except ClickatellError as error:
        raise vol.Invalid(str(error)) from None
    except TypeError as error:
        raise vol.Invalid(f"invalid send option: {error}") from None


_TEXT_OR_NONE = vol.Any(None, _text)
_SECRET_FILE = vol.Any(None, _text)

TLS_SCHEMA = vol.Schema(
    {
        vol.Optional("enabled", default=False): bool,
        vol.Optional("ca_certs"): _TEXT_OR_NONE,
        vol.Optional("certfile"): _TEXT_OR_NONE,
        vol.Optional("keyfile"): _TEXT_OR_NONE,
        vol.Optional("insecure", default=False): bool,
    }
)

MQTT_SCHEMA = vol.Schema(
    {
        vol.Optional("host", default="127.0.0.1"): _text,
        vol.Optional("port", default=1883): vol.All(_strict_int, vol.Range(min=1, max=65535)),
        vol.Optional("client_id", default="clickatell-relay"): vol.All(_text, vol.Length(max=128)),
        vol.Optional("protocol", default="5"): vol.All(_text, vol.In(["5", "3.1.1"])),
        vol.Optional("session_expiry", default=7 * 86400): vol.All(
            duration, vol.Range(min=60, max=0xFFFFFFFE)
        ),
        vol.Optional("keepalive", default=30): vol.All(duration, vol.Range(min=5, max=65535)),
        vol.Optional("username"): _TEXT_OR_NONE,
        vol.Optional("password"): _TEXT_OR_NONE,
        vol.Optional("password_file"): _SECRET_FILE,
        vol.Optional("tls", default={}): TLS_SCHEMA,
        vol.Optional("topic_prefix", default="clickatell_relay"): _topic_prefix,
        vol.Optional("shared_group"): vol.Any(None, _name),
        vol.Optional("reconnect_min_delay", default=1.0): vol.All(duration, vol.Range(min=0.1)),
        vol.Optional("reconnect_max_delay", default=60.0): vol.All(duration, vol.Range(min=0.1)),
        vol.Optional("max_payload_bytes", default=16384): vol.All(
            _strict_int, vol.Range(min=64, max=1 << 20)
        ),
    }
)

CLICKATELL_SCHEMA = vol.Schema(
    {
        vol.Optional("api", default="platform"): _flavour,
        vol.Optional("api_key"): _TEXT_OR_NONE,
        vol.Optional("api_key_file"): _SECRET_FILE,
        vol.Optional("username"): _TEXT_OR_NONE,
        vol.Optional("password"): _TEXT_OR_NONE,
        vol.Optional("password_file"): _SECRET_FILE,
        vol.Optional("api_id"): _TEXT_OR_NONE,
        vol.Optional("base_url"): vol.Any(None, vol.All(_text, vol.Match(r"https?://"))),
        vol.Optional("max_batch_size", default=200): vol.All(_strict_int, vol.Range(min=1)),
        vol.Optional("default_region"): vol.Any(
            None, vol.All(_text, vol.Match(r"^[A-Za-z]{2}$"), str.upper)
        ),
        vol.Optional("sender"): _TEXT_OR_NONE,
        vol.Optional("request_timeout", default=15.0): vol.All(duration, vol.Range(min=0.1)),
    }
)

QUEUE_SCHEMA = vol.Schema(
    {
        vol.Optional("path", default="/var/lib/clickatell-relay/queue.db"): _text,
        vol.Optional("max_messages", default=10000): vol.All(_strict_int, vol.Range(min=1)),
        vol.Optional("max_age", default=86400.0): vol.All(duration, vol.Range(min=1)),
        vol.Optional("retention", default=86400.0): vol.All(duration, vol.Range(min=3600)),
        vol.Optional("receive_linger", default=0.05): vol.All(duration, vol.Range(max=5)),
        vol.Optional("max_burst", default=500): vol.All(_strict_int, vol.Range(min=1)),
    }
)

LIMITS_SCHEMA = vol.Schema(
    {
        vol.Optional("requests_per_second", default=10.0): _positive(float),
        vol.Optional("messages_per_second", default=100.0): _positive(float),
        vol.Optional("concurrency", default=2): vol.All(_strict_int, vol.Range(min=1, max=32)),
        vol.Optional("per_recipient_per_hour"): vol.Any(None, _positive(int)),
        vol.Optional("per_recipient_overflow", default="dead_letter"): vol.In(
            ["dead_letter", "hold"]
        ),
        vol.Optional("daily_credit_budget"): vol.Any(None, _positive(float)),
        vol.Optional("credits_per_part", default=1.0): _positive(float),
        vol.Optional("backoff_initial", default=1.0): vol.All(duration, vol.Range(min=0.01)),
        vol.Optional("backoff_max", default=60.0): vol.All(duration, vol.Range(min=0.01)),
        vol.Optional("balance_check_interval", default=300.0): vol.All(
            duration, vol.Range(min=0.1)
        ),
        vol.Optional("poll_interval", default=5.0): vol.All(duration, vol.Range(min=0.05)),
    }
)

DIGEST_SCHEMA = vol.Schema(
    {
        vol.Optional("wait", default=30.0): duration,
        vol.Optional("interval", default=300.0): duration,
    }
)

ROUTE_SCHEMA = vol.Schema(
    {
        vol.Optional("name"): _name,
        vol.Required("topic"): topic_filter,
        vol.Optional("recipients", default=[]): [_text],
        vol.Optional("priority", default="normal"): _priority,
        vol.Optional("payload", default="auto"): vol.In(["auto", "text", "json"]),
        vol.Optional("template"): vol.Any(None, _text),
        vol.Optional("max_parts", default=3): vol.All(
            _strict_int, vol.Range(min=1, max=MAX_MESSAGE_PARTS_LIMIT)
        ),
        vol.Optional("allow_payload_recipients", default=True): bool,
        vol.Optional("digest"): vol.Any(None, DIGEST_SCHEMA),
        vol.Optional("options", default={}): _options,
    }
)

STATUS_SCHEMA = vol.Schema(
    {
        vol.Optional("interval", default=30.0): vol.All(duration, vol.Range(min=1)),
        vol.Optional("discovery", default=True): bool,
        vol.Optional("discovery_prefix", default="homeassistant"): _topic_prefix,
        vol.Optional("node_id", default="clickatell_relay"): vol.All(
            _text, vol.Match(r"^[A-Za-z0-9_-]+$")
        ),
        vol.Optional("name", default="Clickatell relay"): _text,
    }
)

RELAY_SCHEMA = vol.Schema(
    {
        vol.Optional("mqtt", default={}): MQTT_SCHEMA,
        vol.Optional("clickatell", default={}): CLICKATELL_SCHEMA,
        vol.Optional("queue", default={}): QUEUE_SCHEMA,
        vol.Optional("limits", default={}): LIMITS_SCHEMA,
        vol.Optional("status", default={}): STATUS_SCHEMA,
        vol.Optional("contacts", default={}): vol.Any(None, {_name: _text}),
        vol.Optional("groups", default={}): vol.Any(None, {_name: [_text]}),
        vol.Optional("allowlist", default=[]): vol.Any(None, [_text]),
        vol.Required("routes"): vol.All([ROUTE_SCHEMA], vol.Length(min=1)),
        vol.Optional("log_level", default="INFO"): vol.All(
            _text, str.upper, vol.In(["DEBUG", "INFO", "WARNING", "ERROR"])
        ),
    }
)


# Loading --------------------------------------------------------------------------


def _expand_env(
    node: object,
    path: tuple[Any, ...],
    problems: list[tuple[tuple[Any, ...], str]],
    environ: Mapping[str, str],
) -> object:
    """Replace `${VAR}` in every string; an unset variable is a problem at its line."""
    if isinstance(node, MarkedDict):
        for key in list(node):
            node[key] = _expand_env(node[key], (*path, key), problems, environ)
        return node
    if isinstance(node, MarkedList):
        for index, item in enumerate(node):
            node[index] = _expand_env(item, (*path, index), problems, environ)
        return node
    if isinstance(node, str) and "$" in node:

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                problems.append((path, f"environment variable {name} is not set"))
                return ""
            return environ[name]

        return _ENV_REFERENCE.sub(replace, node)
    return node


class _Checker:
    """Collects problems with their document paths, for cross-field checks."""

    def __init__(self, document: object, source: str) -> None:
        self.document = document
        self.source = source
        self.problems: list[Problem] = []

    def add(self, path: Sequence[Any], message: str) -> None:
        # A problem with no place of its own (a key missing from an empty file)
        # is at the top of the file.
        position = _position_of(self.document, path) or _start(self.source)
        self.problems.append(Problem(message, position, self.source))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ConfigError(self.problems)


def _read_secret_file(
    section: dict[str, Any], key: str, path: tuple[str, ...], checker: _Checker, base: Path
) -> None:
    file_key = f"{key}_file"
    filename = section.pop(file_key, None)
    if filename is None:
        return
    if section.get(key):
        checker.add((*path, file_key), f"give {key} or {file_key}, not both")
        return
    secret_path = Path(filename)
    if not secret_path.is_absolute():
        secret_path = base / secret_path
    try:
        section[key] = secret_path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        checker.add((*path, file_key), f"cannot read {file_key}: {error.__class__.__name__}")
        return
    if not section[key]:
        checker.add((*path, file_key), f"{file_key} is empty")


def _start(source: str) -> Position:
    return Position(source, 1, 1)


def parse_config(
    text: str, source: str = "<string>", environ: Mapping[str, str] | None = None
) -> RelayConfig:
    """Check configuration text; raise ConfigError naming `source:line` for every problem."""
    environ = os.environ if environ is None else environ
    try:
        document = _load_yaml(text, source)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = (
            _start(source) if mark is None else Position(source, mark.line + 1, mark.column + 1)
        )
        problem = error.problem or error.context or "invalid YAML"
        raise ConfigError([Problem(f"invalid YAML: {problem}", position, source)]) from None
    except yaml.reader.ReaderError as error:  # a character YAML refuses: it knows where
        line = text.count("\n", 0, error.position) + 1
        position = Position(source, line, error.position - text.rfind("\n", 0, error.position))
        raise ConfigError([Problem(f"invalid YAML: {error.reason}", position, source)]) from None
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        raise ConfigError([Problem(f"invalid YAML: {error}", _start(source), source)]) from None
    if document is None:
        document = MarkedDict()
        document.key_positions = {}
    if not isinstance(document, MarkedDict):
        not_a_mapping = Problem("the configuration must be a mapping", _start(source), source)
        raise ConfigError([not_a_mapping])
    checker = _Checker(document, source)
    env_problems: list[tuple[tuple[Any, ...], str]] = []
    _expand_env(document, (), env_problems, environ)
    for path, message in env_problems:
        checker.add(path, message)
    checker.raise_if_any()
    try:
        data: dict[str, Any] = RELAY_SCHEMA(document)
    except vol.MultipleInvalid as error:
        for invalid in error.errors:
            message = invalid.msg
            if invalid.path:
                message = f"{'.'.join(str(step) for step in invalid.path)}: {message}"
            checker.add(invalid.path, message)
        checker.raise_if_any()
        raise  # pragma: no cover - MultipleInvalid always holds errors
    base = Path(source).parent if not source.startswith("<") else Path.cwd()
    return _build(data, checker, base, environ)


def _load_yaml(text: str, source: str) -> object:
    """One YAML document, safely, with positions (what `yaml.safe_load` does, marked)."""
    loader = _MarkingLoader(text)
    loader.name = source
    try:
        document: object = loader.get_single_data()
    finally:
        loader.dispose()
    return document


def _build(
    data: dict[str, Any], checker: _Checker, base: Path, environ: Mapping[str, str]
) -> RelayConfig:
    mqtt_data, api_data = _secrets(data, checker, base, environ)
    region: str | None = api_data.get("default_region")
    contacts, groups, allowlist = _directory(data, checker, region)
    routes = _routes(
        data["routes"],
        checker,
        contacts=contacts,
        groups=groups,
        region=region,
        sender=api_data.get("sender"),
    )
    for route in routes:
        allowlist.update(route.recipients)
    checker.raise_if_any()
    return RelayConfig(
        mqtt=MqttConfig(**{**mqtt_data, "tls": TlsConfig(**mqtt_data["tls"])}),
        clickatell=ClickatellConfig(**api_data),
        queue=QueueConfig(**data["queue"]),
        limits=LimitsConfig(**data["limits"]),
        status=StatusConfig(**data["status"]),
        contacts=contacts,
        groups=groups,
        allowlist=frozenset(allowlist),
        routes=tuple(routes),
        log_level=data["log_level"],
        source=checker.source,
    )


def _secrets(
    data: dict[str, Any], checker: _Checker, base: Path, environ: Mapping[str, str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The mqtt and clickatell sections with secret files read and overrides applied."""
    mqtt_data: dict[str, Any] = dict(data["mqtt"])
    api_data: dict[str, Any] = dict(data["clickatell"])
    _read_secret_file(api_data, "api_key", ("clickatell",), checker, base)
    _read_secret_file(api_data, "password", ("clickatell",), checker, base)
    _read_secret_file(mqtt_data, "password", ("mqtt",), checker, base)
    sections = {"clickatell": api_data, "mqtt": mqtt_data}
    for (section, key), variable in ENV_OVERRIDES.items():
        if environ.get(variable):
            sections[section][key] = environ[variable]
    flavour: ApiFlavour = api_data["api"]
    if flavour is ApiFlavour.HTTP:
        missing = [key for key in ("username", "password", "api_id") if not api_data.get(key)]
    else:
        missing = [] if api_data.get("api_key") else ["api_key"]
    if missing:
        checker.add(
            ("clickatell",),
            f"clickatell: the {flavour.value} API needs {', '.join(missing)} "
            "(in the file, a *_file, or the environment)",
        )
    ceiling = BATCH_CEILINGS[flavour]
    if api_data["max_batch_size"] > ceiling:
        checker.add(
            ("clickatell", "max_batch_size"),
            f"clickatell.max_batch_size: at most {ceiling} for the {flavour.value} API",
        )
    if mqtt_data["reconnect_max_delay"] < mqtt_data["reconnect_min_delay"]:
        checker.add(("mqtt", "reconnect_max_delay"), "must not be below reconnect_min_delay")
    if api_data.get("sender") is not None:
        try:
            SendOptions(sender=api_data["sender"])
        except ClickatellError as error:
            checker.add(("clickatell", "sender"), str(error))
    for secrets in (api_data, mqtt_data):
        secrets.pop("api_key_file", None)
        secrets.pop("password_file", None)
    return mqtt_data, api_data


def _directory(
    data: dict[str, Any], checker: _Checker, region: str | None
) -> tuple[dict[str, str], dict[str, tuple[str, ...]], set[str]]:
    """Contacts, groups and the allowlist, every number normalized."""
    contacts: dict[str, str] = {}
    for name, number in (data["contacts"] or {}).items():
        normalized = valid_number(number, region)
        if normalized is None:
            checker.add(("contacts", name), f"contact {name}: {number!r} is not a valid number")
        else:
            contacts[name] = normalized
    groups: dict[str, tuple[str, ...]] = {}
    for name, members in (data["groups"] or {}).items():
        if name in contacts:
            checker.add(("groups", name), f"group {name}: a contact has the same name")
        numbers: dict[str, None] = {}
        for index, member in enumerate(members):
            found = contacts.get(member) or valid_number(member, region)
            if found is None:
                checker.add(
                    ("groups", name, index),
                    f"group {name}: {member!r} is neither a contact nor a valid number",
                )
            else:
                numbers[found] = None
        groups[name] = tuple(numbers)
    allowlist: set[str] = set(contacts.values())
    for members_of_group in groups.values():
        allowlist.update(members_of_group)
    for index, entry in enumerate(data["allowlist"] or []):
        if (normalized := valid_number(entry, region)) is None:
            checker.add(("allowlist", index), f"allowlist: {entry!r} is not a valid number")
        else:
            allowlist.add(normalized)
    return contacts, groups, allowlist


def _routes(
    routes: list[dict[str, Any]],
    checker: _Checker,
    *,
    contacts: Mapping[str, str],
    groups: Mapping[str, tuple[str, ...]],
    region: str | None,
    sender: str | None,
) -> list[RouteConfig]:
    built: list[RouteConfig] = []
    names: set[str] = set()
    for index, route in enumerate(routes):
        path = ("routes", index)
        name = route.get("name") or f"route{index + 1}"
        if name in names:
            checker.add((*path, "name"), f"route name {name!r} is used twice")
        names.add(name)
        recipients: dict[str, None] = {}
        for position, entry in enumerate(route["recipients"]):
            resolved = resolve_name(entry, contacts, groups, region)
            if resolved is None:
                checker.add(
                    (*path, "recipients", position),
                    f"route {name}: {entry!r} is not a contact, a group or a valid number",
                )
            else:
                recipients.update(dict.fromkeys(resolved))
        if not recipients and not route["allow_payload_recipients"]:
            checker.add(
                (*path, "recipients"),
                f"route {name}: no recipients, and payloads may not name any",
            )
        options = _route_options(route["options"], (*path, "options"), checker, sender)
        template = route.get("template")
        if template is not None and (problem := template_problem(template)) is not None:
            checker.add((*path, "template"), f"route {name}: template: {problem}")
        digest_data = route.get("digest")
        built.append(
            RouteConfig(
                name=name,
                topic=route["topic"],
                recipients=tuple(recipients),
                priority=route["priority"],
                payload=route["payload"],
                template=route.get("template"),
                max_parts=route["max_parts"],
                allow_payload_recipients=route["allow_payload_recipients"],
                digest=None if digest_data is None else DigestConfig(**digest_data),
                options=options,
            )
        )
    return built


def _route_options(
    options: SendOptions, path: tuple[Any, ...], checker: _Checker, sender: str | None
) -> SendOptions:
    if options.client_message_id is not None:
        checker.add(path, "client_message_id is set by the relay per alert")
    if options.max_message_parts is not None:
        checker.add(path, "use the route's max_parts, not max_message_parts")
    if options.scheduled_delivery_time is not None:
        checker.add(path, "alerts are sent at once: scheduled_delivery_time is not allowed")
    if sender and options.sender is None:
        return SendOptions.from_dict({**options.set_options(), "sender": sender})
    return options


def load_config(
    path: str | os.PathLike[str], environ: Mapping[str, str] | None = None
) -> RelayConfig:
    """Read and check a configuration file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            [Problem(f"cannot read the configuration: {error}", None, source)]
        ) from None
    return parse_config(text, source, environ)
