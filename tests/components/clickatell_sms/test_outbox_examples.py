"""The examples of docs/home-assistant.md's "The outbox" and "Direct, through a relay, or both".

Run as written, against the simulator. The relay's notify entities come from
the relay (over MQTT); here `notify.send_message` is recorded instead, so
what is checked is what the automations ask of them.
"""

import re
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
import yaml
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.script import Script
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import ApiFlavour, RetryPolicy
from custom_components.clickatell_sms.const import CONF_OUTBOX_ENABLED, DOMAIN

from .conftest import ALICE, stop_simulator

DOCS = Path(__file__).parents[3] / "docs" / "home-assistant.md"


def _section(title: str) -> list[dict[str, Any]]:
    """The YAML blocks of a "## " section, in order."""
    section = DOCS.read_text(encoding="utf-8").split(f"\n## {title}\n", 1)[1]
    section = section.split("\n## ", 1)[0]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)]


CLEAR, RETRY_WHEN_BACK, DROPPED = _section("The outbox")
RELAY_ONLY, BOTH_WAYS = _section("Direct, through a relay, or both")


@pytest.fixture
def api() -> ApiFlavour:
    """The default API, which the examples are for."""
    return ApiFlavour.PLATFORM


@pytest.fixture
def options() -> dict[str, Any]:
    """The outbox on, as for a new entry."""
    return {CONF_OUTBOX_ENABLED: True}


@pytest.fixture(autouse=True)
def no_retries_in_the_call() -> Iterator[None]:
    """A send fails at its first failure (test_outbox.py says why)."""
    with patch("custom_components.clickatell_sms.send.SEND_RETRY", RetryPolicy.NONE):
        yield


async def _queue(hass: HomeAssistant, recipients: list[str], **data: Any) -> None:
    await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"recipients": recipients, "message": "Water leak", **data},
        blocking=True,
    )
    await hass.async_block_till_done()


@pytest.mark.usefixtures("init_integration")
async def test_the_clear_outbox_example(hass: HomeAssistant, simulator: Simulator) -> None:
    await stop_simulator(simulator)
    await _queue(hass, ["Alice", "Bob"])

    script = Script(hass, cv.SCRIPT_SCHEMA([CLEAR]), "documented example", DOMAIN)
    result = await script.async_run(context=Context())

    assert result is not None
    assert result.variables[CLEAR["response_variable"]] == {"cleared": 2}
    assert hass.states.get("sensor.clickatell_outbox").state == "0"


@pytest.mark.usefixtures("init_integration")
async def test_send_what_waits_when_the_internet_is_back(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """Sent when the internet sensor turns on, not after the outbox's wait."""
    hass.states.async_set("binary_sensor.internet", "off")
    assert await async_setup_component(hass, "automation", {"automation": [RETRY_WHEN_BACK]})
    port = await stop_simulator(simulator)
    await _queue(hass, ["Alice"])
    await simulator.start(port=port)
    assert simulator.messages == []

    hass.states.async_set("binary_sensor.internet", "on")
    await hass.async_block_till_done()

    assert [(message.to, message.text) for message in simulator.messages] == [(ALICE, "Water leak")]


@pytest.mark.usefixtures("init_integration")
async def test_told_when_an_sms_is_dropped(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    notifications = async_mock_service(hass, "persistent_notification", "create")
    assert await async_setup_component(hass, "automation", {"automation": [DROPPED]})
    # Let the setup's requests finish first: Python 3.14's asyncio asserts when a
    # server closes between accepting a connection and attaching its transport.
    await hass.async_block_till_done()
    await stop_simulator(simulator)
    await _queue(hass, ["Alice"], validity=5)

    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()

    (notification,) = notifications
    assert notification.data["title"] == "SMS not sent"
    assert re.fullmatch(
        r"The SMS to Alice waited since \S+ and was dropped \(validity\)\.",
        notification.data["message"],
    )


@pytest.mark.usefixtures("init_integration")
async def test_the_relay_examples(hass: HomeAssistant, simulator: Simulator) -> None:
    """The relay's entity gets the alarm; both ways, a refusal on one does not stop the other."""
    relay = async_mock_service(hass, "notify", "send_message")
    hass.states.async_set("alarm_control_panel.home", "armed_away")
    assert await async_setup_component(hass, "automation", {"automation": [RELAY_ONLY, BOTH_WAYS]})
    simulator.reset()
    simulator.account.balance = Decimal(0)  # the direct path fails: no credit

    hass.states.async_set("alarm_control_panel.home", "triggered")
    await hass.async_block_till_done()

    assert sorted(
        (call.data["entity_id"][0], call.data["message"].split(" at ")[0]) for call in relay
    ) == [("notify.relay_alice", "Intrusion"), ("notify.relay_on_call", "Intrusion")]
    assert simulator.messages == []

    # Both ways, when both work: the recipient gets one SMS from each path.
    relay.clear()
    simulator.account.balance = Decimal(100)
    hass.states.async_set("alarm_control_panel.home", "armed_away")
    hass.states.async_set("alarm_control_panel.home", "triggered")
    await hass.async_block_till_done()

    assert [message.to for message in simulator.messages] == [ALICE]
    assert sorted(call.data["entity_id"][0] for call in relay) == [
        "notify.relay_alice",
        "notify.relay_on_call",
    ]
