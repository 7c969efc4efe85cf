"""The callback listener, for real: the simulator calls the relay's listener back.

A real mosquitto, the simulator with its callback_url and mo_url pointing at
the relay's listener, the relay in this event loop: statuses and replies go
from the simulator's callbacks to MQTT topics, the queue and the status.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from clickatell_relay.broker import LocalBroker
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
    until_async,
)

SECRET = "s3cret-Path-0123456789-abcdefghijklmnop"
TWO_WAY = "2799900999"
STRANGER = "2799900777"
FAILING = "2799998005"  # the simulator's test range: ends in 005, failed
FLAVOURS = ["rest", "http", "platform"]
MO_FORMATS = {"rest": "post", "http": "get", "platform": "one_api"}


def listener_config(make_config: ConfigFactory, api: str = "rest", **listener: Any) -> Any:
    """A relay for the simulator's `api`, its listener on a free port."""
    simulator = make_config.simulator
    assert simulator is not None
    return make_config(
        clickatell={"api": api, "base_url": simulator.base_url(api), "username": "simulator",
                    "password": "simulator-password", "api_id": "1"},
        listener={"enabled": True, "port": 0, "path_secret": SECRET, **listener},
    )


def url(relay: Relay, path: str = SECRET, auth: str = "") -> str:
    assert relay.listener is not None
    return f"http://{auth}127.0.0.1:{relay.listener.port}/{path}"


@asynccontextmanager
async def listening(config: Any, simulator: Simulator, api: str = "rest") -> AsyncIterator[
    tuple[Relay, Client]
]:
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
        await until(
            lambda: sum(item["status"] == "delivered" for item in statuses(client)) == 2
        )
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
