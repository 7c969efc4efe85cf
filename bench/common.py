"""What the benchmarks share: broker, simulator, a contender as a pinned process, /proc probes.

A contender (the relay, `python -m clickatell_relay run`, or one of
bench/contenders.py's alternatives) runs pinned to one core with `taskset`
(the last core this process may use); the bench itself, mosquitto and the
simulator (in this process) are kept on the other cores, so they do not take
the contender's core. Everything talks over loopback.
"""

from __future__ import annotations

import asyncio
import compileall
import contextlib
import gc
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import yaml

from clickatell_relay.broker import LocalBroker
from clickatell_relay.config import MqttConfig
from clickatell_relay.mqtt import IncomingMessage, MqttConnection, MqttError
from clickatell_relay.simulator import Account, Simulator

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterable, Iterator

REPO: Final = Path(__file__).resolve().parents[1]
RELAY_PACKAGE: Final = REPO / "relay" / "clickatell_relay"
CLIENT_PACKAGE: Final = REPO / "custom_components" / "clickatell_sms" / "aioclickatell"
UNIT: Final = RELAY_PACKAGE / "install" / "clickatell-relay.service"
# scripts/bench makes a virtualenv per contender here, from the Pi's interpreter
# where the machine has it: the relay's wheel, as relay/README.md has users
# install it; mqttwarn; the naive loop's packages.
VENVS: Final = REPO / ".cache" / "bench"
INSTALLED_RELAY: Final = VENVS / "relay" / "bin" / "python"
NAIVE_PYTHON: Final = VENVS / "naive" / "bin" / "python"
MQTTWARN_PYTHON: Final = VENVS / "mqttwarn" / "bin" / "python"


def versions(python: Path, packages: Iterable[str]) -> dict[str, str] | None:
    """The interpreter's version and the packages' in a virtualenv; None without it."""
    if not python.exists():
        return None
    script = (
        "import importlib.metadata as m, json, platform, sys;"
        "print(json.dumps({'python': platform.python_version(),"
        " **{p: m.version(p) for p in sys.argv[1:]}}))"
    )
    result = subprocess.run(  # noqa: S603 - our interpreter, our script
        [python, "-c", script, *packages], capture_output=True, text=True, check=True
    )
    found: dict[str, str] = json.loads(result.stdout)
    return found


API_KEY: Final = "bench-api-key-Qm27"
STATUS_PREFIX: Final = "relay"
CLOCK_TICKS: Final = os.sysconf("SC_CLK_TCK")
# Any unused loopback port: connections are refused at once (the API is "down").
UNREACHABLE_API: Final = "http://127.0.0.1:9"


def number(index: int) -> str:
    """A recipient in Clickatell's test range that the simulator accepts (2799900000 + index)."""
    return str(2799900000 + index)


# Pinning ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pinning:
    """Where the relay runs and where everything else runs."""

    taskset: str | None
    relay_core: int | None
    other_cores: tuple[int, ...]

    @property
    def note(self) -> str:
        """One line for the report."""
        if self.taskset is None or self.relay_core is None:
            return "relay NOT pinned (taskset missing or a single core): figures are noisier"
        others = ",".join(str(core) for core in self.other_cores) or "the same core"
        return (
            f"relay pinned with `taskset -c {self.relay_core}`; "
            f"bench, mosquitto and simulator on core(s) {others}"
        )

    def prefix(self) -> list[str]:
        """The command prefix that pins a process to the relay's core."""
        if self.taskset is None or self.relay_core is None:
            return []
        return [self.taskset, "-c", str(self.relay_core)]


def pin() -> Pinning:
    """Keep this process (and the children it starts) off the relay's core."""
    cores = sorted(os.sched_getaffinity(0))
    taskset = shutil.which("taskset")
    if taskset is None or len(cores) < 2:
        return Pinning(taskset=None, relay_core=None, other_cores=tuple(cores))
    relay_core, others = cores[-1], tuple(cores[:-1])
    os.sched_setaffinity(0, others)
    return Pinning(taskset=taskset, relay_core=relay_core, other_cores=others)


# /proc probes -------------------------------------------------------------------------


@dataclass(frozen=True)
class ProcSample:
    """A process's counters at one moment (Linux /proc)."""

    at: float  # time.monotonic()
    cpu: float  # utime + stime, seconds, all threads
    rss: int  # VmRSS, bytes
    rss_peak: int  # VmHWM, bytes
    write_bytes: int  # bytes sent to the storage layer (/proc/pid/io)
    wchar: int  # bytes passed to write() and friends, files and sockets alike


def probe(pid: int) -> ProcSample:
    """Read /proc/<pid>/{stat,status,io}."""
    at = time.monotonic()
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
    fields = stat.rsplit(")", 1)[1].split()  # the name may hold spaces
    cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    status = Path(f"/proc/{pid}/status").read_text(encoding="ascii")
    memory = {
        name: int(value.split()[0]) * 1024
        for name, value in (line.split(":", 1) for line in status.splitlines())
        if name in ("VmRSS", "VmHWM")
    }
    io = dict(
        line.split(": ", 1) for line in Path(f"/proc/{pid}/io").read_text().splitlines() if line
    )
    return ProcSample(
        at=at,
        cpu=cpu,
        rss=memory["VmRSS"],
        rss_peak=memory["VmHWM"],
        write_bytes=int(io["write_bytes"]),
        wchar=int(io["wchar"]),
    )


# The broker and the simulator --------------------------------------------------------


@contextlib.contextmanager
def broker(directory: Path, options: Iterable[str] = ()) -> Iterator[LocalBroker]:
    """A private mosquitto (persistence on, as a Pi's would be) on a free port.

    `options` are extra mosquitto.conf lines (`log_type debug` logs every packet).
    """
    local = LocalBroker(directory, options=["allow_anonymous true", *options])
    local.start()
    try:
        yield local
    finally:
        local.cleanup()


@contextlib.asynccontextmanager
async def simulator(messages_per_second: float | None = None) -> AsyncIterator[Simulator]:
    """The bundled simulator in this process, with plenty of credit."""
    sim = Simulator(
        Account(api_key=API_KEY, balance=Decimal(10_000_000)),
        messages_per_second=messages_per_second,
    )
    await sim.start(host="127.0.0.1", port=0)
    try:
        yield sim
    finally:
        await sim.stop()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """This process's garbage collector off while it timestamps publishes and accepts.

    The publisher and the simulator share this process: a full collection
    here (tens of milliseconds once the simulator holds thousands of
    messages) landed between an alert's publish and its accept, and counted
    as the contender's latency.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def send_requests(sim: Simulator) -> list[Any]:
    """The send requests the simulator answered (any status): not balance checks."""
    return [
        request
        for request in sim.requests
        if request.path in ("/v1/message", "/messages", "/messages/http/send")
        or request.path.endswith(("/message", "/sendmsg"))
    ]


def accepted_count(sim: Simulator) -> int:
    """Messages accepted so far (cheap: no status refresh)."""
    return sim.message_count


# The relay -------------------------------------------------------------------------------


def relay_config(
    directory: Path,
    broker_port: int,
    *,
    base_url: str,
    contacts: dict[str, str],
    routes: list[dict[str, Any]],
    groups: dict[str, list[str]] | None = None,
    **sections: dict[str, Any],
) -> Path:
    """Write a relay configuration: the shipped defaults but for what the bench needs.

    `sections` (mqtt, clickatell, queue, limits, status) are merged into the
    base; any key not named keeps the relay's own default.
    """
    data: dict[str, Any] = {
        "mqtt": {
            "host": "127.0.0.1",
            "port": broker_port,
            "client_id": "bench-relay",
            "topic_prefix": STATUS_PREFIX,
        },
        "clickatell": {"api": "platform", "api_key": API_KEY, "base_url": base_url},
        "queue": {"path": str(directory / "queue.db")},
        # A benchmark sends hundreds of alerts to a handful of numbers: the
        # shipped per-recipient cap (10 an hour) would dead-letter most of them.
        "limits": {"per_recipient_per_hour": None},
        "status": {},
        "log_level": "INFO",
        "contacts": contacts,
        "groups": groups or {},
        "routes": routes,
    }
    for name, values in sections.items():
        data[name] = {**data.get(name, {}), **values}
    path = directory / "relay.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@dataclass
class Daemon:
    """A contender's process, pinned, optionally under `strace -c` for fsyncs; logs to a file."""

    command: list[str]
    log_path: Path
    pinning: Pinning
    strace_output: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it (it connects and subscribes on its own)."""
        command = self.command
        if self.strace_output is not None:
            strace = shutil.which("strace")
            if strace is None:
                raise RuntimeError("strace is not installed")
            trace = [
                "-f",
                "--seccomp-bpf",
                "-c",
                "-o",
                str(self.strace_output),
                "-e",
                "trace=fsync,fdatasync",
            ]
            command = [strace, *trace, *command]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreters, our arguments
                [*self.pinning.prefix(), *command],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
                cwd=REPO,
            )

    @property
    def pid(self) -> int:
        """The contender's own PID (under strace, strace's child)."""
        if self.process is None:
            raise RuntimeError("not started")
        if self.strace_output is None:
            return self.process.pid
        deadline = time.monotonic() + 10
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        while time.monotonic() < deadline:
            found = children.read_text(encoding="ascii").split()
            if found:
                return int(found[0])
            time.sleep(0.01)
        raise RuntimeError("strace started no process")

    def probe(self) -> ProcSample:
        """Its counters now."""
        return probe(self.pid)

    def stop(self, grace: float = 30) -> int:
        """SIGTERM (the graceful path) to the process itself; SIGKILL after `grace` seconds."""
        return self._end(signal.SIGTERM, grace)

    def kill(self) -> int:
        """SIGKILL, as a power cut or the OOM killer would: no clean-up of any kind."""
        return self._end(signal.SIGKILL, 10)

    def _end(self, signum: signal.Signals, grace: float) -> int:
        if self.process is None:
            return 0
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signum)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def fsyncs(self) -> dict[str, int]:
        """fsync/fdatasync calls counted by `strace -c` (after `stop`; none: an empty file)."""
        if self.strace_output is None:
            return {}
        if not self.strace_output.exists():
            raise RuntimeError(f"strace wrote no summary to {self.strace_output}")
        counts: dict[str, int] = {}
        for line in self.strace_output.read_text(encoding="utf-8").splitlines():
            parts = line.split()
            if parts and parts[-1] in ("fsync", "fdatasync"):
                counts[parts[-1]] = int(parts[3])
        return counts

    def log_tail(self, lines: int = 20) -> str:
        """The end of its log, for an error message."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(encoding="utf-8").splitlines()[-lines:])
        return ""


@contextlib.contextmanager
def running(daemon: Daemon) -> Iterator[Daemon]:
    """A started process, stopped (gracefully) on exit; its log's end printed on an error."""
    daemon.start()
    try:
        yield daemon
    except BaseException:
        print(f"The log of {daemon.command[0]} ends:\n{daemon.log_tail()}", file=sys.stderr)
        raise
    finally:
        daemon.stop()


def relay_python() -> str:
    """The relay as installed from its wheel (scripts/bench makes it); else this checkout's.

    The checkout's is .venv's: its editable-install finder and coverage hook
    cost about 1 MiB of RSS, and its modules are compiled here, as pip
    compiles them at install (without __pycache__ every start compiles them
    again, about 1 MiB more).
    """
    if INSTALLED_RELAY.exists():
        return str(INSTALLED_RELAY)
    for package in (RELAY_PACKAGE, CLIENT_PACKAGE):
        compileall.compile_dir(package, quiet=1)
    return sys.executable


def relay_command(config_path: Path) -> list[str]:
    """`python -m clickatell_relay run` with this configuration."""
    return [relay_python(), "-m", "clickatell_relay", "run", "--config", str(config_path)]


def relay_environment() -> dict[str, str]:
    """What the relay runs with as installed: the shipped unit's `Environment=` lines."""
    environment: dict[str, str] = {}
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if line.startswith("Environment="):
            for word in line.removeprefix("Environment=").split():
                name, _, value = word.partition("=")
                environment[name] = value
    return environment


def relay_process(
    config_path: Path, pinning: Pinning, *, strace_output: Path | None = None
) -> contextlib.AbstractContextManager[Daemon]:
    """A started relay, logging next to its configuration; stopped (gracefully) on exit."""
    log_path = config_path.with_suffix(".log")
    command = relay_command(config_path)
    return running(Daemon(command, log_path, pinning, strace_output, env=relay_environment()))


# MQTT from the bench -------------------------------------------------------------------


@dataclass
class StatusSample:
    """A status document from the relay, and when it arrived."""

    at: float
    status: dict[str, Any]


class Mqtt:
    """The bench's own MQTT connection (the relay's adapter): publish, watch who is online.

    Every contender announces itself on `<name>/availability` ("online" when
    it has subscribed); the relay also publishes its status document.
    """

    def __init__(self, port: int, client_id: str) -> None:
        """Not connected until `connect`."""
        config = MqttConfig(port=port, client_id=client_id, session_expiry=60, keepalive=30)
        self.connection = MqttConnection(config)
        self.statuses: list[StatusSample] = []
        self._online: dict[str, asyncio.Event] = {}
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Connect and follow the relay's status and everyone's availability."""
        await self.connection.connect()
        self._task = asyncio.create_task(self._collect())
        await self.connection.subscribe(
            [f"{STATUS_PREFIX}/status", "+/availability"], qos=1, retained=True
        )

    async def close(self) -> None:
        """Disconnect."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.connection.disconnect()

    async def _collect(self) -> None:
        with contextlib.suppress(MqttError):
            while True:
                burst: list[IncomingMessage] = await self.connection.next_burst(0.0, 100)
                for message in burst:
                    self.connection.ack(message)
                    self._take(message)

    def _take(self, message: IncomingMessage) -> None:
        if message.topic.endswith("/availability"):
            # A retained "online" is an earlier run's: only a live one counts.
            if message.payload == b"online" and not message.retain:
                self._online_event(message.topic.rsplit("/", 1)[0]).set()
            return
        self.statuses.append(StatusSample(time.monotonic(), json.loads(message.payload)))
        self.changed.set()

    def _online_event(self, name: str) -> asyncio.Event:
        return self._online.setdefault(name, asyncio.Event())

    async def until_online(self, name: str, within: float = 30) -> None:
        """Wait for `name` to say it is online (once per start); TimeoutError after `within` s."""
        event = self._online_event(name)
        await asyncio.wait_for(event.wait(), within)
        event.clear()

    def status(self) -> dict[str, Any]:
        """The latest status (empty before the first)."""
        return self.statuses[-1].status if self.statuses else {}

    async def until_status(
        self, condition: Callable[[dict[str, Any]], bool], within: float
    ) -> dict[str, Any]:
        """Wait for a status that meets `condition`; TimeoutError after `within` seconds."""
        async with asyncio.timeout(within):
            while not (self.statuses and condition(self.status())):
                self.changed.clear()
                await self.changed.wait()
        return self.status()

    async def publish(self, topic: str, payload: str | bytes) -> None:
        """QoS 1, waiting for the broker's PUBACK."""
        await self.connection.publish(topic, payload, qos=1)

    async def publish_many(self, messages: Iterable[tuple[str, str]]) -> None:
        """QoS 1 as fast as the broker takes them; return once every PUBACK is in."""
        last: tuple[str, str] | None = None
        for count, message in enumerate(messages, 1):
            if last is not None:
                self.connection.publish_nowait(*last, qos=1)
            last = message
            if count % 500 == 0:
                await asyncio.sleep(0)  # let the loop write and read PUBACKs
        if last is not None:
            await self.connection.publish(*last, qos=1, timeout=120)


@contextlib.asynccontextmanager
async def mqtt_client(port: int, client_id: str = "bench") -> AsyncIterator[Mqtt]:
    """A connected bench client."""
    client = Mqtt(port, client_id)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


async def wait_until(condition: Callable[[], bool], within: float, step: float = 0.05) -> bool:
    """Poll `condition` until true or `within` seconds have passed; whether it came true."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if condition():
            return True
        await asyncio.sleep(step)
    return condition()


# Figures -------------------------------------------------------------------------------------


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile (of a non-empty list)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def fmt_seconds(seconds: float) -> str:
    """A duration, in the unit that reads best."""
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    if seconds < 120:
        return f"{seconds:.2f} s"
    return f"{seconds / 60:.1f} min"


def fmt_bytes(count: float) -> str:
    """Bytes in KiB/MiB."""
    if count < 1024:
        return f"{count:.0f} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.1f} KiB"
    return f"{count / (1024 * 1024):.1f} MiB"


@dataclass
class Report:
    """One benchmark's outcome: rows for the table, everything for the JSON."""

    name: str
    rows: list[tuple[str, str]] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def row(self, case: str, result: str) -> None:
        """A line of the printed table."""
        self.rows.append((case, result))
