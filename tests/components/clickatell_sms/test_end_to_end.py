"""What a user does: add the account from the UI, add two recipients, send three ways."""

from datetime import timedelta

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState
from homeassistant.const import ATTR_ENTITY_ID, CONF_API_KEY, CONF_NAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_fire_time_changed

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.const import (
    CONF_ADVANCED,
    CONF_API,
    CONF_BASE_URL,
    CONF_NUMBER,
    DOMAIN,
    SUBENTRY_RECIPIENT,
)

from .conftest import API_KEY


async def test_add_the_account_and_two_recipients_then_send(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    # The account, from the UI, against the simulator's REST API.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {CONF_API: "rest"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {CONF_API_KEY: API_KEY, CONF_ADVANCED: {CONF_BASE_URL: simulator.base_url("rest")}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.clickatell_balance").state == "100.0"

    # Two recipients.
    for name, number in (("Alice", "+27 999 00001"), ("Bob", "2799910002")):
        result = await hass.config_entries.subentries.async_init(
            (entry.entry_id, SUBENTRY_RECIPIENT), context={"source": SOURCE_USER}
        )
        result = await hass.config_entries.subentries.async_configure(
            result["flow_id"], {CONF_NAME: name, CONF_NUMBER: number}
        )
        assert result["type"] is FlowResultType.CREATE_ENTRY
        await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert hass.states.get("binary_sensor.alice_coverage").state == "on"
    assert hass.states.get("sensor.bob_minimum_charge").state == "0.33"

    # notify.<name> with two targets: one request.
    await hass.services.async_call(
        "notify", "clickatell", {"message": "One", "target": ["Alice", "Bob"]}, blocking=True
    )
    await hass.async_block_till_done()
    assert hass.states.get("sensor.clickatell_balance").state == "98.67"

    # notify.send_message on a recipient's entity.
    await hass.services.async_call(
        "notify", "send_message", {ATTR_ENTITY_ID: "notify.bob", "message": "Two"}, blocking=True
    )
    # The integration's action, with message IDs in its response.
    response = await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"recipients": ["Alice"], "message": "Three"},
        blocking=True,
        return_response=True,
    )

    assert [(message.to, message.text) for message in simulator.messages] == [
        ("2799900001", "One"),
        ("2799910002", "One"),
        ("2799910002", "Two"),
        ("2799900001", "Three"),
    ]
    assert response["messages"][0]["message_id"] == simulator.messages[-1].api_message_id
    # Reads of the balance after sends are at most one per 10 seconds.
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done(wait_background_tasks=True)
    # Two messages at a credit, two at a third.
    assert hass.states.get("sensor.clickatell_balance").state == "97.33"
