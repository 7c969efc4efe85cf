"""Fixtures for relay tests: a real mosquitto, the simulator, configs, a relay, MQTT helpers."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from clickatell_relay.broker import LocalBroker
from clickatell_relay.config import RelayConfig, parse_config
from clickatell_relay.mqtt import IncomingMessage, MqttConnection, MqttError
from clickatell_relay.relay import Relay
from clickatell_relay.simulator import Account, Simulator

API_KEY = "relay-test-key-Zx81"
REPO = Path(__file__).resolve().parents[2]
GUIDE = REPO / "relay" / "README.md"
# What the wheel is built from: the project's metadata and the two packages.
WHEEL_SOURCES = {
    "aioclickatell": REPO / "custom_components" / "clickatell_sms" / "aioclickatell",
    "clickatell_relay": REPO / "relay" / "clickatell_relay",
}

# Numbers in Clickatell's test range (the simulator accepts them).
ALICE = "2799900001"
BOB = "2799900002"
CAROL = "2799900003"
OPTED_OUT = "2799999122"
INVALID = "2799999105"


async def until(condition: Callable[[], object], seconds: float = 20.0, step: float = 0.05) -> None:
    """Wait until `condition()` is true; fail the test after a generous timeout."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        await asyncio.sleep(step)
    assert condition(), f"condition not met within {seconds}s"


async def until_async(
    condition: Callable[[], Any], seconds: float = 20.0, step: float = 0.1
) -> None:
    """Like `until`, for a coroutine function."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(step)
    assert await condition(), f"condition not met within {seconds}s"


def install_guide() -> str:
    """The install guide's section of relay/README.md."""
    text = GUIDE.read_text(encoding="utf-8")
    return text.split("\n## Install on a Raspberry Pi", 1)[1].split("\n## ", 1)[0]


@pytest.fixture(scope="session")
def relay_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The relay's wheel, built once by the install guide's step 1, from a clean copy.

    A copy: setuptools reuses a checkout's build/ folder, which can hide a file
    missing from the configuration.
    """
    match = re.search(r"^1\. Build the wheel[^`]*`([^`]+)`", install_guide(), re.MULTILINE)
    assert match, "the install guide's step 1 names no command"
    command = shlex.split(match.group(1))
    assert command[0] == "python3"
    project = tmp_path_factory.mktemp("project")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, project / name)
    for source in WHEEL_SOURCES.values():
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(source, project / source.relative_to(REPO), ignore=ignore)
    subprocess.run(  # noqa: S603 - our own interpreter, the guide's arguments
        [sys.executable, *command[1:], "--quiet"], check=True, capture_output=True, cwd=project
    )
    (wheel,) = (project / "dist").glob("clickatell_relay-*.whl")
    return wheel


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A real mosquitto on a free port, with persistence; can stop and restart."""
    local = LocalBroker(tmp_path / "broker")
    local.start()
    yield local
    local.cleanup()


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """The bundled Clickatell simulator with plenty of credit."""
    sim = Simulator(Account(api_key=API_KEY, balance=Decimal(100000)))
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


def _merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


@dataclass
class ConfigFactory:
    """Builds test configurations around the broker and simulator of a test."""

    tmp_path: Path
    broker: LocalBroker | None
    simulator: Simulator | None
    count: int = 0

    def data(self, **changes: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "mqtt": {
                "host": "127.0.0.1",
                "port": self.broker.port if self.broker else 1883,
                "client_id": "relay-under-test",
                "topic_prefix": "relay",
                "reconnect_min_delay": 0.1,
                "reconnect_max_delay": 0.5,
                "keepalive": 5,
            },
            "clickatell": {
                "api": "rest",
                "api_key": API_KEY,
                "base_url": self.simulator.base_url("rest")
                if self.simulator
                else "http://127.0.0.1:9/rest",
                "request_timeout": 5,
            },
            "queue": {"path": str(self.tmp_path / "queue.db")},
            "limits": {
                "requests_per_second": 100,
                "messages_per_second": 1000,
                "backoff_initial": 0.05,
                "backoff_max": 0.4,
                "poll_interval": 0.2,
                "balance_check_interval": 0.5,
                # Tests send dozens of alerts to the same two people; the shipped
                # cap (10 an hour) has tests of its own.
                "per_recipient_per_hour": None,
            },
            "status": {"interval": 1},
            "contacts": {"alice": ALICE, "bob": BOB, "carol": CAROL},
            "groups": {"oncall": ["alice", "bob"]},
            "routes": [{"name": "alerts", "topic": "alerts/#", "recipients": ["oncall"]}],
        }
        return _merge(base, changes)

    def write(self, **changes: Any) -> Path:
        self.count += 1
        path = self.tmp_path / f"relay{self.count}.yaml"
        path.write_text(yaml.safe_dump(self.data(**changes), sort_keys=False), encoding="utf-8")
        return path

    def __call__(self, **changes: Any) -> RelayConfig:
        path = self.write(**changes)
        return parse_config(path.read_text(encoding="utf-8"), str(path), environ={})


@pytest.fixture
def make_config(tmp_path: Path, request: pytest.FixtureRequest) -> ConfigFactory:
    """Configurations for this test's broker and simulator (when the test uses them)."""
    names = request.fixturenames
    local = request.getfixturevalue("broker") if "broker" in names else None
    sim = request.getfixturevalue("simulator") if "simulator" in names else None
    return ConfigFactory(tmp_path, local, sim)


@asynccontextmanager
async def running(config: RelayConfig, *, connected: bool = True) -> AsyncIterator[Relay]:
    """A relay running in this event loop; stopped (gracefully) on exit."""
    relay = Relay(config)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop), name="relay-under-test")
    try:
        if connected:
            await until(lambda: relay.connected.is_set() or task.done(), 20)
            if task.done():
                task.result()
        yield relay
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@dataclass
class Client:
    """A test MQTT client: publishes, and collects what it subscribed to."""

    connection: MqttConnection
    received: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))
    task: asyncio.Task[None] | None = None

    async def publish(self, topic: str, payload: str | bytes, *, retain: bool = False) -> None:
        await self.connection.publish(topic, payload, qos=1, retain=retain, timeout=10)

    async def subscribe(self, *filters: str) -> None:
        await self.connection.subscribe(list(filters), qos=1, retained=True)

    def json(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(payload) for payload in self.received.get(topic, [])]

    async def _collect(self) -> None:
        with contextlib.suppress(MqttError):
            while True:
                burst: list[IncomingMessage] = await self.connection.next_burst(0.0, 100)
                for message in burst:
                    self.received[message.topic].append(message.payload)
                    self.connection.ack(message)


@asynccontextmanager
async def mqtt_client(
    config: RelayConfig, client_id: str = "test-client", *, protocol: str | None = None
) -> AsyncIterator[Client]:
    """A connected test client (fresh session) on the relay's broker."""
    from dataclasses import replace  # noqa: PLC0415

    mqtt = replace(config.mqtt, session_expiry=60, protocol=protocol or config.mqtt.protocol)
    connection = MqttConnection(mqtt, client_id=client_id)
    await connection.connect()
    client = Client(connection)
    client.task = asyncio.create_task(client._collect())
    try:
        yield client
    finally:
        client.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await client.task
        await connection.disconnect()


@contextlib.contextmanager
def commits_blocked(queue: str | Path) -> Iterator[None]:
    """Hold the queue's write lock, as another process would: the relay's commits wait
    (up to its busy timeout), its reads go on."""
    db = sqlite3.connect(queue, isolation_level=None)
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        db.execute("ROLLBACK")
        db.close()


def sent_to(simulator: Simulator) -> list[tuple[str, str]]:
    """(text, recipient) of every message the simulator accepted."""
    return [(message.text, message.to) for message in simulator.messages]


def send_requests(simulator: Simulator) -> list[Any]:
    """The send requests the simulator answered (any status)."""
    return [
        request
        for request in simulator.requests
        if request.method == "POST" and request.path.endswith("/message")
    ]


@dataclass
class RelayProcess:
    """The relay as a separate process (`python -m clickatell_relay run`)."""

    config_path: Path
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "clickatell_relay",
                "-v",
                "run",
                "--config",
                str(self.config_path),
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=REPO,
        )

    def kill(self) -> None:
        """SIGKILL: no cleanup at all."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)
        self.log.close()

    def stop(self) -> int:
        """SIGTERM and wait: the graceful path."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        self.log.close()
        return self.process.returncode

    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def relay_process(tmp_path: Path) -> Iterator[Callable[[Path], RelayProcess]]:
    """Start relay subprocesses; every one still running is killed at the end."""
    started: list[RelayProcess] = []

    def start(config_path: Path) -> RelayProcess:
        process = RelayProcess(config_path, tmp_path / f"relay-{len(started)}.log")
        process.start()
        started.append(process)
        return process

    yield start
    for process in started:
        if process.process is not None and process.process.poll() is None:
            process.process.kill()
            process.process.wait(10)
