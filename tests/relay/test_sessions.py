"""Persistent sessions, broker restarts, shared subscriptions: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import replace
from typing import Final

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.simulator import Simulator

from .conftest import (
    ALICE,
    BOB,
    OPTED_OUT,
    ConfigFactory,
    mqtt_client,
    running,
    sent_to,
    until,
)

STALL: Final = 12.0  # seconds the broker answers nothing: longer than any PUBACK wait


def _expected(texts: list[str]) -> Counter[tuple[str, str]]:
    return Counter((text, number) for text in texts for number in (ALICE, BOB))


async def test_alerts_wait_at_the_broker_while_the_relay_is_away(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config()
    async with running(config):
        pass  # the first connect creates the persistent session and its subscription
    async with mqtt_client(config, "publisher") as client:
        for index in range(10):
            await client.publish("alerts/x", f"while away {index}")
    assert simulator.messages == []
    async with running(config):
        await until(lambda: len(simulator.messages) == 20)
    assert Counter(sent_to(simulator)) == _expected([f"while away {i}" for i in range(10)])


async def test_a_broker_restart_while_alerts_are_published_loses_nothing(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config()
    texts = [f"alert {index}" for index in range(30)]
    async with running(config) as relay:
        async with mqtt_client(config, "publisher") as client:
            for text in texts[:10]:
                await client.publish("alerts/x", text)
        # The relay is away while the broker restarts and more alerts come in.
        broker.stop()
        await until(lambda: not relay.connected.is_set())
        broker.start()
        async with mqtt_client(config, "publisher") as client:
            for text in texts[10:20]:
                await client.publish("alerts/x", text)
        await until(relay.connected.is_set)
        broker.restart()
        await until(relay.connected.is_set)
        async with mqtt_client(config, "publisher") as client:
            for text in texts[20:]:
                await client.publish("alerts/x", text)
        await until(lambda: len(simulator.messages) >= 60, 30)
    assert Counter(sent_to(simulator)) == _expected(texts)


async def test_mqtt_311_persistent_session(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(mqtt={"protocol": "3.1.1"})
    async with running(config):
        pass
    async with mqtt_client(config, "publisher") as client:
        await client.publish("alerts/x", "queued for a 3.1.1 session")
    async with running(config):
        await until(lambda: len(simulator.messages) == 2)
    assert Counter(sent_to(simulator)) == _expected(["queued for a 3.1.1 session"])


async def test_a_shared_subscription_pair_sends_each_alert_once(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    first = make_config(mqtt={"shared_group": "relays", "client_id": "relay-a"})
    second = replace(
        first,
        mqtt=replace(first.mqtt, client_id="relay-b"),
        queue=replace(first.queue, path=first.queue.path + ".b"),
    )
    texts = [f"shared {index}" for index in range(40)]
    async with running(first) as relay_a, running(second) as relay_b:
        async with mqtt_client(first, "publisher") as client:
            for text in texts:
                await client.publish("alerts/x", text)
        await until(lambda: len(simulator.messages) >= 80)
        await until(lambda: relay_a.dispatcher.in_flight == relay_b.dispatcher.in_flight == 0)
        status_a = await relay_a.status()
        status_b = await relay_b.status()
    assert Counter(sent_to(simulator)) == _expected(texts)
    # Both relays took part of the stream.
    assert status_a["received"] > 0
    assert status_b["received"] > 0
    assert status_a["received"] + status_b["received"] == len(texts)


async def test_filters_dropped_from_the_config_are_unsubscribed(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    old = make_config(routes=[{"name": "old", "topic": "legacy/#", "recipients": ["alice"]}])
    async with running(old):
        pass
    new = make_config()  # routes alerts/# only, same client ID and queue
    async with running(new) as relay, mqtt_client(new, "publisher") as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("legacy/x", "to a forgotten route")
        await client.publish("alerts/x", "to the current route")
        await until(lambda: len(simulator.messages) == 2)
        status = await relay.status()
    assert {text for text, _to in sent_to(simulator)} == {"to the current route"}
    assert status["received"] == 1  # the legacy topic no longer reaches the relay
    assert client.received["relay/dead_letter"] == []


async def test_a_broker_that_answers_late_costs_no_connection(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A QoS 0 flood held the status's PUBACK back for more than 10 s, and the relay

    dropped its connection ("no PUBACK for .../status in 10s") and left a burst
    task failing unheard ("Task exception was never retrieved"). Here the broker
    is frozen for longer than that, with the keepalive longer still: the
    connection is healthy, only slow, and the relay must keep it.
    """
    config = make_config(
        mqtt={"keepalive": 60}, status={"interval": 1}, groups={"oncall": ["alice", OPTED_OUT]}
    )
    simulator.inject("unavailable")
    async with running(config) as relay, mqtt_client(config, "publisher") as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("alerts/x", "before the stall")
        await until(lambda: relay.bursts == 1)
        broker.pause()
        try:
            # Sent now: a status and a dead letter (the opted-out number) wait for PUBACKs.
            simulator.clear_faults()
            await until(lambda: len(simulator.messages) == 1)
            await asyncio.sleep(STALL)
        finally:
            broker.resume()
        await client.publish("alerts/x", "after the stall")
        await until(lambda: len(simulator.messages) == 2)
        await until(lambda: len(client.received["relay/dead_letter"]) == 2)
        status = await relay.status()
        connects = [
            record for record in caplog.records if record.getMessage().startswith("Connected to")
        ]
    messages = [record.getMessage() for record in caplog.records]
    assert len(connects) == 1, messages
    assert not [text for text in messages if "connection lost" in text or "no PUBACK" in text]
    assert not [text for text in messages if "never retrieved" in text]
    assert [letter["recipient"] for letter in client.json("relay/dead_letter")] == [OPTED_OUT] * 2
    assert status["sent"] == 2


@pytest.mark.parametrize("protocol", ["5", "3.1.1"])
async def test_a_retained_alert_is_sent_when_published_never_when_replayed(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
    protocol: str,
) -> None:
    """The rule for retained messages, the same with both protocols.

    The README said retained messages are not alerts, but one published while
    the relay listens was sent (an MQTT 5 broker clears the flag on a live
    delivery, a 3.1.1 broker must). What the relay can tell apart, and does: a
    retained message published (live, or while it is away with its session)
    is an alert; the copy the broker replays on every (re)subscription is old
    state and is skipped.
    """
    config = make_config(mqtt={"protocol": protocol})
    async with mqtt_client(config, "publisher", protocol=protocol) as client:
        await client.publish("alerts/state", "retained before the relay ever came", retain=True)
        async with running(config) as relay:
            await client.publish("alerts/live", "retained while it listens", retain=True)
            await until(lambda: len(simulator.messages) == 2)
        await client.publish("alerts/away", "retained while it is away", retain=True)
        async with running(config) as relay:  # resubscribes: the broker replays all three
            await until(lambda: len(simulator.messages) == 4)
            await client.publish("alerts/x", "an ordinary alert")
            await until(lambda: len(simulator.messages) == 6)
            await until(lambda: relay.dispatcher.in_flight == 0)
            status = await relay.status()
    assert Counter(sent_to(simulator)) == _expected(
        ["retained while it listens", "retained while it is away", "an ordinary alert"]
    )
    assert status["received"] == 3  # the replays were skipped, not received
    # MQTT 5: the relay subscribes with "do not send retained"; 3.1.1: it skips them.
    skipped = "Ignoring retained message on alerts/state" in caplog.text
    assert skipped == (protocol == "3.1.1")
