"""Acknowledgements, repeats and escalation end to end: mosquitto, the simulator, the relay.

Replies come from a handset through the simulator's `/_sim/inbound`, which
calls the relay's listener back, as Clickatell would.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from clickatell_relay.broker import LocalBroker
from clickatell_relay.config import RelayConfig
from clickatell_relay.relay import Relay
from clickatell_relay.simulator import Simulator

from .conftest import (
    ALICE,
    BOB,
    CAROL,
    Client,
    ConfigFactory,
    RelayProcess,
    mqtt_client,
    running,
    until,
    until_async,
)

STRANGER = "2799900099"
TWO_WAY = "2799900999"
SECRET = "acks-Path-Secret-0123456789-abcdefghijkl"
ACK_TOPIC = "relay/ack/critical"
_REFERENCE = re.compile(r"Reply ACK (\w+) to acknowledge$")


def route(**acknowledge: Any) -> dict[str, Any]:
    """A test's configuration: the listener on, `alerts/#` to Alice and Bob, acknowledgeable."""
    return {
        "listener": {"enabled": True, "port": 0, "path_secret": SECRET},
        "routes": [
            {
                "name": "critical",
                "topic": "alerts/#",
                "recipients": ["alice", "bob"],
                "acknowledge": acknowledge or True,
            }
        ],
    }


def texts_to(simulator: Simulator, number: str) -> list[str]:
    return [message.text for message in simulator.messages if message.to == number]


def reference_of(simulator: Simulator, text: str) -> str:
    """The reference in the hint of the SMS that carried `text`."""
    for message in simulator.messages:
        if message.text.startswith(text + "\n"):
            match = _REFERENCE.search(message.text)
            assert match, message.text
            return match.group(1)
    raise AssertionError(f"no SMS carried {text!r}")


@asynccontextmanager
async def listening(
    config: RelayConfig, simulator: Simulator, mo_format: str = "post"
) -> AsyncIterator[tuple[Relay, Client]]:
    """The relay running, the simulator calling its listener back; a client on `ack/#`."""
    async with running(config) as relay, mqtt_client(config) as client:
        assert relay.listener is not None
        await until(relay.listener.listening.is_set)
        simulator.account.mo_url = f"http://127.0.0.1:{relay.listener.port}/{SECRET}"
        simulator.account.mo_format = mo_format
        await client.subscribe("relay/ack/#")
        yield relay, client


async def reply(
    simulator: Simulator, number: str, text: str, related_message_id: str | None = None
) -> None:
    """A handset replies to the two-way number: through the simulator, to the listener.

    Returns once the listener has answered it: the reply, and what it
    acknowledges, are committed then.
    """
    async with aiohttp.ClientSession() as session:
        body = {"from": number, "to": TWO_WAY, "text": text}
        if related_message_id is not None:
            body["related_message_id"] = related_message_id
        async with session.post(f"{simulator.root_url}/_sim/inbound", json=body) as response:
            assert response.status == 202, await response.text()
            message_id = (await response.json())["message_id"]
    await until(
        lambda: any(
            attempt.message_id == message_id and attempt.status == 200
            for attempt in simulator.callbacks
        )
    )


async def idle(relay: Relay) -> bool:
    """Nothing queued and nothing in flight."""
    stats = await relay.store.call(relay.store.stats)
    return stats.queue_depth == 0 and relay.dispatcher.in_flight == 0


async def tracked(relay: Relay) -> list[dict[str, Any]]:
    return await relay.store.call(relay.store.ack_alerts)


async def test_a_reply_acknowledges_the_latest_alert_and_ack_ref_an_older_one(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(**route())
    async with listening(config, simulator) as (relay, client):
        await client.publish("alerts/disk", "Disk full")
        await until(lambda: len(simulator.messages) == 2)
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(simulator.messages) == 4)
        disk = reference_of(simulator, "Disk full")
        database = reference_of(simulator, "Database down")
        assert disk != database
        await reply(simulator, ALICE, "On it")
        await until(lambda: len(client.json(ACK_TOPIC)) == 1)
        await reply(simulator, BOB, f"ok ack {disk.lower()}")
        await until(lambda: len(client.json(ACK_TOPIC)) == 2)
        status = await relay.status()
    latest, older = client.json(ACK_TOPIC)
    database_ids = {m.client_message_id for m in simulator.messages if "Database" in m.text}
    assert latest["text"] == "Database down"
    assert latest["reference"] == database
    assert latest["topic"] == "alerts/db"
    assert latest["route"] == "critical"
    assert set(latest["client_message_ids"]) == database_ids
    assert latest["acknowledged_by"] == {"name": "alice", "number": ALICE}
    assert latest["reply"] == "On it"
    assert latest["matched_by"] == "latest"
    assert older["text"] == "Disk full"
    assert older["reference"] == disk
    assert older["acknowledged_by"] == {"name": "bob", "number": BOB}
    assert older["matched_by"] == "reference"
    assert status["acknowledged"] == 2
    assert status["awaiting_ack"] == 0


async def test_a_reply_to_an_older_sms_acknowledges_its_alert(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """The One API says which SMS a reply answers (relatedMessageId): that alert, not the latest."""
    platform = {"api": "platform", "base_url": simulator.base_url("platform")}
    config = make_config(clickatell=platform, **route())
    async with listening(config, simulator, "one_api") as (relay, client):
        await client.publish("alerts/disk", "Disk full")
        await until(lambda: len(simulator.messages) == 2)
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(simulator.messages) == 4)
        await until_async(lambda: _sent_recorded(relay, 4))  # the API message IDs are known
        (disk_sms,) = [
            m for m in simulator.messages if m.to == ALICE and m.text.startswith("Disk full")
        ]
        await reply(simulator, ALICE, "yes", related_message_id=disk_sms.api_message_id)
        await until(lambda: len(client.json(ACK_TOPIC)) == 1)
    (ack,) = client.json(ACK_TOPIC)
    assert ack["text"] == "Disk full"
    assert ack["matched_by"] == "related"


async def _sent_recorded(relay: Relay, count: int) -> bool:
    sent = await relay.store.call(relay.store.messages, state="sent")
    return len(sent) == count


async def test_an_unknown_sender_never_acknowledges(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(**route(repeat={"every": "0.3s", "max": 2}))
    async with listening(config, simulator) as (relay, client):
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(simulator.messages) >= 2)
        reference = reference_of(simulator, "Database down")
        await reply(simulator, STRANGER, f"ACK {reference}")
        await reply(simulator, STRANGER, "ok")
        # The repeats go on: nobody acknowledged.
        await until(lambda: len(texts_to(simulator, ALICE)) == 3)
        (alert,) = await tracked(relay)
        assert alert["acked_at"] is None
        # Carol, a contact the alert did not go to: only with its reference.
        await reply(simulator, CAROL, "seen")
        await reply(simulator, CAROL, f"ACK {reference}")
        await until(lambda: len(client.json(ACK_TOPIC)) == 1)
    (ack,) = client.json(ACK_TOPIC)
    assert ack["acknowledged_by"] == {"name": "carol", "number": CAROL}
    assert ack["reply"] == f"ACK {reference}"


async def test_repeats_stop_at_the_maximum(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(**route(repeat={"every": "0.2s", "max": 3}))
    async with listening(config, simulator) as (relay, client):
        await client.publish("alerts/db", "Database down")
        await until_async(
            lambda: _schedule_done(relay, repeats=3), seconds=30
        )  # the schedule is over: no follow-up can come after this
        await until_async(lambda: idle(relay))
    for number in (ALICE, BOB):
        assert len(texts_to(simulator, number)) == 4  # the alert and 3 repeats
        assert len(set(texts_to(simulator, number))) == 1  # with the same reference
    assert len({m.client_message_id for m in simulator.messages}) == 4


async def _schedule_done(relay: Relay, *, repeats: int) -> bool:
    alerts = await tracked(relay)
    return bool(
        alerts and alerts[0]["repeats_sent"] == repeats and alerts[0]["next_repeat_at"] is None
    )


async def test_repeats_stop_after_an_acknowledgement(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(**route(repeat={"every": "0.3s", "max": 100}))
    async with listening(config, simulator) as (relay, client):
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(texts_to(simulator, ALICE)) >= 2)  # a repeat went out
        await reply(simulator, ALICE, "on it")
        await until(lambda: len(client.json(ACK_TOPIC)) == 1)
        (alert,) = await tracked(relay)
        assert alert["next_repeat_at"] is None
        await until_async(lambda: idle(relay))
        sent = len(simulator.messages)
        await asyncio.sleep(1.0)  # three repeat intervals: none comes
        assert len(simulator.messages) == sent
    (ack,) = client.json(ACK_TOPIC)
    assert ack["repeats_sent"] >= 1
    assert set(ack["client_message_ids"]) >= {m.client_message_id for m in simulator.messages}


async def test_escalation_after_the_delay_is_acknowledgeable_too(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(**route(escalate={"after": "0.3s", "to": ["carol"]}))
    async with listening(config, simulator) as (relay, client):
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(texts_to(simulator, CAROL)) == 1)
        reference = reference_of(simulator, "Database down")
        assert texts_to(simulator, CAROL) == texts_to(simulator, ALICE)  # same text, same ref
        await reply(simulator, CAROL, "escalated to me: handling it")
        await until(lambda: len(client.json(ACK_TOPIC)) == 1)
        await until_async(lambda: idle(relay))
    (ack,) = client.json(ACK_TOPIC)
    assert ack["reference"] == reference
    assert ack["escalated"] is True
    assert ack["acknowledged_by"]["name"] == "carol"
    assert len(texts_to(simulator, CAROL)) == 1  # escalated once


async def test_no_escalation_after_an_acknowledgement(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(**route(escalate={"after": "1h", "to": ["carol"]}))
    async with listening(config, simulator) as (relay, client):
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(simulator.messages) == 2)
        (alert,) = await tracked(relay)
        assert alert["escalate_at"] is not None
        await reply(simulator, BOB, "mine")
        await until(lambda: len(client.json(ACK_TOPIC)) == 1)
        (alert,) = await tracked(relay)
        # Hours later, nothing is due.
        later = alert["created_at"] + 7200
        queued, due = await relay.store.call(
            relay.store.queue_followups,
            allowlist=config.allowlist,
            max_messages=100,
            new_id=lambda: "never",
            now=later,
        )
    assert (queued, due) == (0, None)
    assert texts_to(simulator, CAROL) == []


async def test_a_restart_mid_schedule_neither_loses_nor_doubles_a_repeat(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    changes = route(repeat={"every": "0.4s", "max": 4})
    path = make_config.write(**changes)
    config = make_config(**changes)
    first = relay_process(path)
    async with mqtt_client(config, "observer") as client:
        await client.subscribe("relay/availability")
        await until(lambda: client.received.get("relay/availability", [b""])[-1] == b"online", 30)
        await client.publish("alerts/db", "Database down")
        await until(lambda: len(texts_to(simulator, ALICE)) >= 2, 30)
        first.kill()
    sent_before = {m.client_message_id for m in simulator.messages}
    assert len(sent_before) < 5  # the kill came mid-schedule
    second = relay_process(path)
    queue = config.queue.path
    await until(lambda: _queue_file_says_done(queue, repeats=4), 60)
    assert second.stop() == 0
    ids = {m.client_message_id for m in simulator.messages}
    assert len(ids) == 5  # the alert and its 4 repeats: none lost, none doubled
    assert {m.to for m in simulator.messages} == {ALICE, BOB}
    assert len({m.text for m in simulator.messages}) == 1


def _queue_file_says_done(path: str, *, repeats: int) -> bool:
    """The schedule is over and every SMS is sent: nothing more can come."""
    db = sqlite3.connect(path)
    try:
        (schedule,) = db.execute("SELECT repeats_sent, next_repeat_at FROM ack_alerts").fetchall()
        unsent = db.execute("SELECT count(*) FROM sms WHERE state = 'queued'").fetchone()[0]
    finally:
        db.close()
    return bool(schedule == (repeats, None) and unsent == 0)


async def test_an_alert_too_long_with_its_hint_is_dead_lettered(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    changes = route()
    changes["routes"][0]["max_parts"] = 1
    config = make_config(**changes)
    fits_alone = "x" * 150  # one part without the hint, two with it
    async with listening(config, simulator) as (relay, client):
        await client.subscribe("relay/dead_letter")
        await client.publish("alerts/long", fits_alone)
        await client.publish("alerts/short", "Short")
        await until(lambda: len(simulator.messages) == 2)
        await until(lambda: len(client.json("relay/dead_letter")) == 1)
        alerts = await tracked(relay)
    (letter,) = client.json("relay/dead_letter")
    assert letter["reason"] == "too_long"
    assert letter["detail"].startswith("with the acknowledgement hint")
    assert [alert["text"] for alert in alerts] == ["Short"]
