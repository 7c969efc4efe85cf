"""The automation examples of docs/home-assistant.md ("Two-way SMS"), run as written."""

import asyncio
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    async_fire_time_changed,
    async_mock_service,
)

from clickatell_relay.simulator import Simulator, Timings

from .conftest import ALICE, BOB
from .two_way import TWO_WAY_NUMBER

DOCS = Path(__file__).parents[3] / "docs" / "home-assistant.md"


def examples() -> list[dict[str, Any]]:
    """The YAML blocks under "Automation examples", in order."""
    section = DOCS.read_text(encoding="utf-8").split("### Automation examples", 1)[1]
    section = section.split("\n## ", 1)[0]
    return [yaml.safe_load(block) for block in re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)]


@pytest.fixture
async def automations(hass: HomeAssistant, init_integration: Any) -> list[dict[str, Any]]:
    """The two automations and the script of the examples, set up."""
    reply, failed, script = examples()
    assert await async_setup_component(hass, "automation", {"automation": [reply, failed]})
    assert await async_setup_component(hass, "script", {"script": {"leak_alert": script}})
    return [reply, failed, script]


@pytest.mark.usefixtures("automations")
async def test_act_on_a_reply(hass: HomeAssistant, simulator: Simulator, webhook_url: str) -> None:
    opened = async_mock_service(hass, "cover", "open_cover")
    simulator.account.mo_url = webhook_url
    simulator.account.mo_format = "post"

    simulator.inject_inbound(ALICE, TWO_WAY_NUMBER, "No")
    simulator.inject_inbound("27831234567", TWO_WAY_NUMBER, "yes")  # not Alice
    simulator.inject_inbound(BOB, TWO_WAY_NUMBER, "Yes")  # not Alice either
    await simulator.callbacks_settled()
    await hass.async_block_till_done()
    assert not opened

    simulator.inject_inbound(ALICE, TWO_WAY_NUMBER, " Yes ")
    await simulator.callbacks_settled()
    await hass.async_block_till_done()
    assert [call.data["entity_id"] for call in opened] == [["cover.garage_door"]]


@pytest.mark.usefixtures("automations")
async def test_alert_on_a_failed_delivery(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str
) -> None:
    notifications = async_mock_service(hass, "persistent_notification", "create")
    simulator.account.callback_url = webhook_url

    await hass.services.async_call(
        "clickatell_sms",
        "send_message",
        {"recipients": ["Alice", "2799998007"], "message": "Leak"},
        blocking=True,
    )
    await simulator.callbacks_settled()
    await hass.async_block_till_done()

    assert [call.data for call in notifications] == [
        {
            "title": "SMS not delivered",
            "message": "The SMS to 2799998007 ended failed (Error delivering message).",
        }
    ]


@pytest.mark.usefixtures("automations")
async def test_wait_for_delivered(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str
) -> None:
    """Delivered in time: Bob is not texted."""
    simulator.account.callback_url = webhook_url

    await hass.services.async_call("script", "leak_alert", blocking=False)
    await simulator.callbacks_settled()
    await hass.async_block_till_done()

    assert [message.to for message in simulator.messages] == [ALICE]
    assert hass.states.get("script.leak_alert").state == "off"


@pytest.mark.usefixtures("automations")
async def test_wait_for_delivered_times_out(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str
) -> None:
    """Not delivered within 10 minutes: Bob is texted."""
    simulator.account.callback_url = webhook_url
    simulator.timings = Timings(delivery_delay=3600)

    # Not blocking until done: the script waits for up to 10 minutes.
    await hass.services.async_call("script", "leak_alert", blocking=False)
    await until(lambda: simulator.message_count == 1)
    await until(lambda: hass.states.get("script.leak_alert").state == "on")
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=9))
    await asyncio.sleep(0.1)
    assert [message.to for message in simulator.messages] == [ALICE]

    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=10, seconds=1))
    await until(lambda: hass.states.get("script.leak_alert").state == "off")

    assert [message.to for message in simulator.messages] == [ALICE, BOB]
    assert "did not arrive" in simulator.messages[1].text


async def until(condition: Callable[[], bool]) -> None:
    """Let the loop run until the condition holds (or fail after 5 s)."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - no event says when the simulator has it
            await asyncio.sleep(0.01)
