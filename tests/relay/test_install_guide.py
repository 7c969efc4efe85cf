"""relay/README.md's install guide, followed line by line from the wheel it builds.

The guide's commands run as written, in a fresh virtualenv made with the
system's Python (the Pi's), in a temporary directory standing in for `/`:
`sudo` is dropped and `/etc/`, `/opt/` and `/var/lib/` move under it. What a
test cannot do, it does as the guide means it: `sudoedit` is an edit made
here, `systemctl ... enable --now` starts the unit `init` wrote (its
`ExecStartPre=`, then `ExecStart=` with its `EnvironmentFile=`), against a
test mosquitto and the simulator; `apt-get` and `journalctl` are skipped. A
line the test does not know fails it, so the guide and the test cannot drift.
"""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import stat
import sys
from pathlib import Path

from clickatell_relay.broker import LocalBroker
from clickatell_relay.config import load_config
from clickatell_relay.simulator import Simulator

from .conftest import API_KEY, install_guide, mqtt_client, until

SYSTEM_PYTHON = Path("/usr/bin/python3.11")  # Raspberry Pi OS's; Debian 12's too
SKIPPED = ("sudo apt-get install ", "journalctl ")


def guide_lines() -> list[str]:
    """The shell lines of the guide's step 2, comments removed."""
    block = re.search(r"```sh\n(.*?)```", install_guide(), re.DOTALL)
    assert block, "the install guide has no shell block"
    lines = [line.split("  #", 1)[0].strip() for line in block.group(1).splitlines()]
    return [line for line in lines if line]


class Machine:
    """A directory standing in for the Pi's `/`, where the guide's lines run."""

    def __init__(self, root: Path, wheel_dir: Path) -> None:
        self.root = root
        self.wheel_dir = wheel_dir
        self.python = SYSTEM_PYTHON if SYSTEM_PYTHON.exists() else Path(sys.executable)

    def path(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    def translate(self, line: str) -> str:
        """A guide line as it runs here: no sudo, paths under the root, the system's Python."""
        line = line.removeprefix("sudo ")
        for top in ("/etc/", "/opt/", "/var/lib/"):
            line = line.replace(top, f"{self.root}{top}")
        return line.replace("python3 -m venv", f"{self.python} -m venv")

    async def run(self, line: str, environ: dict[str, str] | None = None) -> str:
        process = await asyncio.create_subprocess_shell(
            self.translate(line),
            cwd=self.wheel_dir,
            env={**os.environ, **(environ or {})},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await process.communicate()
        shown = out.decode()
        assert process.returncode == 0, f"{line}\n{shown}"
        return shown


def unit_settings(unit: Path) -> dict[str, str]:
    settings: dict[str, str] = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        name, equals, value = line.partition("=")
        if equals and not line.startswith("#"):
            settings.setdefault(name, value)
    return settings


def unit_environment(unit: Path) -> dict[str, str]:
    """The unit's Environment= lines (unquoted NAME=value pairs, as the unit writes them)."""
    pairs: dict[str, str] = {}
    for line in unit.read_text(encoding="utf-8").splitlines():
        if line.startswith("Environment="):
            for word in line.removeprefix("Environment=").split():
                name, _, value = word.partition("=")
                pairs[name] = value
    return pairs


def environment_file(path: Path) -> dict[str, str]:
    """What systemd's EnvironmentFile= makes of the simple lines the guide asks for."""
    pairs = (
        line.split("=", 1)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    return dict(pairs)


async def test_the_install_guide_works_from_the_wheel(
    relay_wheel: Path, tmp_path: Path, broker: LocalBroker, simulator: Simulator
) -> None:
    machine = Machine(tmp_path / "pi", relay_wheel.parent)
    config = machine.path("/etc/clickatell-relay/relay.yaml")
    secrets = machine.path("/etc/clickatell-relay/secrets.env")
    unit = machine.path("/etc/systemd/system/clickatell-relay.service")
    relay: asyncio.subprocess.Process | None = None
    done: list[str] = []
    try:
        for line in guide_lines():
            if line.startswith(SKIPPED):
                done.append("skipped")
            elif line.startswith("sudoedit "):
                edited = machine.path(line.split()[1])
                if edited == config:  # what a user of this machine would write
                    text = config.read_text(encoding="utf-8")
                    for old, new in (
                        ("  port: 1883", f"  port: {broker.port}"),
                        ("  base_url: null", f"  base_url: {simulator.base_url('platform')}"),
                        ("/var/lib/clickatell-relay/", f"{machine.root}/var/lib/clickatell-relay/"),
                        ("daily_credit_budget: null", "daily_credit_budget: 500"),
                    ):
                        assert old in text, old
                        text = text.replace(old, new)
                    config.write_text(text, encoding="utf-8")
                else:
                    assert edited == secrets
                    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600  # as init made it
                    with secrets.open("a", encoding="utf-8") as file:
                        file.write(f"CLICKATELL_API_KEY={API_KEY}\n")
                done.append("edited")
            elif line.startswith("sudo systemctl daemon-reload && sudo systemctl enable --now "):
                relay = await start_unit(machine, unit, tmp_path / "relay.log")
                await alert_becomes_sms(config, simulator)
                done.append("started")
            else:
                output = await machine.run(line)
                if " check-config " in line:
                    assert f"{config}: OK: 3 route(s)" in output
                if " queue list " in line:
                    assert "0 SMS queued" in output
                    assert re.search(r"counters: .*\bsent 2\b", output), output
                done.append("ran")
        assert done.count("ran") >= 5  # venv, pip, init, check-config, queue list
        assert (done.count("edited"), done.count("started")) == (2, 1)
        assert relay is not None
        relay.send_signal(signal.SIGTERM)  # systemd's stop
        assert await asyncio.wait_for(relay.wait(), 30) == 0
    finally:
        if relay is not None and relay.returncode is None:
            relay.kill()
            await relay.wait()
    assert API_KEY not in (tmp_path / "relay.log").read_text(encoding="utf-8")


async def start_unit(machine: Machine, unit: Path, log: Path) -> asyncio.subprocess.Process:
    """What `systemctl enable --now` does with the unit `init` wrote."""
    settings = unit_settings(unit)
    command = f"{machine.root}/opt/clickatell-relay/venv/bin/clickatell-relay"
    config = f"{machine.root}/etc/clickatell-relay/relay.yaml"
    assert settings["ExecStart"] == f"{command} run --config {config}"
    assert settings["ExecStartPre"] == f"{command} check-config --config {config}"
    environ = {
        **unit_environment(unit),
        **environment_file(Path(settings["EnvironmentFile"].removeprefix("-"))),
    }
    state = machine.path("/var/lib/" + settings["StateDirectory"])
    state.mkdir(parents=True, mode=0o700)  # StateDirectory=
    check = await asyncio.create_subprocess_exec(
        *shlex.split(settings["ExecStartPre"]), env={**os.environ, **environ}
    )
    assert await check.wait() == 0
    with log.open("wb") as output:
        return await asyncio.create_subprocess_exec(
            *shlex.split(settings["ExecStart"]),
            env={**os.environ, **environ},
            stdout=output,
            stderr=asyncio.subprocess.STDOUT,
        )


async def alert_becomes_sms(config_path: Path, simulator: Simulator) -> None:
    """An alert on the example's critical route reaches its group, oncall: two SMS."""
    config = load_config(config_path, environ={"CLICKATELL_API_KEY": API_KEY})
    async with mqtt_client(config, "install-guide") as client:
        await client.subscribe(config.mqtt.availability_topic)
        await until(lambda: client.received[config.mqtt.availability_topic][-1:] == [b"online"])
        await client.publish("alerts/critical/db", "Database down")
        await until(lambda: len(simulator.messages) == 2)
    assert sorted(message.to for message in simulator.messages) == ["27830000001", "27830000002"]
