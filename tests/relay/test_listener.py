"""The callback listener, for real: the simulator calls the relay's listener back.

A real mosquitto, the simulator with its callback_url and mo_url pointing at
the relay's listener, the relay in this event loop: statuses and replies go
from the simulator's callbacks to MQTT topics, the queue and the status.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from aioclickatell import InboundMessage
from clickatell_relay.broker import LocalBroker
from clickatell_relay.cli import main
from clickatell_relay.config import (
    REDACTED,
    ConfigError,
    Contact,
    RelayConfig,
    parse_config,
    read_env_file,
)
from clickatell_relay.relay import Relay
from clickatell_relay.simulator import Simulator

from .conftest import (
    ALICE,
    BOB,
    Client,
    ConfigFactory,
    commits_blocked,
    mqtt_client,
    running,
    until,
    until_async,
)

SECRET = "s3cret-Path-0123456789-abcdefghijklmnop"
PASSWORD = "callback-Pass-Wq93"
TWO_WAY = "2799900999"
STRANGER = "2799900777"
FAILING = "2799998005"  # the simulator's test range: ends in 005, failed
FLAVOURS = ["rest", "http", "platform"]
FORM = "application/x-www-form-urlencoded"
MO_FORMATS = {"rest": "post", "http": "get", "platform": "one_api"}
# How the legacy APIs call back with statuses (the portal's choice): one of each kind.
CALLBACK_METHODS = {"rest": "xml", "http": "get", "platform": "post"}


def listener_config(
    make_config: ConfigFactory,
    api: str = "rest",
    changes: dict[str, Any] | None = None,
    **listener: Any,
) -> RelayConfig:
    """A relay for the simulator's `api`, its listener on a free port."""
    simulator = make_config.simulator
    assert simulator is not None
    account = {"username": "simulator", "password": "simulator-password", "api_id": "1"}
    return make_config(
        clickatell={"api": api, "base_url": simulator.base_url(api), **account},
        listener={"enabled": True, "port": 0, "path_secret": SECRET, **listener},
        **(changes or {}),
    )


def url(relay: Relay, path: str = SECRET, auth: str = "") -> str:
    assert relay.listener is not None
    return f"http://{auth}127.0.0.1:{relay.listener.port}/{path}"


@asynccontextmanager
async def listening(
    config: Any, simulator: Simulator, api: str = "rest"
) -> AsyncIterator[tuple[Relay, Client]]:
    """The relay running, its listener up, the simulator calling it back; a subscribed client."""
    async with running(config) as relay, mqtt_client(config) as client:
        assert relay.listener is not None
        await until(relay.listener.listening.is_set)
        auth = ""
        if config.listener.username:
            auth = f"{config.listener.username}:{config.listener.password}@"
        simulator.account.callback_url = url(relay, auth=auth)
        simulator.account.mo_url = url(relay, auth=auth)
        simulator.account.mo_format = MO_FORMATS[api]
        simulator.account.callback_method = CALLBACK_METHODS[api]
        simulator.timings.callback_retry_delays = (0.2, 0.2, 0.2, 0.2, 0.2)
        simulator.timings.mo_retry_delays = (0.2, 0.2, 0.2)
        await client.subscribe("relay/delivery/#", "relay/inbound", "relay/dead_letter")
        yield relay, client


def basic(username: str, password: str) -> str:
    """A basic authentication header's value."""
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def statuses(client: Client, route: str = "alerts") -> list[dict[str, Any]]:
    return client.json(f"relay/delivery/{route}")


@pytest.mark.parametrize("api", FLAVOURS)
async def test_an_alert_is_followed_to_delivered(
    api: str, broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = listener_config(make_config, api)
    async with listening(config, simulator, api) as (relay, client):
        await client.publish("alerts/db", "Database down")
        await until(lambda: sum(item["status"] == "delivered" for item in statuses(client)) == 2)
        status = await relay.status()
        rows = await relay.store.call(relay.store.messages, state="sent")
    sent = {message.to: message for message in simulator.messages}
    delivered = [item for item in statuses(client) if item["status"] == "delivered"]
    assert sorted(item["recipient"] for item in delivered) == [ALICE, BOB]
    for item in delivered:
        message = sent[item["recipient"]]
        assert item["api_message_id"] == message.api_message_id
        assert item["client_message_id"] == message.client_message_id
        assert item["route"] == "alerts"
        assert item["topic"] == "alerts/db"
        assert item["final"] is True
        assert item["contact"] == {ALICE: "alice", BOB: "bob"}[item["recipient"]]
        assert item["code"]
    assert status["delivered"] == 2
    assert status["undelivered"] == 0
    assert {row["delivery"] for row in rows} == {"delivered"}


@pytest.mark.parametrize("api", ["rest", "http"])
async def test_legacy_messages_ask_for_every_status(
    api: str, broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = listener_config(make_config, api)
    async with listening(config, simulator, api) as (_relay, client):
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(simulator.messages) == 2)
    level = "callback" if api == "rest" else "msg_callback"
    assert {str(message.options[level]) for message in simulator.messages} == {"7"}


async def test_without_the_listener_no_callback_is_asked_for(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config()
    async with running(config) as relay, mqtt_client(config) as client:
        assert relay.listener is None
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(simulator.messages) == 2)
    assert all("callback" not in message.options for message in simulator.messages)


@pytest.mark.parametrize("dead_letter", [True, False])
async def test_a_failed_delivery_is_published_counted_and_dead_lettered(
    dead_letter: bool,
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = listener_config(
        make_config,
        changes={"routes": [{"name": "alerts", "topic": "alerts/#", "recipients": [FAILING]}]},
        dead_letter_undelivered=dead_letter,
    )
    async with listening(config, simulator) as (relay, client):
        await client.publish("alerts/db", "Database down")
        await until(lambda: any(item["final"] for item in statuses(client)))
        if dead_letter:
            await until(lambda: client.json("relay/dead_letter"))
        status = await relay.status()
        assert await asyncio.to_thread(main, ["queue", "list", "--config", config.source]) == 0
    (failed,) = [item for item in statuses(client) if item["final"]]
    assert (failed["status"], failed["code"], failed["recipient"]) == ("failed", "005", FAILING)
    assert failed["contact"] is None  # a route's own number, no contact's
    assert (status["delivered"], status["undelivered"]) == (0, 1)
    letters = client.json("relay/dead_letter")
    if dead_letter:
        (letter,) = letters
        assert (letter["reason"], letter["code"], letter["recipient"]) == (
            "undelivered",
            "005",
            FAILING,
        )
        assert letter["route"] == "alerts"
        assert letter["client_message_id"] == failed["client_message_id"]
    else:
        assert letters == []
    out = capsys.readouterr().out
    assert f"to {FAILING}: failed 005" in out
    assert "undelivered 1" in out


async def test_statuses_of_one_sms_in_order_and_each_once(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = listener_config(make_config)
    async with listening(config, simulator) as (_relay, client):
        await client.publish("alerts/db", "Database down")
        await until(lambda: sum(item["final"] for item in statuses(client)) == 2)
        await simulator.callbacks_settled()
    for number in (ALICE, BOB):
        seen = [item["status"] for item in statuses(client) if item["recipient"] == number]
        assert seen == ["delivered_to_gateway", "delivered"]


@pytest.mark.parametrize("api", FLAVOURS)
async def test_a_reply_is_published_and_handed_to_the_hooks_once(
    api: str, broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = listener_config(make_config, api)
    heard: list[tuple[InboundMessage, Contact | None]] = []

    async def hook(message: InboundMessage, contact: Contact | None) -> None:
        heard.append((message, contact))

    async with listening(config, simulator, api) as (relay, client):
        relay.inbound_hooks.append(hook)
        message_id = simulator.inject_inbound(ALICE, TWO_WAY, "ACK 42 on my way ✓")
        await until(lambda: client.json("relay/inbound"))
        await replay(simulator, message_id)
        status = await relay.status()
    (reply,) = client.json("relay/inbound")
    assert reply["message_id"] == message_id
    assert (reply["from"], reply["to"]) == (ALICE, TWO_WAY)
    assert reply["text"] == "ACK 42 on my way ✓"
    assert (reply["contact"], reply["unknown_sender"]) == ("alice", False)
    assert reply["timestamp"]
    assert "keyword" in reply
    ((message, contact),) = heard
    assert (message.message_id, message.text) == (message_id, "ACK 42 on my way ✓")
    assert contact == Contact(number=ALICE, name="alice")
    assert status["inbound"] == 1


async def replay(simulator: Simulator, message_id: str) -> None:
    """Send the callback the simulator made for `message_id` again, as a retry would; 200."""
    await simulator.callbacks_settled()
    attempt = next(item for item in simulator.callbacks if item.message_id == message_id)
    async with aiohttp.ClientSession() as session:
        target = simulator.account.mo_url if attempt.kind == "reply" else None
        target = target or simulator.account.callback_url
        assert target is not None
        if attempt.method == "GET":
            request = session.get(f"{target}?{attempt.payload}")
        else:
            kind = "application/json" if attempt.payload.startswith("{") else FORM
            request = session.post(
                target, data=attempt.payload.encode(), headers={"Content-Type": kind}
            )
        async with request as response:
            assert response.status == 200


async def test_a_failing_hook_costs_nothing_else(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = listener_config(make_config)
    later: list[str] = []

    async def broken(_message: InboundMessage, _contact: Contact | None) -> None:
        raise RuntimeError("a bug in a hook")

    async def recorder(message: InboundMessage, _contact: Contact | None) -> None:
        later.append(message.message_id)

    async with listening(config, simulator) as (relay, client):
        relay.inbound_hooks.extend([broken, recorder])
        message_id = simulator.inject_inbound(BOB, TWO_WAY, "Yes")
        await until(lambda: client.json("relay/inbound"))
        await simulator.callbacks_settled()
    assert later == [message_id]
    assert [attempt.status for attempt in simulator.callbacks] == [200]
    assert "An inbound hook failed" in caplog.text


@pytest.mark.parametrize("publish", [False, True])
async def test_a_reply_from_an_unknown_number(
    publish: bool,
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
) -> None:
    config = listener_config(make_config, publish_unknown_senders=publish)
    heard: list[Contact | None] = []

    async def hook(_message: InboundMessage, contact: Contact | None) -> None:
        heard.append(contact)

    async with listening(config, simulator) as (relay, client):
        relay.inbound_hooks.append(hook)
        simulator.inject_inbound(STRANGER, TWO_WAY, "Who is this?")
        simulator.inject_inbound(ALICE, TWO_WAY, "Seen")
        await until(lambda: len(heard) == 2)  # both committed
        await until(lambda: len(client.json("relay/inbound")) == (2 if publish else 1))
        status = await relay.status()
    published = {item["from"]: item for item in client.json("relay/inbound")}
    if publish:
        assert published[STRANGER]["unknown_sender"] is True
        assert published[STRANGER]["contact"] is None
    else:
        assert STRANGER not in published
    assert published[ALICE]["unknown_sender"] is False
    assert sorted(heard, key=str) == sorted([None, Contact(number=ALICE, name="alice")], key=str)
    assert status["inbound"] == 1


async def test_hostile_requests_get_their_answer_and_publish_nothing(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    config = listener_config(
        make_config, username="clickatell", password=PASSWORD, max_body_bytes=1024
    )
    async with listening(config, simulator) as (relay, client), aiohttp.ClientSession() as http:
        await client.publish("alerts/db", "Database down")
        await until(lambda: sum(item["final"] for item in statuses(client)) == 2)
        await simulator.callbacks_settled()
        auth = basic("clickatell", PASSWORD)
        unknown = "api_id=1&apiMsgId=f0f0f0&cliMsgId=nobody&to=2799900001&status=004"
        attempts = [
            ("POST", url(relay, "not-the-secret"), None, b"", 404),
            ("POST", url(relay, f"{SECRET}/more"), auth, b"", 404),
            ("POST", url(relay, SECRET[:-1]), auth, b"", 404),
            ("PUT", url(relay), auth, b"", 405),
            ("POST", url(relay), None, unknown.encode(), 401),
            ("POST", url(relay), basic("clickatell", "guess"), b"", 401),
            ("POST", url(relay), basic("someone", PASSWORD), b"", 401),
            ("POST", url(relay), auth, b"apiMsgId=abc&status=999", 400),
            ("POST", url(relay), auth, b"\xff\xfe<garbage>\x00", 400),
            ("POST", url(relay), auth, b"moMsgId=1&from=2799900001", 400),
            ("POST", url(relay), auth, b"x" * 2000, 413),
            ("POST", url(relay), auth, unknown.encode(), 200),  # never sent by this relay
        ]
        for method, target, credentials, body, expected in attempts:
            headers = {"Content-Type": FORM}
            if credentials is not None:
                headers["Authorization"] = credentials
            async with http.request(method, target, data=body, headers=headers) as response:
                assert response.status == expected, (method, body[:40], expected)
        # A replay of each status the relay took: 200, and nothing new.
        status_ids = {attempt.message_id for attempt in simulator.callbacks}
        for message_id in status_ids:
            await replay(simulator, message_id)
        # Published in commit order: once this reply is out, nothing else came before it.
        simulator.inject_inbound(ALICE, TWO_WAY, "sentinel")
        await until(lambda: client.json("relay/inbound"))
        status = await relay.status()
    assert [item["text"] for item in client.json("relay/inbound")] == ["sentinel"]
    assert len(statuses(client)) == 4  # two SMS, gateway then delivered each: no replay
    assert status["delivered"] == 2
    refusals = [record.getMessage() for record in caplog.records if "Refused" in record.msg]
    assert len(refusals) == 11
    assert all(
        record.levelno == logging.DEBUG for record in caplog.records if "Refused" in record.msg
    )
    loud = "\n".join(r.getMessage() for r in caplog.records if r.levelno > logging.DEBUG)
    for private in (SECRET, PASSWORD, "Database down", "sentinel", ALICE):
        assert private not in loud


async def test_the_platform_callback_only_posts(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = listener_config(make_config, "platform")
    async with (
        listening(config, simulator, "platform") as (relay, _client),
        aiohttp.ClientSession() as http,
    ):
        async with http.get(url(relay), params={"moMsgId": "1"}) as response:
            assert response.status == 405
            assert response.headers["Allow"] == "POST"
        async with http.post(url(relay), data=b'{"event": [1]}') as response:
            assert response.status == 400
        async with http.post(url(relay), data=b"") as response:
            assert response.status == 200  # nothing to do, nothing to retry


async def test_replies_while_the_broker_is_away_are_published_when_it_is_back(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = listener_config(make_config)
    async with mqtt_client(config, "watcher") as watcher:
        await watcher.subscribe("relay/inbound")  # a persistent session: kept while away
    async with running(config) as relay:
        assert relay.listener is not None
        await until(relay.listener.listening.is_set)
        simulator.account.mo_url = url(relay)
        simulator.account.mo_format = "post"
        broker.stop()
        await until(lambda: not relay.connected.is_set())
        simulator.inject_inbound(ALICE, TWO_WAY, "one")
        await simulator.callbacks_settled()
        assert [attempt.status for attempt in simulator.callbacks] == [200]
        broker.start()
        await until_async(lambda: outbox_empty(relay))
        # Away again, and the relay stops with a reply answered but not published.
        broker.stop()
        await until(lambda: not relay.connected.is_set())
        simulator.inject_inbound(BOB, TWO_WAY, "two")
        await simulator.callbacks_settled()
        assert [attempt.status for attempt in simulator.callbacks] == [200, 200]
    broker.start()
    async with running(config) as relay:
        await until_async(lambda: outbox_empty(relay))
    async with mqtt_client(config, "watcher") as watcher:
        await until(lambda: len(watcher.json("relay/inbound")) == 2)
    assert [item["text"] for item in watcher.json("relay/inbound")] == ["one", "two"]


async def outbox_empty(relay: Relay) -> bool:
    return not await relay.store.call(relay.store.unpublished_callbacks)


async def test_a_queue_that_cannot_commit_answers_503_and_clickatell_retries(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = listener_config(make_config)
    async with listening(config, simulator) as (relay, client):
        # Another writer holds the queue; the relay's commit gives up after 0.1s, not 10s.
        await relay.store.call(relay.store._db.execute, "PRAGMA busy_timeout = 100")
        with commits_blocked(config.queue.path):
            simulator.inject_inbound(ALICE, TWO_WAY, "while the queue is locked")
            await until(lambda: simulator.callbacks)
        await until(lambda: client.json("relay/inbound"))
    assert simulator.callbacks[0].status == 503
    assert simulator.callbacks[-1].status == 200
    assert [item["text"] for item in client.json("relay/inbound")] == ["while the queue is locked"]


async def test_a_listener_that_cannot_listen_is_restarted(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    config = listener_config(make_config, port=port)
    try:
        async with running(config) as relay:
            assert relay.listener is not None
            await until(lambda: "The listener task failed" in caplog.text)
            assert relay.connected.is_set()  # the rest of the relay goes on
            assert "listener: OSError" in (await relay.status())["last_error"]
            taken.close()
            await until(relay.listener.listening.is_set)
            assert relay.listener.port == port
            assert (await relay.status())["last_error"] is None
    finally:
        taken.close()


MINIMAL = """\
clickatell:
  api_key: k
routes:
  - topic: alerts/#
    recipients: ["2799900001"]
listener:
"""


@pytest.mark.parametrize(
    ("text", "environ", "expected"),
    [
        (
            "  enabled: true\n",
            {},
            (
                "relay.yaml:7: listener: enabled needs a path_secret (or path_secret_file, or "
                "RELAY_LISTENER_PATH_SECRET): clickatell-relay init generates one"
            ),
        ),
        (
            "  enabled: true\n  path_secret: short\n",
            {},
            (
                "relay.yaml:8: listener.path_secret: too short to be unguessable: at least 32 "
                "characters (clickatell-relay init generates one)"
            ),
        ),
        (
            f"  enabled: true\n  path_secret: {SECRET}/x\n",
            {},
            "relay.yaml:8: listener.path_secret: expected letters, digits, '_' and '-' only",
        ),
        (
            "  enabled: true\n",
            {"RELAY_LISTENER_PATH_SECRET": "short"},
            "relay.yaml:7: listener.path_secret: too short to be unguessable",
        ),
        (
            f"  enabled: true\n  path_secret: {SECRET}\n  username: clickatell\n",
            {},
            (
                "relay.yaml:9: listener.username: basic authentication needs both username and "
                "password (or neither)"
            ),
        ),
        ("  port: 65536\n", {}, "relay.yaml:7: listener.port: value must be at most 65535"),
        (
            "  max_body_bytes: 100000\n",
            {},
            "relay.yaml:7: listener.max_body_bytes: value must be at most 65536",
        ),
        ("  enabled: yes please\n", {}, "relay.yaml:7: listener.enabled: expected bool"),
        ("  path: /x\n", {}, "relay.yaml:7: listener.path: extra keys not allowed"),
    ],
    ids=[
        "no-secret",
        "short-secret",
        "slash-in-secret",
        "short-secret-from-env",
        "half-auth",
        "port",
        "body-limit",
        "enabled",
        "unknown-key",
    ],
)
def test_listener_configuration_errors_name_their_line(
    text: str, environ: dict[str, str], expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(MINIMAL + text, "relay.yaml", environ=environ)
    assert expected in str(caught.value)
    assert SECRET not in str(caught.value)


def test_listener_secrets_come_from_the_environment_and_files_and_are_never_shown(
    tmp_path: Path,
) -> None:
    secret_file = tmp_path / "path-secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    secret_file.chmod(0o600)
    text = MINIMAL + (
        f"  enabled: true\n  path_secret_file: {secret_file}\n"
        "  username: clickatell\n  password: ${CALLBACK_PASSWORD}\n"
    )
    config = parse_config(text, "relay.yaml", environ={"CALLBACK_PASSWORD": PASSWORD})
    assert (config.listener.path, config.listener.password) == (f"/{SECRET}", PASSWORD)
    assert config.listener.host == "127.0.0.1"
    shown = json.dumps(config.redacted()) + repr(config)
    assert SECRET not in shown
    assert PASSWORD not in shown
    assert config.redacted()["listener"]["path_secret"] == REDACTED
    overridden = parse_config(
        MINIMAL + "  enabled: true\n  username: clickatell\n",
        "relay.yaml",
        environ={"RELAY_LISTENER_PATH_SECRET": SECRET, "RELAY_LISTENER_PASSWORD": PASSWORD},
    )
    assert (overridden.listener.path_secret, overridden.listener.password) == (SECRET, PASSWORD)
    # The queue commands need no secret: an enabled listener does not stop them.
    config = parse_config(MINIMAL + "  enabled: true\n", "relay.yaml", {}, secrets=False)
    assert config.listener.enabled


def test_a_listener_open_to_the_network_is_warned_of() -> None:
    text = MINIMAL + f"  enabled: true\n  host: 0.0.0.0\n  path_secret: {SECRET}\n"
    config = parse_config(text, "relay.yaml", environ={})
    assert any(
        "listener.host 0.0.0.0: the listener speaks plain HTTP" in str(problem)
        for problem in config.warnings
    )


def test_init_generates_a_path_secret_of_its_own(tmp_path: Path) -> None:
    found = []
    for run in ("one", "two"):
        etc = tmp_path / run
        assert main(["init", "--config-dir", str(etc), "--unit-dir", str(tmp_path / "units")]) == 0
        variables, _warnings = read_env_file(etc / "secrets.env")
        found.append(variables["RELAY_LISTENER_PATH_SECRET"])
        text = (
            (etc / "relay.yaml")
            .read_text(encoding="utf-8")
            .replace("  enabled: false", "  enabled: true", 1)
        )
        config = parse_config(text, "relay.yaml", {**variables, "CLICKATELL_API_KEY": "k"})
        assert config.listener.path_secret == variables["RELAY_LISTENER_PATH_SECRET"]
    assert len(found[0]) >= 43
    assert found[0] != found[1]


async def test_what_a_run_with_the_listener_left_goes_out_without_it(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = listener_config(make_config)
    async with running(config) as relay:
        assert relay.listener is not None
        await until(relay.listener.listening.is_set)
        simulator.account.mo_url = url(relay)
        simulator.account.mo_format = "post"
        broker.stop()
        simulator.inject_inbound(ALICE, TWO_WAY, "left behind")
        await simulator.callbacks_settled()
        assert [attempt.status for attempt in simulator.callbacks] == [200]
    broker.start()
    async with mqtt_client(config, "watcher") as watcher:
        await watcher.subscribe("relay/inbound")
        async with running(make_config()) as relay:  # the same queue, the listener off
            assert relay.listener is None
            await until(lambda: watcher.json("relay/inbound"))
    assert [item["text"] for item in watcher.json("relay/inbound")] == ["left behind"]
