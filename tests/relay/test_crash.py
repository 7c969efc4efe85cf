"""The relay as a process, killed with SIGKILL and started again: nothing is lost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from clickatell_relay.broker import LocalBroker
from clickatell_relay.cli import EXIT_LOCKED
from clickatell_relay.simulator import Simulator

from .conftest import (
    ALICE,
    BOB,
    ConfigFactory,
    RelayProcess,
    mqtt_client,
    sent_to,
    until,
)

IN_FLIGHT_BOUND = 2 * 2  # concurrency 2, two recipients per request


def _last(client_received: dict[str, list[bytes]], topic: str) -> bytes | None:
    values = client_received.get(topic) or []
    return values[-1] if values else None


async def test_sigkill_mid_batch_then_restart_loses_nothing(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    path = make_config.write(limits={"concurrency": 2}, clickatell={"request_timeout": 20})
    config = make_config()
    texts = [f"crash {index}" for index in range(20)]
    expected = {(text, number) for text in texts for number in (ALICE, BOB)}
    simulator.inject("slow", delay=0.5)  # every request is in flight for half a second
    first = relay_process(path)
    async with mqtt_client(config, "observer") as client:
        await client.subscribe("relay/availability")
        await until(lambda: _last(client.received, "relay/availability") == b"online", 30)
        for text in texts:
            await client.publish("alerts/x", text)
        await until(lambda: len(simulator.messages) >= 4, 30)
        first.kill()  # requests are in flight right now
        # The broker publishes our last will.
        await until(lambda: _last(client.received, "relay/availability") == b"offline")
    delivered_before_restart = set(sent_to(simulator))
    assert delivered_before_restart < expected  # the kill really interrupted the work
    simulator.clear_faults()
    second = relay_process(path)
    await until(lambda: set(sent_to(simulator)) >= expected, 60)
    assert second.stop() == 0
    counts = Counter(sent_to(simulator))
    assert set(counts) == expected
    assert sum(counts.values()) - len(expected) <= IN_FLIGHT_BOUND
    assert "Resuming" in second.output()


async def test_sigkill_while_receiving_then_restart_loses_nothing(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    path = make_config.write(limits={"concurrency": 2}, queue={"receive_linger": 0.01})
    config = make_config()
    texts = [f"burst {index}" for index in range(60)]
    expected = {(text, number) for text in texts for number in (ALICE, BOB)}
    first = relay_process(path)
    async with mqtt_client(config, "observer") as client:
        await client.subscribe("relay/availability")
        await until(lambda: _last(client.received, "relay/availability") == b"online", 30)
        simulator.inject("slow", delay=0.3)
        for text in texts:
            client.connection.publish_nowait("alerts/x", text, qos=1)
        await until(lambda: len(simulator.messages) >= 1, 30)
        first.kill()
        await until(lambda: _last(client.received, "relay/availability") == b"offline")
        assert set(sent_to(simulator)) < expected
        simulator.clear_faults()
        # Whatever the relay had not taken yet waits in its session at the broker.
        second = relay_process(path)
        await until(lambda: set(sent_to(simulator)) >= expected, 60)
    assert second.stop() == 0
    counts = Counter(sent_to(simulator))
    assert set(counts) == expected
    assert sum(counts.values()) - len(expected) <= IN_FLIGHT_BOUND


async def test_sigterm_is_a_graceful_stop(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    path = make_config.write()
    config = make_config()
    process = relay_process(path)
    async with mqtt_client(config, "observer") as client:
        await client.subscribe("relay/availability")
        await until(lambda: _last(client.received, "relay/availability") == b"online", 30)
        await client.publish("alerts/x", "before the stop")
        await until(lambda: len(simulator.messages) == 2)
        assert process.stop() == 0
        await until(lambda: _last(client.received, "relay/availability") == b"offline")
    output = process.output()
    assert "Stopped" in output
    assert "relay-test-key" not in output  # the API key is never logged


async def test_a_second_relay_on_the_same_queue_refuses_to_start(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    """A second `run` on the same queue started silently, took over the MQTT session

    (same client ID) and the first one crashed.
    """
    path = make_config.write()
    config = make_config()
    first = relay_process(path)
    await until(lambda: "Connected to" in first.output(), 30)
    second = relay_process(path)
    assert second.process is not None
    assert second.process.wait(30) == EXIT_LOCKED
    assert "another relay" in second.output()
    assert str(first.process.pid if first.process else "?") in second.output()
    assert "Connected to" not in second.output()
    async with mqtt_client(config, "publisher") as client:
        await client.publish("alerts/x", "the first one carries on")
    await until(lambda: len(simulator.messages) == 2)
    assert first.output().count("Connected to") == 1  # its session was never taken
    assert first.stop() == 0
