"""The relay as a process, killed with SIGKILL and started again: nothing is lost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.cli.exits import Exit
from clickatell_relay.mqtt import MqttError
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
MEMORY_BOUND_MIB = 64  # peak RSS with a 60 MiB alert published (the unit allows 192)


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
    assert second.process.wait(30) == Exit.LOCKED
    assert "another relay" in second.output()
    assert str(first.process.pid if first.process else "?") in second.output()
    assert "Connected to" not in second.output()
    async with mqtt_client(config, "publisher") as client:
        await client.publish("alerts/x", "the first one carries on")
    await until(lambda: len(simulator.messages) == 2)
    assert first.output().count("Connected to") == 1  # its session was never taken
    assert first.stop() == 0


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (VmHWM), from /proc."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    kib = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    return kib / 1024


async def test_a_huge_alert_does_not_blow_the_memory_limit(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    """A single 60 MiB QoS 1 publish drove the relay's RSS past the unit's MemoryMax

    (192M), and the broker redelivered it after every restart: a crash loop. The
    relay now tells an MQTT 5 broker the largest packet it takes (twice
    `max_payload_bytes` plus room for the topic): the broker drops the 60 MiB for
    the relay and says so in its log, while a payload merely over the limit
    still arrives and is dead-lettered with its topic.
    """
    path = make_config.write()
    config = make_config()
    process = relay_process(path)
    assert process.process is not None
    await until(lambda: "Connected to" in process.output(), 30)
    async with mqtt_client(config, "publisher") as client:
        await client.subscribe("relay/dead_letter")
        await client.connection.publish("alerts/x", b"x" * (60 << 20), qos=1, timeout=60)
        await client.publish("alerts/y", b"y" * (config.mqtt.max_payload_bytes + 1))
        await client.publish("alerts/x", "the alert after them")
        await until(lambda: len(simulator.messages) == 2, 30)
        await until(lambda: len(client.received["relay/dead_letter"]) == 1)
    assert peak_rss_mib(process.process.pid) < MEMORY_BOUND_MIB
    assert process.stop() == 0
    assert sorted(sent_to(simulator)) == [
        ("the alert after them", ALICE),
        ("the alert after them", BOB),
    ]
    (letter,) = client.json("relay/dead_letter")
    assert (letter["reason"], letter["topic"]) == ("too_large", "alerts/y")
    broker_log = broker.log_path.read_text(encoding="utf-8")
    assert "Dropping too large outgoing PUBLISH for relay-under-test (62914573 bytes)" in broker_log


async def test_with_mqtt_311_the_broker_limit_keeps_a_huge_alert_away(
    tmp_path: Path,
    simulator: Simulator,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    """MQTT 3.1.1 cannot tell the broker a maximum, and paho reads a whole packet

    before anyone sees it (about 230 MiB for a 60 MiB alert). The README's recipe
    is the broker's own limit, `max_packet_size`: the publisher of the huge alert
    is disconnected, and the relay never sees it.
    """
    with LocalBroker(
        tmp_path / "limited", options=["allow_anonymous true", "max_packet_size 1048576"]
    ) as limited:
        make_config = ConfigFactory(tmp_path, limited, simulator)
        path = make_config.write(mqtt={"protocol": "3.1.1"})
        config = make_config(mqtt={"protocol": "3.1.1"})
        process = relay_process(path)
        assert process.process is not None
        await until(lambda: "Connected to" in process.output(), 30)
        async with mqtt_client(config, "huge-publisher") as client:
            with pytest.raises(MqttError):
                await client.connection.publish("alerts/x", b"x" * (60 << 20), qos=1, timeout=60)
        async with mqtt_client(config, "publisher") as client:
            await client.publish("alerts/x", "the alert after it")
            await until(lambda: len(simulator.messages) == 2, 30)
        assert peak_rss_mib(process.process.pid) < MEMORY_BOUND_MIB
        assert process.stop() == 0
