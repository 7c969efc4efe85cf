"""The contenders: whatever takes alerts from MQTT and sends SMS through the simulator.

A benchmark says what it needs as a `Routing` (the broker, the API, MQTT
topic filters and the numbers each goes to) and starts any contender with
it, pinned to the relay's core, through `running` (which waits until the
contender says "online" on `<name>/availability`, that is, has subscribed):

* `Relay`: the relay, `python -m clickatell_relay run`, with the bench's
  sections (limits, batching, queue) over the shipped defaults.
* `Mqttwarn`: the real mqttwarn 0.36 daemon (bench/mqttwarn_daemon.py, in
  its own virtualenv), its `apprise_single` service with Apprise's Clickatell
  plugin: what a user runs today for MQTT to Clickatell SMS.
* `Naive`: bench/naive.py, the bench's own paho loop that sends each alert
  itself, with `requests` or through Apprise's Clickatell plugin.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.common import (
    API_KEY,
    MQTTWARN_PYTHON,
    NAIVE_PYTHON,
    REPO,
    STATUS_PREFIX,
    Daemon,
    relay_command,
    relay_config,
    relay_environment,
    running,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Mapping, Sequence
    from pathlib import Path

    from bench.common import Mqtt, Pinning
    from clickatell_relay.broker import LocalBroker


@dataclass(frozen=True)
class Routing:
    """What a benchmark asks of every contender."""

    broker_port: int
    api_url: str  # the simulator's root URL, or UNREACHABLE_API
    routes: Mapping[str, Sequence[str]]  # MQTT topic filter -> recipient numbers (digits)


class Contender(ABC):
    """Something that takes alerts from MQTT and sends them to the API."""

    key: str  # its name in the JSON
    label: str  # its name in the table
    # mosquitto.conf lines that `taken` needs
    broker_options: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        """Where it says it is online: `<name>/availability`."""
        return self.key

    def daemon(
        self,
        directory: Path,
        routing: Routing,
        pinning: Pinning,
        *,
        strace_output: Path | None = None,
    ) -> Daemon:
        """Its process, not started, its configuration and its log in `directory`."""
        command = self.command(directory, routing)
        return Daemon(command, directory / f"{self.key}.log", pinning, strace_output)

    @abstractmethod
    def command(self, directory: Path, routing: Routing) -> list[str]:
        """Write its configuration into `directory`; the command line that runs it."""

    def taken(self, directory: Path, local: LocalBroker) -> Callable[[], int]:
        """A counter of the alerts it has taken from the broker so far (for ingest)."""
        raise NotImplementedError(f"{self.label} has no ingest counter")


@contextlib.asynccontextmanager
async def started(
    contender: Contender,
    directory: Path,
    routing: Routing,
    pinning: Pinning,
    client: Mqtt,
) -> AsyncIterator[Daemon]:
    """The contender, started and subscribed; stopped (gracefully) on exit."""
    daemon = contender.daemon(directory, routing, pinning)
    with running(daemon):
        await client.until_online(contender.name)
        yield daemon


def _slug(topic_filter: str) -> str:
    """A route name from a topic filter: letters, digits, '-' and '.'."""
    return topic_filter.replace("/", "-").replace("#", "all").replace("+", "any")


@dataclass(frozen=True)
class Relay(Contender):
    """The relay; `sections` (limits, clickatell, queue...) over the shipped defaults."""

    key: str = "relay"
    label: str = "relay"
    sections: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    route_options: Mapping[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The relay's status prefix (bench.common.relay_config)."""
        return STATUS_PREFIX

    def command(self, directory: Path, routing: Routing) -> list[str]:
        """relay.yaml: one group and one route per topic filter."""
        config = relay_config(
            directory,
            routing.broker_port,
            base_url=routing.api_url,
            contacts={},
            groups={
                _slug(topic): [f"+{number}" for number in numbers]
                for topic, numbers in routing.routes.items()
            },
            routes=[
                {
                    "name": _slug(topic),
                    "topic": topic,
                    "recipients": [_slug(topic)],
                    **self.route_options,
                }
                for topic in routing.routes
            ],
            **{name: dict(values) for name, values in self.sections.items()},
        )
        return relay_command(config)

    def daemon(
        self,
        directory: Path,
        routing: Routing,
        pinning: Pinning,
        *,
        strace_output: Path | None = None,
    ) -> Daemon:
        """Its process, with the environment the shipped systemd unit gives it."""
        daemon = super().daemon(directory, routing, pinning, strace_output=strace_output)
        daemon.env.update(relay_environment())
        return daemon

    def taken(self, directory: Path, local: LocalBroker) -> Callable[[], int]:  # noqa: ARG002
        """The queue's `received` counter, committed with the alerts it counts."""
        path = directory / "queue.db"

        def received() -> int:
            if not path.exists():
                return 0
            with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
                row = db.execute("SELECT value FROM counters WHERE name = 'received'").fetchone()
            return 0 if row is None else int(row[0])

        return received


@dataclass(frozen=True)
class Mqttwarn(Contender):
    """mqttwarn 0.36 as a user would set it up for Clickatell SMS.

    `[defaults]` as mqttwarn ships them but for the broker, the availability
    topic and the log level (INFO, as the relay's); one section per topic
    filter at QoS 1 (mqttwarn's default is 0) with `cleansession = False`
    (its default), so the broker keeps alerts for it while it is down; the
    title empty, so that the SMS is the alert's text, as the relay sends it
    (Apprise puts a title in front of an SMS's body); one worker thread (its
    default). mqttwarn's `apprise_single` service sets Apprise's throttle to 0.
    """

    key: str = "mqttwarn"
    label: str = "mqttwarn"
    # The broker logs every packet: mqttwarn's PUBACKs are its ingest counter.
    broker_options: tuple[str, ...] = ("log_type debug",)

    @staticmethod
    def installed() -> bool:
        """Whether scripts/bench has made mqttwarn's virtualenv."""
        return MQTTWARN_PYTHON.exists()

    def command(self, directory: Path, routing: Routing) -> list[str]:
        """mqttwarn.ini: one Apprise target and one topic section per topic filter."""
        targets = {_slug(topic): list(numbers) for topic, numbers in routing.routes.items()}
        sections = "".join(
            f"\n[{topic}]\ntargets = apprise:{_slug(topic)}\nqos = 1\ntitle =\n"
            for topic in routing.routes
        )
        config = directory / "mqttwarn.ini"
        config.write_text(
            "[defaults]\n"
            "hostname = '127.0.0.1'\n"
            f"port = {routing.broker_port}\n"
            f"clientid = 'bench-{self.name}'\n"
            "cleansession = False\n"
            f"lwt = '{self.name}/availability'\n"
            "lwt_alive = 'online'\n"
            "lwt_dead = 'offline'\n"
            "loglevel = INFO\n"
            "launch = apprise\n"
            "\n[config:apprise]\n"
            "module = 'apprise_single'\n"
            f"baseuri = 'clickatell://{API_KEY}'\n"
            f"targets = {targets!r}\n"
            f"{sections}",
            encoding="utf-8",
        )
        script = REPO / "bench" / "mqttwarn_daemon.py"
        notify_url = f"{routing.api_url}/messages/http/send"
        return [str(MQTTWARN_PYTHON), str(script), notify_url, str(config)]

    def taken(self, directory: Path, local: LocalBroker) -> Callable[[], int]:  # noqa: ARG002
        """PUBACKs from mqttwarn in the broker's debug log: it acknowledges on receipt."""
        return LogCounter(local.log_path, f"Received PUBACK from bench-{self.name} ")


@dataclass(frozen=True)
class Naive(Contender):
    """bench/naive.py: `post` (requests) or `apprise` (Apprise's plugin, `throttle` s apart)."""

    key: str
    label: str
    mode: str
    throttle: float | None = None

    def command(self, directory: Path, routing: Routing) -> list[str]:
        """<key>.json and the command line."""
        config = directory / f"{self.key}.json"
        document = {
            "api_url": routing.api_url,
            "api_key": API_KEY,
            "broker_port": routing.broker_port,
            "routes": {topic: list(numbers) for topic, numbers in routing.routes.items()},
        }
        config.write_text(json.dumps(document), encoding="utf-8")
        return [
            str(NAIVE_PYTHON) if NAIVE_PYTHON.exists() else sys.executable,
            str(REPO / "bench" / "naive.py"),
            *("--config", str(config), "--name", self.key, "--mode", self.mode),
            *(() if self.throttle is None else ("--throttle", str(self.throttle))),
        ]


@dataclass
class LogCounter:
    """Lines of a growing log that contain `needle`, counted as the log grows."""

    path: Path
    needle: str
    count: int = 0
    _offset: int = 0
    _partial: bytes = b""

    def __call__(self) -> int:
        """The count now."""
        with contextlib.suppress(FileNotFoundError), self.path.open("rb") as log:
            log.seek(self._offset)
            chunk = log.read()
            self._offset += len(chunk)
            lines = (self._partial + chunk).split(b"\n")
            self._partial = lines.pop()
            needle = self.needle.encode()
            self.count += sum(1 for line in lines if needle in line)
        return self.count
