"""A scripted chaos run: thousands of alerts through SIGKILLs, a broker restart and API storms.

A publisher task publishes `ALERTS` alerts (each with a unique id in its text)
at a steady rate with QoS 1, to a route with three recipients, while a chaos
script, seeded for reproducibility, kills the relay subprocess with SIGKILL
at random moments and starts it again, restarts the broker (gracefully, with
persistence) once, and takes the simulator through a 503 storm, a 429 storm
and a full outage (the simulator stopped), in a random order. Between the
storms the API answers after `LATENCY`, so requests are in flight when the
kills come.

At the end (the queue drained, the relay stopped with SIGTERM) it asserts:

* the publisher got a PUBACK for every alert;
* every alert reached every recipient at least once (the simulator's records),
  nothing is left queued and nothing was dead-lettered;
* duplicates are counted and bounded. The relay never marks a batch "in
  flight" on disk, so after a SIGKILL what it had handed to the API and not
  yet recorded is sent again. After each kill (the process dead, the API's
  handlers finished) the test counts the SMS the simulator accepted from that
  incarnation of the relay whose rows are still queued in the store: exactly
  the SMS that will be sent twice. The bound asserted is: duplicates <= the
  sum of those counts (+ recipients x alerts the publisher had to publish
  again without knowing whether the broker had them), and each count <=
  `limits.concurrency` x recipients per request (the README's promise:
  only the requests in flight at the kill).

The seed is printed with the counts; set CHAOS_SEED to replay a run's chaos
schedule (the timing of the processes themselves is not reproducible).
CHAOS_ALERTS changes the number of alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.config import MqttConfig
from clickatell_relay.mqtt import MqttConnection, MqttError

from .conftest import API_KEY

if TYPE_CHECKING:
    from collections.abc import Callable

    from clickatell_relay.simulator import Message, Simulator

REPO: Final = Path(__file__).resolve().parents[2]
ALERTS: Final = int(os.environ.get("CHAOS_ALERTS", "2000"))
RATE: Final = 80.0  # alerts published per second
RECIPIENTS: Final = ("2799900011", "2799900012", "2799900013")
CONCURRENCY: Final = 4
LATENCY: Final = 0.03  # seconds the API takes to answer, outside the storms
SETTLE: Final = 0.5  # after a kill, for the API's handlers still running to finish
KILLS: Final = 4
DRAIN_TIMEOUT: Final = 90.0
TOPIC: Final = "chaos/alerts"
TEXT: Final = re.compile(r"^chaos alert (\d{5})$")


def alert_text(index: int) -> str:
    return f"chaos alert {index:05d}"


# The relay as a subprocess ---------------------------------------------------------------


@dataclass
class RelayProcess:
    """`python -m clickatell_relay -v run`, started again after every kill; one log per run."""

    config_path: Path
    log_dir: Path
    process: subprocess.Popen[bytes] | None = None
    runs: int = 0

    def start(self) -> None:
        self.runs += 1
        with (self.log_dir / f"relay-{self.runs}.log").open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
                [
                    sys.executable,
                    "-m",
                    "clickatell_relay",
                    "-v",
                    "run",
                    "--config",
                    str(self.config_path),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                cwd=REPO,
            )

    async def kill(self) -> None:
        """SIGKILL: no cleanup at all."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await asyncio.to_thread(self.process.wait, 10)

    async def stop(self) -> int:
        """SIGTERM, the graceful stop (the simulator keeps answering meanwhile)."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(self.process.wait, 60)

    def cleanup(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)


def relay_config(tmp_path: Path, broker: LocalBroker, simulator: Simulator) -> dict[str, object]:
    return {
        "log_level": "DEBUG",
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker.port,
            "client_id": "chaos-relay",
            "topic_prefix": "relay",
            "keepalive": 5,
            "reconnect_min_delay": 0.1,
            "reconnect_max_delay": 0.5,
        },
        "clickatell": {
            "api": "rest",
            "api_key": API_KEY,
            "base_url": simulator.base_url("rest"),
            "request_timeout": 10,
        },
        "queue": {
            "path": str(tmp_path / "queue.db"),
            "receive_linger": 0.05,
            "max_messages": 100000,
        },
        "limits": {
            "requests_per_second": 1000,
            "messages_per_second": 10000,
            "concurrency": CONCURRENCY,
            "backoff_initial": 0.05,
            "backoff_max": 0.5,
            "poll_interval": 0.2,
            "balance_check_interval": 30,
            "per_recipient_per_hour": None,  # 2000 alerts to the same three people
        },
        "status": {"interval": 5, "discovery": False},
        "contacts": {f"person{index}": number for index, number in enumerate(RECIPIENTS)},
        "groups": {"team": [f"person{index}" for index in range(len(RECIPIENTS))]},
        "routes": [{"name": "chaos", "topic": "chaos/#", "recipients": ["team"]}],
    }


# What the store says --------------------------------------------------------------------


def _query(store: Path, sql: str) -> list[tuple[object, ...]]:
    """Read the queue file without writing it (the relay may be running, or dead)."""
    with contextlib.closing(sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=10)) as db:
        return db.execute(sql).fetchall()


def queued_rows(store: Path) -> set[tuple[str, str]]:
    rows = _query(store, "SELECT client_message_id, recipient FROM sms WHERE state = 'queued'")
    return {(str(cmid), str(recipient)) for cmid, recipient in rows}


def unrecorded(store: Path, accepted: list[Message]) -> int:
    """SMS the API accepted whose rows are still queued: each will be sent again."""
    queued = queued_rows(store)
    return sum(1 for message in accepted if (message.client_message_id, message.to) in queued)


# The publisher ---------------------------------------------------------------------------


@dataclass
class Publisher:
    """Publishes every alert with QoS 1 until the broker acknowledges it, across restarts."""

    mqtt: MqttConfig
    acked: Counter[int] = field(default_factory=Counter)
    # Alerts published again after a lost connection, not knowing whether the broker had
    # taken the first copy (no PUBACK came): each may reach the relay twice.
    uncertain: int = 0
    reconnects: int = 0

    async def _connect(self) -> MqttConnection:
        while True:
            connection = MqttConnection(self.mqtt)
            try:
                await connection.connect(timeout=5)
            except MqttError:
                await asyncio.sleep(0.1)
                continue
            return connection

    async def run(self, count: int, rate: float) -> None:
        loop = asyncio.get_running_loop()
        start = loop.time()
        connection = await self._connect()
        index = 0
        try:
            while index < count:
                await asyncio.sleep(max(0.0, start + index / rate - loop.time()))
                try:
                    await connection.publish(TOPIC, alert_text(index), qos=1, timeout=5)
                except MqttError as error:
                    if "not connected" not in str(error):
                        self.uncertain += 1  # sent, or perhaps sent: publish it again
                    await connection.disconnect(timeout=1)
                    self.reconnects += 1
                    connection = await self._connect()
                    continue
                self.acked[index] += 1
                index += 1
        finally:
            await connection.disconnect(timeout=2)


async def wait_until_online(mqtt: MqttConfig, seconds: float = 30.0) -> None:
    """The relay has subscribed (it says online after subscribing)."""
    connection = MqttConnection(mqtt)
    await connection.connect()
    try:
        await connection.subscribe(["relay/availability"], qos=1, retained=True)
        async with asyncio.timeout(seconds):
            while True:
                burst = await connection.next_burst(0.0, 10)
                for message in burst:
                    connection.ack(message)
                if any(message.payload == b"online" for message in burst):
                    return
    finally:
        await connection.disconnect()


# The chaos schedule ----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    """When things break, in seconds from the first alert."""

    kills: list[tuple[float, float]]  # (at, down for)
    broker: tuple[float, float]  # (at, down for)
    api: list[tuple[str, float, float]]  # (phase, at, lasting)


def make_plan(rng: random.Random, span: float) -> Plan:
    while True:
        times = sorted(rng.uniform(1.0, span) for _ in range(KILLS))
        if all(later - earlier > 2.5 for earlier, later in itertools.pairwise(times)):
            break
    kills = [(at, rng.uniform(0.6, 1.5)) for at in times]
    broker = (rng.uniform(2.0, span - 2.0), rng.uniform(0.5, 2.0))
    api: list[tuple[str, float, float]] = []
    at = rng.uniform(1.0, 3.0)
    for phase in rng.sample(["503 storm", "429 storm", "outage"], 3):
        lasting = rng.uniform(1.5, 3.5)
        api.append((phase, at, lasting))
        at += lasting + rng.uniform(1.5, 4.0)
    return Plan(kills=kills, broker=broker, api=api)


@dataclass
class Chaos:
    """Runs a plan against the relay, the broker and the simulator; counts what kills cost."""

    plan: Plan
    relay: RelayProcess
    broker: LocalBroker
    simulator: Simulator
    store: Path
    port: int
    start: float = 0.0
    boundary: int = 0  # simulator messages accepted before the current incarnation
    wasted: list[int] = field(default_factory=list)  # per kill: accepted but unrecorded
    events: list[str] = field(default_factory=list)

    async def _at(self, offset: float) -> None:
        loop = asyncio.get_running_loop()
        await asyncio.sleep(max(0.0, self.start + offset - loop.time()))

    def _log(self, what: str) -> None:
        elapsed = asyncio.get_running_loop().time() - self.start
        self.events.append(f"{elapsed:6.2f}s {what}")

    def take_stock(self) -> int:
        """After a stop or a kill: what this incarnation's crash will send again."""
        accepted = self.simulator.messages[self.boundary :]
        count = unrecorded(self.store, accepted)
        self.boundary += len(accepted)
        return count

    async def kills(self) -> None:
        for at, down in self.plan.kills:
            await self._at(at)
            await self.relay.kill()
            await asyncio.sleep(SETTLE)
            self.wasted.append(self.take_stock())
            self._log(f"SIGKILL relay: {self.wasted[-1]} SMS accepted but not recorded")
            await asyncio.sleep(max(0.0, down - SETTLE))
            # Nothing the dead relay had sent was accepted after we took stock.
            assert len(self.simulator.messages) == self.boundary
            self.relay.start()
            self._log("relay started again")

    async def broker_restart(self) -> None:
        at, down = self.plan.broker
        await self._at(at)
        await asyncio.to_thread(self.broker.stop)
        self._log("broker stopped")
        await asyncio.sleep(down)
        await asyncio.to_thread(self.broker.start)
        self._log("broker started again")

    def normal(self) -> None:
        self.simulator.clear_faults()
        self.simulator.inject("slow", delay=LATENCY)

    async def api_phases(self) -> None:
        for phase, at, lasting in self.plan.api:
            await self._at(at)
            self._log(f"{phase} begins")
            if phase == "outage":
                await self.simulator.stop()
            else:
                self.simulator.clear_faults()
                if phase == "503 storm":
                    self.simulator.inject("unavailable")
                else:
                    self.simulator.inject("rate_limited", retry_after=1)
            await asyncio.sleep(lasting)
            if phase == "outage":
                await self.simulator.start(host="127.0.0.1", port=self.port)
            self.normal()
            self._log(f"{phase} ends")


# The test --------------------------------------------------------------------------------


def _seed() -> int:
    chosen = os.environ.get("CHAOS_SEED")
    return int(chosen) if chosen else random.SystemRandom().randrange(2**32)


async def _until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(0.2)
    return condition()


EXPECTED: Final = frozenset(
    (alert_text(index), number) for index in range(ALERTS) for number in RECIPIENTS
)


@dataclass
class Tally:
    """What the simulator received, set against what was published and what kills cost."""

    seed: int
    elapsed: float
    chaos: Chaos
    publisher: Publisher
    last_wasted: int  # accepted but unrecorded when the relay was stopped at the end
    copies: Counter[tuple[str, str]] = field(default_factory=Counter)
    client_ids: dict[str, set[str | None]] = field(default_factory=lambda: defaultdict(set))
    left: int = 0
    dead: list[tuple[object, ...]] = field(default_factory=list)

    @classmethod
    def of(cls, seed: int, elapsed: float, chaos: Chaos, publisher: Publisher) -> Tally:
        tally = cls(seed, elapsed, chaos, publisher, chaos.take_stock())
        for message in chaos.simulator.messages:
            if TEXT.match(message.text):
                tally.copies[message.text, message.to] += 1
                tally.client_ids[message.text].add(message.client_message_id)
        tally.left = int(
            str(_query(chaos.store, "SELECT count(*) FROM sms WHERE state = 'queued'")[0][0])
        )
        tally.dead = _query(
            chaos.store, "SELECT reason, count(*) FROM dead_letters GROUP BY reason"
        )
        return tally

    @property
    def missing(self) -> set[tuple[str, str]]:
        return set(EXPECTED - set(self.copies))

    @property
    def duplicates(self) -> int:
        return sum(self.copies.values()) - len(self.copies)

    @property
    def queued_twice(self) -> int:
        """Alerts the relay queued more than once (each copy has its own client message ID)."""
        return sum(len(ids) - 1 for ids in self.client_ids.values())

    @property
    def bound(self) -> int:
        """Duplicates there may be: each SMS in flight at a kill, each uncertain republish."""
        uncertain = self.publisher.uncertain * len(RECIPIENTS)
        return sum(self.chaos.wasted) + self.last_wasted + uncertain

    def summary(self) -> str:
        chaos, publisher = self.chaos, self.publisher
        per_request = len(RECIPIENTS)
        statuses = Counter(request.status for request in chaos.simulator.requests)
        return "\n".join(
            [
                f"chaos seed {self.seed} (replay with CHAOS_SEED={self.seed}); {self.elapsed:.1f}s",
                (
                    f"alerts {ALERTS} x {per_request} recipients = {len(EXPECTED)} SMS expected; "
                    f"publisher acked {len(publisher.acked)} alert(s), {publisher.reconnects} "
                    f"reconnect(s), {publisher.uncertain} published again uncertain"
                ),
                (
                    f"accepted {sum(self.copies.values())} SMS, {len(self.copies)} distinct, "
                    f"missing {len(self.missing)}, duplicates {self.duplicates} "
                    f"(alerts queued twice: {self.queued_twice})"
                ),
                (
                    f"accepted but unrecorded at each kill {chaos.wasted}, at the final stop "
                    f"{self.last_wasted}; duplicate bound {self.bound}; design bound "
                    f"{KILLS} kills x concurrency {CONCURRENCY} x {per_request} = "
                    f"{KILLS * CONCURRENCY * per_request}"
                ),
                (
                    f"relay runs {chaos.relay.runs}; API answers by status "
                    f"{dict(sorted(statuses.items()))}"
                ),
                f"left queued {self.left}; dead letters {self.dead}",
                *chaos.events,
            ]
        )


async def run_chaos(chaos: Chaos, publisher: Publisher, broker_port: int) -> None:
    """Start the relay, publish everything through the chaos, drain, stop gracefully."""
    relay, simulator = chaos.relay, chaos.simulator
    chaos.normal()
    relay.start()
    await wait_until_online(
        MqttConfig(host="127.0.0.1", port=broker_port, client_id="chaos-observer")
    )
    chaos.start = asyncio.get_running_loop().time()
    async with asyncio.TaskGroup() as group:
        group.create_task(publisher.run(ALERTS, RATE), name="publisher")
        group.create_task(chaos.kills(), name="kills")
        group.create_task(chaos.broker_restart(), name="broker")
        group.create_task(chaos.api_phases(), name="api")
    chaos._log(f"all {ALERTS} alerts published; draining")
    simulator.clear_faults()

    def drained() -> bool:
        delivered = {(message.text, message.to) for message in simulator.messages}
        return delivered >= EXPECTED and not queued_rows(chaos.store)

    await _until(drained, DRAIN_TIMEOUT)
    chaos._log("drained" if drained() else "not drained in time")
    assert await relay.stop() == 0, "the relay's graceful stop failed"


async def test_chaos_loses_no_alert_and_bounds_the_duplicates(
    tmp_path: Path,
    broker: LocalBroker,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
) -> None:
    seed = _seed()
    plan = make_plan(random.Random(seed), ALERTS / RATE)  # noqa: S311 - a replayable schedule
    config_path = tmp_path / "relay.yaml"
    config_path.write_text(json.dumps(relay_config(tmp_path, broker, simulator)), "utf-8")
    relay = RelayProcess(config_path, tmp_path)
    port = int(simulator.root_url.rsplit(":", 1)[1])
    chaos = Chaos(plan, relay, broker, simulator, tmp_path / "queue.db", port)
    publisher = Publisher(
        MqttConfig(host="127.0.0.1", port=broker.port, client_id="chaos-publisher", keepalive=5)
    )
    began = time.monotonic()
    try:
        await run_chaos(chaos, publisher, broker.port)
    except BaseException:
        with capsys.disabled():
            print(f"\nchaos seed {seed} failed (replay with CHAOS_SEED={seed})")  # noqa: T201
            print("\n".join(chaos.events))  # noqa: T201
        raise
    finally:
        relay.cleanup()
    tally = Tally.of(seed, time.monotonic() - began, chaos, publisher)
    summary = tally.summary()
    with capsys.disabled():
        print("\n" + summary)  # noqa: T201 - the run's figures, in the test output

    assert len(publisher.acked) == ALERTS, summary
    missing = sorted(tally.missing)
    assert not missing, f"{len(missing)} SMS lost, e.g. {missing[:5]}\n{summary}"
    assert tally.left == 0, summary
    assert not tally.dead, summary
    assert tally.last_wasted == 0, summary  # a graceful stop lets the requests in flight end
    assert all(count <= CONCURRENCY * len(RECIPIENTS) for count in chaos.wasted), summary
    assert tally.queued_twice <= publisher.uncertain, summary
    assert tally.duplicates <= tally.bound, summary
