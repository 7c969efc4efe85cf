"""Settings that work but are risky: warnings, not errors.

A secret exposed, spending without limit, a route that also hears the
relay's own topics. `check-config` prints them with their `file:line` and
`run` logs them; the relay still starts. Secret files others may read are
warned of where they are read (`secret_sources.py`), the rest here.
"""

from __future__ import annotations

from ipaddress import ip_address
from typing import TYPE_CHECKING

from yarl import URL

from clickatell_relay.routing import hears_own_topics

from .secret_sources import ENV_OVERRIDES, SECRET_FILES
from .yaml_positions import MarkedDict

if TYPE_CHECKING:
    from .model import RelayConfig
    from .problems import Checker


def written_secrets(document: MarkedDict) -> list[tuple[str, str]]:
    """The secrets written in the file itself rather than as `${VAR}` (read before expansion)."""
    written: list[tuple[str, str]] = []
    for section, key in SECRET_FILES:
        values = document.get(section)
        value = values.get(key) if isinstance(values, MarkedDict) else None
        if isinstance(value, str) and value and "${" not in value:
            written.append((section, key))
    return written


def warn_of_risks(
    checker: Checker,
    config: RelayConfig,
    *,
    written: list[tuple[str, str]],
    file_mode: int | None,
) -> None:
    """Warn of every risky setting of a checked configuration."""
    if file_mode is not None:  # the file is open to others
        for section, key in written:
            checker.warn(
                (section, key),
                f"{section}.{key} is written in {checker.source}, which others can read "
                f"(mode {file_mode:04o}): use ${{{ENV_OVERRIDES[section, key]}}} set in "
                f"secrets.env, or {key}_file, or chmod 600 {checker.source}",
            )
    mqtt = config.mqtt
    if mqtt.password and not mqtt.tls.enabled and not is_loopback(mqtt.host):
        checker.warn(
            ("mqtt", "password"),
            f"mqtt.password travels unencrypted to {mqtt.host}: enable mqtt.tls",
        )
    if mqtt.tls.insecure:
        checker.warn(
            ("mqtt", "tls", "insecure"),
            "mqtt.tls.insecure: the broker's certificate is not checked, "
            "so anyone on the way can pose as the broker",
        )
    base_url = URL(config.clickatell.base_url or "https://api.clickatell.com")
    if base_url.scheme == "http" and not is_loopback(base_url.host or ""):
        checker.warn(
            ("clickatell", "base_url"),
            f"clickatell.base_url is plain http to {base_url.host}: "
            "the API key travels unencrypted",
        )
    for index, route in enumerate(config.routes):
        if route.notify_entity is None and (heard := hears_own_topics(config, route.topic)):
            checker.warn(
                ("routes", index, "topic"),
                f"route {route.name}: {route.topic} also matches the relay's own topics "
                f"({', '.join(heard)}): the relay ignores those, never texts them",
            )
    listener = config.listener
    if listener.enabled and not is_loopback(listener.host):
        checker.warn(
            ("listener", "host"),
            f"listener.host {listener.host}: the listener speaks plain HTTP, so its path "
            "secret and password travel unencrypted: bind it to 127.0.0.1 behind a reverse "
            'proxy with TLS (relay/README.md, "Callbacks")',
        )
    if config.limits.daily_credit_budget is None:
        checker.warn(
            ("limits", "daily_credit_budget"),
            "limits.daily_credit_budget is not set: nothing caps what a day of alerts may cost",
        )


def is_loopback(host: str) -> bool:
    """Whether `host` is this machine (a name other than localhost is not)."""
    try:
        return host == "localhost" or ip_address(host).is_loopback
    except ValueError:
        return False
