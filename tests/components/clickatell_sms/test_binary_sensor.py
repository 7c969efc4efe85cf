"""The low-balance and coverage binary sensors."""

from decimal import Decimal

import pytest
from homeassistant.const import STATE_OFF, STATE_ON, Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.const import CONF_LOW_BALANCE_THRESHOLD, CONF_NUMBER

from .conftest import ALICE_SUBENTRY_ID


@pytest.mark.parametrize("init_integration", [Platform.BINARY_SENSOR], indirect=True)
async def test_binary_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("options", [{CONF_LOW_BALANCE_THRESHOLD: 50}])
async def test_low_balance(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    assert hass.states.get("binary_sensor.clickatell_low_balance").state == STATE_OFF

    simulator.account.balance = Decimal("49.99")
    await init_integration.runtime_data.balance_coordinator.async_refresh()

    assert hass.states.get("binary_sensor.clickatell_low_balance").state == STATE_ON


async def test_unroutable_recipient(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A number the network cannot route (114), and one the API refuses outright (105)."""
    hass.config_entries.async_update_subentry(
        init_integration,
        init_integration.subentries[ALICE_SUBENTRY_ID],
        data={CONF_NUMBER: "2799999114"},
    )
    await hass.async_block_till_done()

    assert hass.states.get("binary_sensor.alice_coverage").state == STATE_OFF
    assert hass.states.get("sensor.alice_minimum_charge").state == "unknown"
    assert hass.states.get("binary_sensor.bob_coverage").state == STATE_ON

    hass.config_entries.async_update_subentry(
        init_integration,
        init_integration.subentries[ALICE_SUBENTRY_ID],
        data={CONF_NUMBER: "2799999105"},
    )
    await hass.async_block_till_done()

    assert hass.states.get("binary_sensor.alice_coverage").state == STATE_OFF
