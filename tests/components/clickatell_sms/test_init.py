"""Setting up, reloading and unloading the Clickatell SMS integration."""

from decimal import Decimal
from typing import Any

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.const import CONF_WEBHOOK_ID, STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms import notify
from custom_components.clickatell_sms.const import CONF_MAX_BATCH_SIZE, DOMAIN, RETRY_INTERVAL

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


@pytest.mark.parametrize("fault", ["unavailable", "drop", "stopped"])
async def test_setup_without_the_api(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """A restart while Clickatell is down: the entry loads (its outbox must run), and waits.

    It used to stay in setup_retry until the API came back, with no notify
    service, no outbox and no entities. Now the balance entities are
    unavailable until the API answers, and then show it.
    """
    port = int(simulator.root_url.rsplit(":", 1)[1])
    assert await hass.config_entries.async_unload(init_integration.entry_id)
    if fault == "stopped":
        await simulator.stop()
    else:
        simulator.inject(fault)

    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()

    assert init_integration.state is ConfigEntryState.LOADED
    assert hass.services.has_service("notify", "clickatell")
    assert hass.states.get("sensor.clickatell_outbox").state == "0"
    for entity_id in ("sensor.clickatell_balance", "binary_sensor.clickatell_low_balance"):
        assert hass.states.get(entity_id).state == STATE_UNAVAILABLE, entity_id
    assert "Clickatell does not answer Clickatell yet" in caplog.text

    if fault == "stopped":
        await simulator.start(port=port)
    else:
        simulator.clear_faults()
    freezer.tick(RETRY_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    assert hass.states.get("sensor.clickatell_balance").state == "100.0"
    assert hass.states.get("binary_sensor.clickatell_low_balance").state == "off"


async def test_a_new_entry_without_the_api_gets_its_balance_sensor_when_it_answers(
    hass: HomeAssistant,
    simulator: Simulator,
    mock_config_entry: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    hass_client: ClientSessionGenerator,
    issue_registry: ir.IssueRegistry,
) -> None:
    """Whether the balance is in credits or a currency is known only from the API's answer."""
    simulator.inject("unavailable")
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    assert mock_config_entry.state is ConfigEntryState.LOADED
    assert hass.states.get("sensor.clickatell_balance") is None
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, mock_config_entry)
    assert diagnostics["balance"]["data"] is None
    # Reloaded and polled while still down: still no balance sensor.
    assert await hass.config_entries.async_reload(mock_config_entry.entry_id)
    freezer.tick(RETRY_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert hass.states.get("sensor.clickatell_balance") is None
    # A send refused for lack of credit before any balance was read: the issue all the same.
    mock_config_entry.runtime_data.balance_coordinator.async_no_credit()
    assert issue_registry.async_get_issue(DOMAIN, f"no_credit_{mock_config_entry.entry_id}")

    simulator.clear_faults()
    freezer.tick(RETRY_INTERVAL)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)

    state = hass.states.get("sensor.clickatell_balance")
    assert state.state == "100.0"
    assert state.attributes["unit_of_measurement"] == "credits"
    # The balance rose above what it was when credit ran out (nothing read: 0).
    assert not issue_registry.async_get_issue(DOMAIN, f"no_credit_{mock_config_entry.entry_id}")


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
