"""Redeliveries: an alert committed but not acknowledged is queued once; a new one never skipped.

The relay commits a burst, then acknowledges it. Killed (or cut off) between
the two, the broker delivers the burst again flagged DUP, and the receipts
written with the commit tell the relay it has those already. A receipt is only
valid while the broker may still redeliver that very packet: packet IDs are
reused, from 1 again after a broker restart without persistence or after it
restores an older save. Each test holds the queue file's write lock (a real
SQLite condition) so that the relay has received an alert and cannot commit
it yet, then kills the relay or takes its connection away.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.simulator import Simulator

from .conftest import (
    ALICE,
    BOB,
    ConfigFactory,
    RelayProcess,
    commits_blocked,
    mqtt_client,
    running,
    sent_to,
    until,
)

SAME = "Door 3 opened"


def received(process: RelayProcess) -> int:
    """Alerts the relay process's MQTT library has read (its debug log)."""
    return process.output().count("Received PUBLISH (d0, q1, r0,")


async def _kill_while_committing(
    process: RelayProcess, queue: str, config_factory: ConfigFactory
) -> None:
    """Publish SAME once more; kill the relay after it read it, before it could commit it."""
    config = config_factory()
    before = received(process)
    with commits_blocked(queue):
        async with mqtt_client(config, "publisher") as client:
            await client.publish("alerts/x", SAME)
        await until(lambda: received(process) > before)
        process.kill()


async def _three_identical_alerts(
    simulator: Simulator, config_factory: ConfigFactory, sent_before: int = 0
) -> None:
    async with mqtt_client(config_factory(), "publisher") as client:
        for _ in range(3):
            await client.publish("alerts/x", SAME)
    await until(lambda: len(simulator.messages) == sent_before + 6)


async def test_the_same_alert_after_a_broker_restart_without_persistence_is_not_lost(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    """Reproduced: three identical alerts, a broker restart without persistence, the

    same text again, the relay killed before its ack: the API got 3 SMS for 4
    acknowledged alerts (the fourth reused packet ID 1 and matched the first's receipt).
    """
    path = make_config.write()
    queue = make_config().queue.path
    first = relay_process(path)
    await until(lambda: "Connected to" in first.output(), 30)
    await _three_identical_alerts(simulator, make_config)
    broker.stop()
    shutil.rmtree(broker.directory / "persistence")  # the broker forgets every session
    broker.start()
    await until(lambda: "(session new)" in first.output().split("Broker connection lost")[-1])
    await _kill_while_committing(first, queue, make_config)
    second = relay_process(path)  # the broker delivers the fourth again, flagged DUP
    await until(lambda: len(simulator.messages) >= 8, 30)
    assert second.stop() == 0
    assert Counter(sent_to(simulator)) == Counter({(SAME, ALICE): 4, (SAME, BOB): 4})


async def test_the_same_alert_after_the_broker_restores_an_older_save_is_not_lost(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    relay_process: Callable[[Path], RelayProcess],
) -> None:
    """The broker's session comes back from a save older than the relay's receipts:

    it numbers the next alerts from where the save left off, and the fourth alert
    gets the packet ID the first had.
    """
    path = make_config.write()
    queue = make_config().queue.path
    save = broker.directory / "persistence" / "mosquitto.db"
    first = relay_process(path)
    await until(lambda: "Connected to" in first.output(), 30)
    broker.stop()  # a graceful stop writes the save: the session, no alert yet
    older = save.read_bytes()
    broker.start()
    await until(lambda: first.output().count("(session resumed)") == 1, 30)
    await _three_identical_alerts(simulator, make_config)
    broker.stop()
    save.write_bytes(older)
    broker.start()
    await until(lambda: first.output().count("(session resumed)") == 2, 30)
    await _kill_while_committing(first, queue, make_config)
    second = relay_process(path)
    await until(lambda: len(simulator.messages) >= 8, 30)
    assert second.stop() == 0
    assert Counter(sent_to(simulator)) == Counter({(SAME, ALICE): 4, (SAME, BOB): 4})


async def test_an_alert_committed_but_never_acknowledged_is_queued_once(
    broker: LocalBroker,
    simulator: Simulator,
    make_config: ConfigFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The other side of the receipts: the relay commits, its connection is gone before

    the PUBACK, and the broker delivers the alert again, flagged DUP: one SMS each.
    """
    config = make_config()
    async with running(config) as relay:
        with commits_blocked(config.queue.path):
            async with mqtt_client(config, "publisher") as client:
                await client.publish("alerts/x", SAME)
            await until(lambda: "Received PUBLISH (d0, q1" in caplog.text)
            connection = relay.connection
            assert connection is not None
            broker.restart()  # the relay's connection goes while its commit waits
            await until(lambda: not connection.is_connected)
        await until(lambda: "Redelivery of an alert already queued" in caplog.text, 30)
        await until(lambda: relay.bursts == 2)  # the commit, then the redelivery's
        await until(lambda: len(simulator.messages) == 2)
        await until(lambda: relay.dispatcher.in_flight == 0)
        status = await relay.status()
    assert Counter(sent_to(simulator)) == Counter({(SAME, ALICE): 1, (SAME, BOB): 1})
    assert (status["received"], status["queue_depth"]) == (1, 0)
