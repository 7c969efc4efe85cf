"""Setting up, reloading and unloading the Clickatell SMS integration."""

from decimal import Decimal
from typing import Any

import pytest
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms import notify
from custom_components.clickatell_sms.const import CONF_MAX_BATCH_SIZE, DOMAIN

from .conftest import BOB_SUBENTRY_ID


async def test_load_unload(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The entry brings notify.<title>; unloading takes it away, the actions stay."""
    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.services.has_service("notify", "clickatell")
    assert hass.services.has_service(DOMAIN, "send_message")
    assert hass.services.has_service(DOMAIN, "stop_message")

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    await hass.async_block_till_done()

    assert init_integration.state is ConfigEntryState.NOT_LOADED
    assert not hass.services.has_service("notify", "clickatell")
    assert hass.services.has_service(DOMAIN, "send_message")


async def test_setup_retries_while_the_api_is_down(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    simulator.inject("unavailable")
    mock_config_entry.add_to_hass(hass)

    await hass.config_entries.async_setup(mock_config_entry.entry_id)

    assert mock_config_entry.state is ConfigEntryState.SETUP_RETRY


async def test_setup_with_refused_credentials_starts_reauthentication(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    simulator.account.api_key = "rotated-key"
    mock_config_entry.add_to_hass(hass)

    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize("options", [{CONF_MAX_BATCH_SIZE: 9999}])
async def test_setup_with_options_the_client_refuses(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)

    await hass.config_entries.async_setup(mock_config_entry.entry_id)

    assert mock_config_entry.state is ConfigEntryState.SETUP_ERROR
    assert mock_config_entry.reason is not None
    assert "max_batch_size" in mock_config_entry.reason


async def test_removing_a_recipient(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    entity_registry: er.EntityRegistry,
    device_registry: dr.DeviceRegistry,
) -> None:
    """Its device and entities go; it is no longer a target; coverage stops asking for it."""
    assert hass.states.get("notify.bob")

    assert hass.config_entries.async_remove_subentry(init_integration, BOB_SUBENTRY_ID)
    await hass.async_block_till_done()

    assert init_integration.state is ConfigEntryState.LOADED
    assert not hass.states.get("notify.bob")
    assert not entity_registry.async_get("binary_sensor.bob_coverage")
    assert not device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.unique_id}_{BOB_SUBENTRY_ID}"), init_integration.entry_id
    )
    assert BOB_SUBENTRY_ID not in init_integration.runtime_data.coverage_coordinator.data


async def test_renaming_the_entry_renames_its_notify_service(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    hass.config_entries.async_update_entry(init_integration, title="Office SMS")
    await hass.async_block_till_done()

    assert hass.services.has_service("notify", "office_sms")
    assert not hass.services.has_service("notify", "clickatell")


async def test_a_taken_notify_name_is_left_alone(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A second entry of the same title gets no service rather than taking the first's."""
    data = {key: value for key, value in init_integration.data.items() if key != CONF_WEBHOOK_ID}
    second = MockConfigEntry(domain=DOMAIN, title="Clickatell", data=data, unique_id="other")
    second.add_to_hass(hass)

    await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()

    assert second.state is ConfigEntryState.LOADED
    assert "notify.clickatell already exists" in caplog.text
    await hass.config_entries.async_unload(second.entry_id)
    await hass.async_block_till_done()
    assert hass.services.has_service("notify", "clickatell")


async def test_no_yaml_configuration(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> None:
    assert await async_setup_component(hass, "notify", {"notify": [{"platform": DOMAIN}]})
    await hass.async_block_till_done()

    assert "set up from the UI" in caplog.text
    assert not hass.services.has_service("notify", DOMAIN)


async def test_no_service_for_an_entry_gone_before_discovery(
    hass: HomeAssistant, simulator: Simulator, mock_config_entry: MockConfigEntry
) -> None:
    mock_config_entry.add_to_hass(hass)
    discovery: dict[str, Any] = {"name": "Clickatell", "entry_id": mock_config_entry.entry_id}

    assert await notify.async_get_service(hass, {}, discovery) is None
    assert await notify.async_get_service(hass, {}, {**discovery, "entry_id": "gone"}) is None


async def test_removing_the_entry_removes_its_issue(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    simulator.account.balance = Decimal(0)
    await init_integration.runtime_data.balance_coordinator.async_refresh()
    assert issue_registry.async_get_issue(DOMAIN, f"no_credit_{init_integration.entry_id}")

    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()

    assert not issue_registry.async_get_issue(DOMAIN, f"no_credit_{init_integration.entry_id}")
