"""The supervisor: no exception from the store, the client or MQTT ends the relay's process.

Faults come from real sources: the broker stopped and started, and SQLite
refusing writes through a trigger that another connection adds to the queue
file (a real SQLite error, raised inside the relay's own transaction).
"""

from __future__ import annotations

import logging
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.simulator import Simulator

from .conftest import (
    ALICE,
    BOB,
    ConfigFactory,
    RelayProcess,
    mqtt_client,
    running,
    sent_to,
    until,
)

FAULT = "injected fault: the card refuses writes"


@contextmanager
def refused_inserts(queue: str | Path, table: str) -> Iterator[None]:
    """Every INSERT into `table` fails inside the relay's transaction, until the block ends."""
    db = sqlite3.connect(queue, isolation_level=None)
    db.execute(
        f"CREATE TRIGGER refuse_{table} BEFORE INSERT ON {table}"
        f" BEGIN SELECT RAISE(ABORT, '{FAULT}'); END"
    )
    try:
        yield
    finally:
        db.execute(f"DROP TRIGGER refuse_{table}")
        db.close()


def failures(caplog: pytest.LogCaptureFixture, task: str) -> list[logging.LogRecord]:
    """ERROR records of a task that failed, with the traceback of the fault."""
    return [
        record
        for record in caplog.records
        if record.levelno == logging.ERROR
        and record.name == "clickatell_relay.relay"
        and f"The {task} task failed" in record.getMessage()
        and record.exc_text is not None
        and FAULT in record.exc_text
    ]


async def test_the_relay_process_survives_a_broker_stop_and_start(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    """On Python 3.11.0-3.11.3 a `raise` inside `except*` wrapped the MqttError in an

    ExceptionGroup, which the reconnect loop did not catch: stopping the broker
    ended `clickatell-relay run` with exit status 1.
    """
    path = make_config.write()
    config = make_config()
    process = relay_process(path)
    await until(lambda: "Connected to" in process.output(), 30)
    broker.stop()
    await until(lambda: "Broker connection lost" in process.output())
    await until(lambda: "retrying in" in process.output())  # it tries to reconnect...
    assert process.process is not None
    assert process.process.poll() is None, process.output()[-3000:]  # ...and is still there
    broker.start()
    await until(lambda: process.output().count("Connected to") == 2, 30)
    async with mqtt_client(config, "publisher") as client:
        await client.publish("alerts/x", "after the broker came back")
    await until(lambda: len(simulator.messages) == 2)
    assert process.stop() == 0
    assert sorted(sent_to(simulator)) == [
        ("after the broker came back", ALICE),
        ("after the broker came back", BOB),
    ]


async def test_a_store_fault_while_receiving_is_logged_and_the_relay_carries_on(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = make_config()
    async with running(config) as relay, mqtt_client(config, "publisher") as client:
        with refused_inserts(config.queue.path, "sms"):
            await client.publish("alerts/x", "through a bad patch")
            await until(lambda: len(failures(caplog, "mqtt")) >= 2)  # failed, restarted, failed
            assert simulator.messages == []
        # Unacknowledged, the alert came back after every restart; now it is committed.
        await until(lambda: len(simulator.messages) == 2)
        await until(lambda: relay.dispatcher.in_flight == 0)
        status = await relay.status()
    assert Counter(sent_to(simulator)) == Counter(
        {("through a bad patch", ALICE): 1, ("through a bad patch", BOB): 1}
    )
    assert status["received"] == 1


async def test_a_store_fault_while_dispatching_is_logged_and_the_relay_carries_on(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = make_config(
        routes=[
            {
                "name": "digest",
                "topic": "alerts/#",
                "recipients": ["oncall"],
                "digest": {"wait": 0, "interval": 0},
            }
        ]
    )
    async with running(config), mqtt_client(config, "publisher") as client:
        # The alert is committed to its digest group; folding it into an SMS fails.
        with refused_inserts(config.queue.path, "sms"):
            await client.publish("alerts/x", "folded late")
            await until(lambda: len(failures(caplog, "dispatch")) >= 2)
            assert simulator.messages == []
        await until(lambda: len(simulator.messages) == 2)
    assert sorted(sent_to(simulator)) == [("folded late", ALICE), ("folded late", BOB)]
