"""The voluptuous schemas of relay.yaml and the validators they use.

A schema checks one value at a time and fills in defaults; what depends on
several values (credentials, batch ceilings, names to numbers) is checked
after it (see `load.py`).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Final

import voluptuous as vol

from aioclickatell import MAX_CALLBACK_BYTES, ApiFlavour, ClickatellError, SendOptions
from aioclickatell.const import MAX_MESSAGE_PARTS_LIMIT
from clickatell_relay.config.model import DEFAULT_ACK_HINT
from clickatell_relay.payload import PAYLOAD_OPTIONS, PRIORITY_HINT, parse_priority

if TYPE_CHECKING:
    from collections.abc import Callable

_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_DURATION_UNITS: Final = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")
_TOPIC_PREFIX = re.compile(r"[^#+\s]+")
MAX_REPEATS: Final = 100
# Long and unguessable: `clickatell-relay init` writes 43 (256 random bits, URL-safe base64).
MIN_PATH_SECRET: Final = 32
_PATH_SECRET = re.compile(r"[A-Za-z0-9_-]+")


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


def _notify_entities(value: object) -> str | list[str]:
    """`all`, or a list of contact and group names (none: no entity)."""
    if value is None:
        return []
    if value == "all":
        return "all"
    if isinstance(value, list):
        for index, item in enumerate(value):
            if not isinstance(item, str) or not _NAME.fullmatch(item):
                raise vol.Invalid("expected a contact or group name", path=[index])
        return value
    raise vol.Invalid("expected all, or a list of contact and group names")


def path_secret_problem(value: str) -> str | None:
    """What is wrong with a listener path secret, if anything."""
    if not _PATH_SECRET.fullmatch(value):
        return "expected letters, digits, '_' and '-' only"
    if len(value) < MIN_PATH_SECRET:
        return (
            f"too short to be unguessable: at least {MIN_PATH_SECRET} characters "
            "(clickatell-relay init generates one)"
        )
    return None


def _path_secret(value: object) -> str | None:
    """The listener's path: long, unguessable, and nothing a URL would need to escape."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise vol.Invalid("expected a text")
    if (problem := path_secret_problem(value)) is not None:
        raise vol.Invalid(problem)
    return value


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


_OPTION_NAMES = ", ".join(sorted(PAYLOAD_OPTIONS))
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
        vol.Optional("receive_linger", default=0.0): vol.All(duration, vol.Range(max=5)),
        vol.Optional("max_burst", default=500): vol.All(_strict_int, vol.Range(min=1)),
    }
)

LIMITS_SCHEMA = vol.Schema(
    {
        vol.Optional("requests_per_second", default=10.0): _positive(float),
        vol.Optional("messages_per_second", default=100.0): _positive(float),
        vol.Optional("concurrency", default=2): vol.All(_strict_int, vol.Range(min=1, max=32)),
        vol.Optional("per_recipient_per_hour", default=10): vol.Any(None, _positive(int)),
        vol.Optional("per_recipient_overflow", default="dead_letter"): vol.In(
            ["dead_letter", "hold"]
        ),
        vol.Optional("daily_credit_budget"): vol.Any(None, _positive(float)),
        vol.Optional("credits_per_part", default=1.0): _positive(float),
        vol.Optional("backoff_initial", default=1.0): vol.All(duration, vol.Range(min=0.01)),
        vol.Optional("backoff_max", default=60.0): vol.All(duration, vol.Range(min=0.01)),
        vol.Optional("max_unknown_outcomes", default=3): vol.All(
            _strict_int, vol.Range(min=1, max=100)
        ),
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

REPEAT_SCHEMA = vol.Schema(
    {
        vol.Required("every"): vol.All(duration, vol.Range(min=0.1)),
        vol.Required("max"): vol.All(_strict_int, vol.Range(min=1, max=MAX_REPEATS)),
    }
)

ESCALATE_SCHEMA = vol.Schema(
    {
        vol.Required("after"): vol.All(duration, vol.Range(min=0.1)),
        vol.Required("to"): vol.All([_text], vol.Length(min=1)),
    }
)


def _hint(value: object) -> str | None:
    """The text appended to an acknowledgeable SMS: `{ref}` once, no other braces."""
    if value is None or value is False:
        return None
    text = _text(value)
    if text.count("{ref}") != 1 or set("{}") & set(text.replace("{ref}", "")):
        raise vol.Invalid("expected a text with {ref} once (the alert's reference), or false")
    return text


ACKNOWLEDGE_SCHEMA = vol.Schema(
    {
        vol.Optional("hint", default=DEFAULT_ACK_HINT): _hint,
        vol.Optional("window", default=86400.0): vol.All(duration, vol.Range(min=1)),
        vol.Optional("repeat"): vol.Any(None, REPEAT_SCHEMA),
        vol.Optional("escalate"): vol.Any(None, ESCALATE_SCHEMA),
    }
)


def _acknowledge(value: object) -> dict[str, Any] | None:
    """`true` (the defaults), `false`, or the settings."""
    if value is None or value is False:
        return None
    if value is True:
        value = {}
    if not isinstance(value, dict):
        raise vol.Invalid("expected true, false or a mapping (hint, window, repeat, escalate)")
    checked: dict[str, Any] = ACKNOWLEDGE_SCHEMA(value)
    return checked


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
        vol.Optional("payload_options", default=[]): vol.Any(
            None, [vol.In(sorted(PAYLOAD_OPTIONS), msg=f"expected one of {_OPTION_NAMES}")]
        ),
        vol.Optional("digest"): vol.Any(None, DIGEST_SCHEMA),
        vol.Optional("options", default={}): _options,
        vol.Optional("acknowledge"): _acknowledge,
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
        vol.Optional("notify_entities", default=[]): _notify_entities,
    }
)

LISTENER_SCHEMA = vol.Schema(
    {
        vol.Optional("enabled", default=False): bool,
        vol.Optional("host", default="127.0.0.1"): _text,
        # 0: a free port the system picks (tests); the log says which.
        vol.Optional("port", default=8765): vol.All(_strict_int, vol.Range(min=0, max=65535)),
        vol.Optional("path_secret"): _path_secret,
        vol.Optional("path_secret_file"): _SECRET_FILE,
        vol.Optional("username"): _TEXT_OR_NONE,
        vol.Optional("password"): _TEXT_OR_NONE,
        vol.Optional("password_file"): _SECRET_FILE,
        vol.Optional("max_body_bytes", default=MAX_CALLBACK_BYTES): vol.All(
            _strict_int, vol.Range(min=1024, max=MAX_CALLBACK_BYTES)
        ),
        vol.Optional("publish_unknown_senders", default=False): bool,
        vol.Optional("dead_letter_undelivered", default=True): bool,
    }
)

RELAY_SCHEMA = vol.Schema(
    {
        vol.Optional("mqtt", default={}): MQTT_SCHEMA,
        vol.Optional("clickatell", default={}): CLICKATELL_SCHEMA,
        vol.Optional("queue", default={}): QUEUE_SCHEMA,
        vol.Optional("limits", default={}): LIMITS_SCHEMA,
        vol.Optional("status", default={}): STATUS_SCHEMA,
        vol.Optional("listener", default={}): LISTENER_SCHEMA,
        vol.Optional("contacts", default={}): vol.Any(None, {_name: _text}),
        vol.Optional("groups", default={}): vol.Any(None, {_name: [_text]}),
        vol.Optional("allowlist", default=[]): vol.Any(None, [_text]),
        vol.Required("routes"): vol.All([ROUTE_SCHEMA], vol.Length(min=1)),
        vol.Optional("log_level", default="INFO"): vol.All(
            _text, str.upper, vol.In(["DEBUG", "INFO", "WARNING", "ERROR"])
        ),
    }
)
