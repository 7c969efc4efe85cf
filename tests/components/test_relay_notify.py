"""Home Assistant's notify through the relay: its real MQTT integration, mosquitto, the relay.

Nothing is mocked but Clickatell (the simulator): Home Assistant's MQTT
integration connects to a mosquitto started on a free port (scripts/ha-env
puts one in the test root), and the relay runs as its own process, on this
environment's Python, as `clickatell-relay run` runs it.
"""

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.components import mqtt
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.script import Script
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.clickatell_sms import aioclickatell

# The relay's wheel installs these very files as the top-level `aioclickatell`.
sys.modules.setdefault("aioclickatell", aioclickatell)

from clickatell_relay.broker import LocalBroker  # noqa: E402
from clickatell_relay.simulator import Account, Simulator  # noqa: E402

API_KEY = "relay-notify-key-Qw58"
REPO = Path(__file__).resolve().parents[2]
ALICE = "2799900001"
BOB = "2799900002"
ONCALL = "notify.clickatell_relay_oncall"  # notify.<status.node_id>_<name>
MESSAGE = 'Door "A" {open}\nsince 10:02, ünïcödé ✓'


@pytest.fixture
def broker(socket_enabled: None, tmp_path: Path) -> Iterator[LocalBroker]:
    """A real mosquitto on a free loopback port, with persistence."""
    local = LocalBroker(tmp_path / "broker")
    local.start()
    yield local
    local.cleanup()


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncIterator[Simulator]:
    """Clickatell, as the relay's tests have it."""
    sim = Simulator(Account(api_key=API_KEY, balance=Decimal(1000)))
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


class RelayProcess:
    """`python -m clickatell_relay run`, started and stopped (SIGTERM) as systemd would."""

    def __init__(self, config: Path, directory: Path) -> None:
        """Prepare the command; nothing runs yet."""
        # What the wheel does: the integration's copy of the client as `aioclickatell`.
        site = directory / "site"
        site.mkdir()
        (site / "aioclickatell").symlink_to(Path(aioclickatell.__file__).parent)
        self.env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
            "PYTHONUNBUFFERED": "1",
            "CLICKATELL_API_KEY": API_KEY,
        }
        self.command = [sys.executable, "-m", "clickatell_relay", "run", "--config", str(config)]
        self.directory = directory
        self.runs = 0
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start it; its output goes to relay-<run>.log (the secret audit reads those)."""
        with (self.directory / f"relay-{self.runs}.log").open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our interpreter, our module
                self.command, stdout=log, stderr=subprocess.STDOUT, env=self.env, cwd=REPO
            )
        self.runs += 1

    def stop(self) -> int:
        """SIGTERM, the graceful stop; its exit status."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(30)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()

    def output(self) -> str:
        """What every run logged."""
        return "".join(
            (self.directory / f"relay-{run}.log").read_text(encoding="utf-8", errors="replace")
            for run in range(self.runs)
        )


@pytest.fixture
def relay(tmp_path: Path, broker: LocalBroker, simulator: Simulator) -> Iterator[RelayProcess]:
    """The relay with relay/README.md's notify entities (`oncall`, `alice`); not started."""
    setting, _action, _publish = documented()
    config = {
        "mqtt": {
            "port": broker.port,
            "client_id": "relay-under-test",
            "reconnect_min_delay": 0.1,
            "reconnect_max_delay": 0.5,
        },
        "clickatell": {
            "api": "rest",
            "api_key": "${CLICKATELL_API_KEY}",
            "base_url": simulator.base_url("rest"),
        },
        "queue": {"path": str(tmp_path / "queue.db")},
        "limits": {"poll_interval": 0.2, "daily_credit_budget": 100},
        **setting,
        "contacts": {"alice": ALICE, "bob": BOB},
        "groups": {"oncall": ["alice", "bob"]},
        "routes": [{"topic": "alerts/#", "recipients": ["alice"]}],
    }
    path = tmp_path / "relay.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    process = RelayProcess(path, tmp_path)
    yield process
    if process.process is not None and process.process.poll() is None:
        process.stop()


async def until(condition: Callable[[], object], what: str, seconds: float = 20) -> None:
    """Wait for `condition()` while the event loop (Home Assistant, the simulator) runs."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"not within {seconds:g}s: {what}"
        await asyncio.sleep(0.05)


def sms(simulator: Simulator) -> list[tuple[str, str]]:
    """(text, number) of every message Clickatell accepted."""
    return sorted((message.text, message.to) for message in simulator.messages)


def documented() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """relay/README.md's notify examples: the relay's setting, the action, mqtt.publish."""
    text = (REPO / "relay" / "README.md").read_text(encoding="utf-8")
    section = text.split("\n### Notify entities", 1)[1].split("\n## ", 1)[0]
    setting, action, publish = (
        yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    )
    return setting, action, publish


async def run(hass: HomeAssistant, step: dict[str, Any]) -> None:
    """A documented action, run as a script runs it."""
    await Script(hass, cv.SCRIPT_SCHEMA([step]), "relay/README.md", "test").async_run(
        context=Context()
    )


async def test_notify_send_message_reaches_the_group_and_waits_for_a_relay_that_is_down(
    hass: HomeAssistant,
    mock_hass_config: None,  # an empty configuration.yaml: MQTT is the config entry only
    broker: LocalBroker,
    simulator: Simulator,
    relay: RelayProcess,
) -> None:
    _setting, action, publish = documented()
    entry = MockConfigEntry(
        domain=mqtt.DOMAIN,
        data={mqtt.CONF_BROKER: "127.0.0.1", mqtt.CONF_PORT: broker.port},
        version=1,
        minor_version=2,
    )
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await until(lambda: mqtt.is_connected(hass), "Home Assistant connected to mosquitto")

    # The relay's first start makes its persistent session and announces the entities.
    await hass.async_add_executor_job(relay.start)
    await until(lambda: hass.states.get(ONCALL) is not None, f"{ONCALL} discovered")
    assert hass.states.get(ONCALL).attributes["friendly_name"] == "Clickatell relay oncall"
    assert hass.states.get("notify.clickatell_relay_alice") is not None

    await run(hass, action)
    await until(lambda: len(simulator.messages) == 2, "the documented action's SMS")
    text = action["data"]["message"]
    assert sms(simulator) == [(text, ALICE), (text, BOB)]
    await run(hass, publish)
    await until(lambda: len(simulator.messages) == 4, "the documented mqtt.publish's SMS")
    assert sms(simulator)[:2] == [("Garage\nDoor open", ALICE), ("Garage\nDoor open", BOB)]

    # Down: the call still goes (the entity has no availability), to the broker,
    # which keeps it in the relay's session until the relay is back.
    assert await hass.async_add_executor_job(relay.stop) == 0
    assert hass.states.get(ONCALL).state != "unavailable"
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": ONCALL, "message": MESSAGE, "title": "dropped by Home Assistant"},
        blocking=True,
    )
    await hass.async_add_executor_job(relay.start)
    await until(lambda: len(simulator.messages) == 6, "the SMS sent after the restart")
    assert [item for item in sms(simulator) if item[0] == MESSAGE] == [
        (MESSAGE, ALICE),
        (MESSAGE, BOB),
    ]
    assert "Resuming" not in relay.output()  # it came from the broker, not from the queue

    assert await hass.config_entries.async_unload(entry.entry_id)
