"""When the relay commits (group commit of alerts and of results), and what it reads per alert.

A commit is held up for real: another connection takes the queue file's
write lock (as a second process would), so the relay's transaction waits
at BEGIN while reads go on. Counters of commits are exact facts, which the
tests assert; no test times anything.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from clickatell_relay import relay as relay_module
from clickatell_relay.broker import LocalBroker
from clickatell_relay.mqtt import IncomingMessage, MqttConnection
from clickatell_relay.relay import Relay
from clickatell_relay.simulator import Simulator
from clickatell_relay.store import Store

from .conftest import ALICE, BOB, ConfigFactory, commits_blocked, mqtt_client, running, until
from .test_store import sms


def store_calls(relay: Relay, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the store methods the relay hands to the store's thread, in order."""
    names: list[str] = []
    call = relay.store.call

    async def recorded(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        names.append(getattr(function, "__name__", repr(function)))
        return await call(function, *args, **kwargs)

    monkeypatch.setattr(relay.store, "call", recorded)
    return names


def waiting(relay: Relay) -> int:
    return 0 if relay.connection is None else relay.connection.waiting


async def test_alerts_that_arrive_during_a_commit_are_committed_together_next(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = make_config()  # receive_linger 0: group commit
    assert config.queue.receive_linger == 0
    async with running(config) as relay, mqtt_client(config) as client:
        calls = store_calls(relay, monkeypatch)
        before = relay.store.durable_commits
        with commits_blocked(config.queue.path):
            await client.publish("alerts/a", "first")
            await until(lambda: "commit_burst" in calls)  # taken alone, its commit waits
            for index in range(5):
                await client.publish("alerts/a", f"then {index}")
            await until(lambda: waiting(relay) == 5)
            assert relay.store.durable_commits == before
        await until(lambda: relay.bursts == 2)
        assert relay.store.durable_commits == before + 2  # the first; the five together
        await until(lambda: len(simulator.messages) == 12)


async def test_an_alert_is_acknowledged_only_once_its_commit_is_done(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = make_config()
    async with running(config) as relay, mqtt_client(config) as client:
        calls = store_calls(relay, monkeypatch)
        connection = relay.connection
        assert connection is not None
        acknowledge = connection.ack
        commits_at_ack: list[int] = []

        def ack(message: IncomingMessage) -> bool:
            commits_at_ack.append(relay.store.durable_commits)
            return acknowledge(message)

        monkeypatch.setattr(connection, "ack", ack)
        before = relay.store.durable_commits
        with commits_blocked(config.queue.path):
            await client.publish("alerts/a", "disk full")
            await until(lambda: "commit_burst" in calls)
        await until(lambda: commits_at_ack)
    assert commits_at_ack == [before + 1]


async def test_alerts_held_unacknowledged_are_bounded_by_two_bursts(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # MQTT 5's Receive Maximum, 2 x max_burst: the burst being committed and the
    # next, no more in memory; the rest of a backlog waits at the broker.
    config = make_config(queue={"max_burst": 2})
    async with running(config) as relay, mqtt_client(config) as client:
        calls = store_calls(relay, monkeypatch)
        connection = relay.connection
        assert connection is not None
        with commits_blocked(config.queue.path):
            await client.publish("alerts/a", "first")
            await until(lambda: "commit_burst" in calls)  # taken alone, its commit waits
            for index in range(9):
                await client.publish("alerts/a", f"then {index}")
            # The broker queued its copies before each PUBACK above; our own round
            # trip comes back after all it sent us: nothing more is on its way.
            await connection.publish("barrier/relay", "x", qos=1, timeout=10)
            assert waiting(relay) == 3  # 4 unacknowledged: the one in its commit, 3 read
        await until(lambda: relay.bursts == 6)  # the first; then 2 at a time
        assert (await relay.status())["received"] == 10


async def test_the_opt_in_linger_gathers_what_arrives_within_it(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    # A linger far longer than the test; the burst ends when it holds max_burst.
    config = make_config(queue={"receive_linger": 5, "max_burst": 3})
    async with running(config) as relay, mqtt_client(config) as client:
        before = relay.store.durable_commits
        for index in range(3):
            await client.publish("alerts/a", f"alert {index}")
        await until(lambda: relay.bursts == 1)
        status = await relay.status()
    assert relay.store.durable_commits == before + 1
    assert status["received"] == 3


@pytest.fixture
async def subscriber(
    broker: LocalBroker, make_config: ConfigFactory
) -> AsyncIterator[tuple[MqttConnection, Callable[[int], Awaitable[None]]]]:
    """A connection subscribed to alerts/#, and a way to have n messages waiting in it."""
    config = make_config()
    connection = MqttConnection(replace(config.mqtt, session_expiry=60), client_id="burst-reader")
    await connection.connect()
    await connection.subscribe(["alerts/#"], qos=1)

    async def publish(count: int) -> None:
        async with mqtt_client(config) as client:
            for index in range(count):
                await client.publish("alerts/a", f"alert {index}")
        await until(lambda: connection.waiting == count)

    yield connection, publish
    await connection.disconnect()


async def test_group_commit_takes_what_is_waiting_without_waiting_for_more(
    subscriber: tuple[MqttConnection, Callable[[int], Awaitable[None]]],
) -> None:
    connection, publish = subscriber
    await publish(5)
    burst = connection.next_burst(0.0, 100)
    # Not one suspension: the burst is complete at the first step of the coroutine.
    with pytest.raises(StopIteration) as done:
        burst.send(None)
    assert [message.payload for message in done.value.value] == [
        f"alert {index}".encode() for index in range(5)
    ]


async def test_a_burst_stops_at_max_burst_and_the_rest_waits_for_the_next(
    subscriber: tuple[MqttConnection, Callable[[int], Awaitable[None]]],
) -> None:
    connection, publish = subscriber
    await publish(5)
    first = await connection.next_burst(0.0, 3)
    second = await connection.next_burst(0.0, 3)
    assert [len(first), len(second)] == [3, 2]


async def test_the_opt_in_linger_waits_for_more(
    subscriber: tuple[MqttConnection, Callable[[int], Awaitable[None]]],
) -> None:
    connection, publish = subscriber
    await publish(2)
    burst = connection.next_burst(5.0, 100)
    try:
        assert burst.send(None) is not None  # suspended: waiting for more within the linger
    finally:
        burst.close()


async def test_results_that_come_during_a_bookkeeping_commit_share_the_next(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    config = make_config(limits={"concurrency": 3, "balance_check_interval": "1h"})
    simulator.inject("slow", delay=1.0)  # the three requests are in flight together
    async with running(config) as relay, mqtt_client(config) as client:
        for index in range(3):
            await client.publish("alerts/a", f"alert {index}")
        await until(lambda: relay.dispatcher.in_flight == 6)  # 3 requests, 2 recipients each
        before = relay.store.bookkeeping_commits
        with commits_blocked(config.queue.path):
            # Every answer is in: the first result's commit waits, the other two queue.
            await until(lambda: relay.dispatcher.requests_sent == 3)
        await until(lambda: relay.dispatcher.in_flight == 0)
        assert relay.store.bookkeeping_commits == before + 2
        status = await relay.status()
    assert status["sent"] == 6


def test_one_bookkeeping_transaction_undoes_only_the_write_that_failed(tmp_path: Path) -> None:
    store = Store(tmp_path / "queue.db")

    def refused() -> None:
        store.set_meta("half", "written")
        raise sqlite3.IntegrityError("refused")

    errors = store.in_one_transaction(
        [lambda: store.set_meta("a", "1"), refused, lambda: store.set_meta("b", "2")]
    )
    assert [type(error) for error in errors] == [type(None), sqlite3.IntegrityError, type(None)]
    assert [store.get_meta(key) for key in ("a", "half", "b")] == ["1", None, "2"]
    assert store.bookkeeping_commits == 1
    store.close()


async def test_sending_reads_no_digest_groups_or_dead_letters_without_news(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relay_module, "DEAD_LETTER_POLL", 3600)
    config = make_config()
    async with running(config) as relay, mqtt_client(config) as client:
        calls = store_calls(relay, monkeypatch)
        for index in range(5):
            await client.publish("alerts/a", f"alert {index}")
        await until(lambda: len(simulator.messages) == 10)
    # Both were read once at start; five alerts and requests add no read of either.
    assert calls.count("digest_groups") == 0
    assert calls.count("unpublished_dead_letters") == 0


async def test_a_dead_letter_another_process_writes_is_published(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(relay_module, "DEAD_LETTER_POLL", 0.2)
    config = make_config(queue={"max_messages": 1})
    async with running(config), mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        # `clickatell-relay queue send` on a full queue: refused, dead-lettered, by another process.
        other = Store(config.queue.path)
        alert = sms("0" * 32, ALICE, BOB, text="from the command line")
        assert not other.enqueue(alert, max_messages=1)
        other.close()
        await until(lambda: client.json("relay/dead_letter"))
    [letter] = client.json("relay/dead_letter")
    assert (letter["reason"], letter["text"]) == ("queue_full", "from the command line")


async def test_a_request_all_sent_does_not_send_the_loop_back_to_the_queue(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = make_config(limits={"poll_interval": 3600})  # no look at the queue but on news
    async with running(config) as relay, mqtt_client(config) as client:
        await until(lambda: relay.dispatcher.in_flight == 0)
        calls = store_calls(relay, monkeypatch)
        await client.publish("alerts/a", "disk full")
        await until(lambda: len(simulator.messages) == 2)
        await until(lambda: relay.dispatcher.in_flight == 0)
    # Woken by the commit: one claim takes the alert, one finds nothing more. Its
    # request ends with both SMS sent: nothing is left to look for.
    assert calls.count("_claim_or_when") == 2
