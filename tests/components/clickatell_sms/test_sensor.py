"""The balance and minimum-charge sensors."""

from decimal import Decimal

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import DOMAIN

from .conftest import ALICE_SUBENTRY_ID


@pytest.mark.parametrize("init_integration", [Platform.SENSOR], indirect=True)
async def test_sensors(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.parametrize("init_integration", [Platform.SENSOR], indirect=True)
async def test_devices(
    hass: HomeAssistant,
    device_registry: dr.DeviceRegistry,
    init_integration: MockConfigEntry,
) -> None:
    """The account is a service device; each recipient is one, linked to it."""
    account = device_registry.async_get_device_by_identifier(
        (DOMAIN, init_integration.unique_id), init_integration.entry_id
    )
    assert account
    assert account.entry_type is dr.DeviceEntryType.SERVICE
    assert account.model == "Legacy REST API"
    alice = device_registry.async_get_device_by_identifier(
        (DOMAIN, f"{init_integration.unique_id}_{ALICE_SUBENTRY_ID}"), init_integration.entry_id
    )
    assert alice
    assert alice.name == "Alice"
    assert alice.via_device_id == account.id
    assert alice.config_subentry_id == ALICE_SUBENTRY_ID


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
@pytest.mark.usefixtures("init_integration")
async def test_no_coverage_entities_on_the_platform(hass: HomeAssistant) -> None:
    """The Platform (One API) has no coverage call: no coverage entities."""
    assert hass.states.get("sensor.clickatell_balance")
    assert hass.states.get("notify.alice")
    assert not hass.states.get("sensor.alice_minimum_charge")
    assert not hass.states.get("binary_sensor.alice_coverage")


@pytest.mark.usefixtures("init_integration")
async def test_balance_goes_down_after_a_send(hass: HomeAssistant, simulator: Simulator) -> None:
    """The balance is read again right after a send, not at the next poll."""
    assert hass.states.get("sensor.clickatell_balance").state == "100.0"

    await hass.services.async_call(
        "notify", "clickatell", {"message": "Hi", "target": ["Alice", "Bob"]}, blocking=True
    )
    await hass.async_block_till_done()

    assert hass.states.get("sensor.clickatell_balance").state == "98.67"


@pytest.mark.parametrize(
    ("api", "attributes"),
    [
        # The One API answers {"currency": "USD", "balance": 100.0}: money.
        (
            ApiFlavour.PLATFORM,
            {"unit_of_measurement": "USD", "device_class": "monetary", "state_class": "total"},
        ),
        # The legacy APIs answer in credits.
        (ApiFlavour.REST, {"unit_of_measurement": "credits", "state_class": "measurement"}),
        (ApiFlavour.HTTP, {"unit_of_measurement": "credits", "state_class": "measurement"}),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_balance_unit_is_what_the_api_says(
    hass: HomeAssistant, attributes: dict[str, str]
) -> None:
    state = hass.states.get("sensor.clickatell_balance")
    assert state.state == "100.0"
    assert {
        key: state.attributes[key]
        for key in ("unit_of_measurement", "device_class", "state_class")
        if key in state.attributes
    } == attributes


@pytest.mark.usefixtures("init_integration")
async def test_balance_is_read_again_after_a_failed_send(
    hass: HomeAssistant, simulator: Simulator, issue_registry: ir.IssueRegistry
) -> None:
    """Refused for lack of credit: the sensor shows it now, with the repair issue."""
    simulator.account.balance = Decimal(0)

    with pytest.raises(HomeAssistantError):
        await hass.services.async_call(
            "notify", "clickatell", {"message": "Hi", "target": ["Alice"]}, blocking=True
        )
    await hass.async_block_till_done()

    assert hass.states.get("sensor.clickatell_balance").state == "0.0"
    assert len(issue_registry.issues) == 1
