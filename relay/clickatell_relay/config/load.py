"""Reading relay.yaml: YAML with positions, `${VAR}`, the schema, then the checks across fields.

`parse_config` runs the stages in order and stops after the first that found
problems, reporting every problem of that stage with its `file:line`.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import voluptuous as vol
import yaml

from aioclickatell import ApiFlavour, ClickatellError, SendOptions
from aioclickatell.const import (
    HTTP_POST_BATCH_CEILING,
    PLATFORM_BATCH_CEILING,
    REST_BATCH_CEILING,
)
from clickatell_relay.payload import template_problem
from clickatell_relay.routing import filter_covers, resolve_name

from .directory import build_directory, notify_entities
from .model import (
    AcknowledgeConfig,
    ClickatellConfig,
    DigestConfig,
    LimitsConfig,
    ListenerConfig,
    MqttConfig,
    QueueConfig,
    RelayConfig,
    RouteConfig,
    StatusConfig,
    TlsConfig,
)
from .problems import Checker, ConfigError, Problem
from .risks import warn_of_risks, written_secrets
from .schema import RELAY_SCHEMA, path_secret_problem
from .secret_sources import (
    drop_secrets,
    expand_env,
    open_to_others,
    read_secrets,
    require_credentials,
)
from .yaml_positions import HomeAssistantTagError, MarkedDict, Position, load_marked_yaml

if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_CONFIG_PATH: Final = "/etc/clickatell-relay/relay.yaml"

BATCH_CEILINGS: Final = {
    ApiFlavour.REST: REST_BATCH_CEILING,
    ApiFlavour.PLATFORM: PLATFORM_BATCH_CEILING,
    ApiFlavour.HTTP: HTTP_POST_BATCH_CEILING,
}


def load_config(
    path: str | os.PathLike[str],
    environ: Mapping[str, str] | None = None,
    *,
    secrets: bool = True,
) -> RelayConfig:
    """Read and check a configuration file (see `parse_config` for `secrets`)."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(
            [Problem(f"cannot read the configuration: {error}", None, source)]
        ) from None
    return parse_config(
        text, source, environ, file_mode=open_to_others(Path(path)), secrets=secrets
    )


def parse_config(
    text: str,
    source: str = "<string>",
    environ: Mapping[str, str] | None = None,
    *,
    file_mode: int | None = None,
    secrets: bool = True,
) -> RelayConfig:
    """Check configuration text; raise ConfigError naming `source:line` for every problem.

    `file_mode`: the permissions of the file the text came from, when others
    may read it (a secret written in it is then a warning). Without `secrets`
    the credentials are neither read nor required: for commands that talk to
    neither Clickatell nor the broker, run where only systemd has secrets.env.
    """
    environ = os.environ if environ is None else environ
    document = _read_document(text, source)
    written = written_secrets(document)
    if not secrets:
        drop_secrets(document)
    checker = Checker(document, source)
    expand_env(document, (), checker, environ)
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
    config = _build(data, checker, base, environ, secrets=secrets)
    warn_of_risks(checker, config, written=written, file_mode=file_mode)
    return replace(config, warnings=tuple(checker.warnings))


def _read_document(text: str, source: str) -> MarkedDict:
    """The YAML mapping, or a ConfigError at the YAML's fault."""
    try:
        document = load_marked_yaml(text, source)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        position = (
            Position.top(source)
            if mark is None
            else Position(source, mark.line + 1, mark.column + 1)
        )
        problem = error.problem or error.context or "invalid YAML"
        if not isinstance(error, HomeAssistantTagError):  # valid YAML, but not ours
            problem = f"invalid YAML: {problem}"
        raise ConfigError([Problem(problem, position, source)]) from None
    except yaml.reader.ReaderError as error:  # a character YAML refuses: it knows where
        line = text.count("\n", 0, error.position) + 1
        position = Position(source, line, error.position - text.rfind("\n", 0, error.position))
        raise ConfigError([Problem(f"invalid YAML: {error.reason}", position, source)]) from None
    except (yaml.YAMLError, ValueError, RecursionError) as error:
        raise ConfigError(
            [Problem(f"invalid YAML: {error}", Position.top(source), source)]
        ) from None
    if document is None:
        document = MarkedDict()
        document.key_positions = {}
    if not isinstance(document, MarkedDict):
        not_a_mapping = Problem("the configuration must be a mapping", Position.top(source), source)
        raise ConfigError([not_a_mapping])
    return document


def _build(
    data: dict[str, Any],
    checker: Checker,
    base: Path,
    environ: Mapping[str, str],
    *,
    secrets: bool,
) -> RelayConfig:
    mqtt_data: dict[str, Any] = dict(data["mqtt"])
    api_data: dict[str, Any] = dict(data["clickatell"])
    listener_data: dict[str, Any] = dict(data["listener"])
    if secrets:
        sections = {"clickatell": api_data, "mqtt": mqtt_data, "listener": listener_data}
        read_secrets(sections, checker, base, environ)
        require_credentials(api_data, checker)
        _check_listener(listener_data, checker)
    _check_connections(mqtt_data, api_data, checker)
    region: str | None = api_data.get("default_region")
    contacts, groups, allowlist = build_directory(data, checker, region)
    sender: str | None = api_data.get("sender")
    routes = _routes(
        data["routes"], checker, contacts=contacts, groups=groups, region=region, sender=sender
    )
    for index, route in enumerate(routes):
        allowlist.update(route.recipients)
        if route.acknowledge is not None:
            allowlist.update(route.acknowledge.escalate_to)
            if not listener_data["enabled"]:
                checker.add(
                    ("routes", index, "acknowledge"),
                    f"route {route.name}: acknowledge needs the listener (listener.enabled:"
                    " true): replies reach the relay through it",
                )
    mqtt = MqttConfig(**{**mqtt_data, "tls": TlsConfig(**mqtt_data["tls"])})
    notify_names = notify_entities(data["status"]["notify_entities"], contacts, groups, checker)
    notify_routes = _notify_routes(
        notify_names, mqtt, routes, checker, contacts=contacts, groups=groups, sender=sender
    )
    checker.raise_if_any()
    return RelayConfig(
        mqtt=mqtt,
        clickatell=ClickatellConfig(**api_data),
        queue=QueueConfig(**data["queue"]),
        limits=LimitsConfig(**data["limits"]),
        status=StatusConfig(**{**data["status"], "notify_entities": notify_names}),
        listener=ListenerConfig(**listener_data),
        contacts=contacts,
        groups=groups,
        allowlist=frozenset(allowlist),
        routes=(*routes, *notify_routes),
        log_level=data["log_level"],
        source=checker.source,
    )


def _check_connections(
    mqtt_data: Mapping[str, Any], api_data: Mapping[str, Any], checker: Checker
) -> None:
    """Values in the mqtt and clickatell sections that depend on each other."""
    flavour: ApiFlavour = api_data["api"]
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


def _check_listener(listener: Mapping[str, Any], checker: Checker) -> None:
    """A listener that is on needs its path secret; basic authentication needs both halves.

    After the secrets are read: a path secret from a file or the environment
    is held to the same rules as one written in relay.yaml.
    """
    path: tuple[str, ...] = ("listener",)
    if listener["enabled"]:
        secret = listener.get("path_secret")
        if not secret:
            checker.add(
                (*path, "enabled"),
                "listener: enabled needs a path_secret (or path_secret_file, or "
                "RELAY_LISTENER_PATH_SECRET): clickatell-relay init generates one",
            )
        elif (problem := path_secret_problem(secret)) is not None:
            checker.add((*path, "path_secret"), f"listener.path_secret: {problem}")
    if bool(listener.get("username")) != bool(listener.get("password")):
        given = "username" if listener.get("username") else "password"
        checker.add(
            (*path, given),
            f"listener.{given}: basic authentication needs both username and password (or neither)",
        )


def _routes(
    routes: list[dict[str, Any]],
    checker: Checker,
    *,
    contacts: Mapping[str, str],
    groups: Mapping[str, tuple[str, ...]],
    region: str | None,
    sender: str | None,
) -> list[RouteConfig]:
    """The routes, their recipients resolved as the router resolves a payload's."""
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
        acknowledge = _acknowledge(
            route.get("acknowledge"), name, path, checker, contacts, groups, region
        )
        if acknowledge is not None and digest_data is not None:
            checker.add(
                (*path, "acknowledge"),
                f"route {name}: acknowledge and digest do not go together"
                " (a digest folds many alerts into one SMS, a reply acknowledges one)",
            )
        built.append(
            RouteConfig(
                name=name,
                topic=route["topic"],
                recipients=tuple(recipients),
                priority=route["priority"],
                payload=route["payload"],
                template=template,
                max_parts=route["max_parts"],
                allow_payload_recipients=route["allow_payload_recipients"],
                payload_options=frozenset(route["payload_options"] or ()),
                digest=None if digest_data is None else DigestConfig(**digest_data),
                options=options,
                acknowledge=acknowledge,
            )
        )
    return built


def _acknowledge(  # noqa: PLR0917 - the route's context, as `_routes` has it
    data: dict[str, Any] | None,
    name: str,
    path: tuple[str | int, ...],
    checker: Checker,
    contacts: Mapping[str, str],
    groups: Mapping[str, tuple[str, ...]],
    region: str | None,
) -> AcknowledgeConfig | None:
    """A route's acknowledgement settings, the escalation's names resolved to numbers."""
    if data is None:
        return None
    repeat = data.get("repeat")
    escalate = data.get("escalate")
    escalate_to: dict[str, None] = {}
    for position, entry in enumerate(escalate["to"] if escalate else []):
        resolved = resolve_name(entry, contacts, groups, region)
        if resolved is None:
            checker.add(
                (*path, "acknowledge", "escalate", "to", position),
                f"route {name}: escalate to {entry!r}: not a contact, a group or a valid number",
            )
        else:
            escalate_to.update(dict.fromkeys(resolved))
    return AcknowledgeConfig(
        hint=data["hint"],
        window=data["window"],
        repeat_every=repeat["every"] if repeat else None,
        repeat_max=repeat["max"] if repeat else 0,
        escalate_after=escalate["after"] if escalate else None,
        escalate_to=tuple(escalate_to),
    )


def _notify_routes(
    names: tuple[str, ...],
    mqtt: MqttConfig,
    routes: list[RouteConfig],
    checker: Checker,
    *,
    contacts: Mapping[str, str],
    groups: Mapping[str, tuple[str, ...]],
    sender: str | None,
) -> list[RouteConfig]:
    """One route per notify entity: its command topic to its contact's or group's numbers.

    After the configured routes (the first of those stays `queue send`'s
    default), but the router tries them first: a wide filter (`#`) never takes
    an entity's messages. The recipients are the entity's, never a payload's.
    """
    built: list[RouteConfig] = []
    for name in names:
        topic = mqtt.notify_topic(name)
        for index, route in enumerate(routes):
            if filter_covers(topic, route.topic):
                checker.add(
                    ("routes", index, "topic"),
                    f"route {route.name}: {topic} is the command topic of {name}'s notify "
                    "entity (status.notify_entities), whose own route takes it",
                )
        built.append(
            RouteConfig(
                name=f"notify:{name}",
                topic=topic,
                recipients=(contacts[name],) if name in contacts else groups[name],
                allow_payload_recipients=False,
                options=SendOptions(sender=sender) if sender else SendOptions(),
                notify_entity=name,
            )
        )
    return built


def _route_options(
    options: SendOptions, path: tuple[Any, ...], checker: Checker, sender: str | None
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
