"""The callback listener, for real: the simulator calls the relay's listener back.

A real mosquitto, the simulator with its callback_url and mo_url pointing at
the relay's listener, the relay in this event loop: statuses and replies go
from the simulator's callbacks to MQTT topics, the queue and the status.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from aioclickatell import InboundMessage
from clickatell_relay.broker import LocalBroker
from clickatell_relay.cli import main
from clickatell_relay.config import Contact, RelayConfig
from clickatell_relay.relay import Relay
from clickatell_relay.simulator import Simulator

from .conftest import (
    ALICE,
    BOB,
    Client,
    ConfigFactory,
    mqtt_client,
    running,
    until,
)

SECRET = "s3cret-Path-0123456789-abcdefghijklmnop"
TWO_WAY = "2799900999"
STRANGER = "2799900777"
FAILING = "2799998005"  # the simulator's test range: ends in 005, failed
FLAVOURS = ["rest", "http", "platform"]
FORM = "application/x-www-form-urlencoded"
MO_FORMATS = {"rest": "post", "http": "get", "platform": "one_api"}


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
        simulator.timings.callback_retry_delays = (0.2, 0.2, 0.2, 0.2, 0.2)
        simulator.timings.mo_retry_delays = (0.2, 0.2, 0.2)
        await client.subscribe("relay/delivery/#", "relay/inbound", "relay/dead_letter")
        yield relay, client


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
