"""Event entities and their translations."""

import json
from collections.abc import Iterator
from pathlib import Path
from unittest.mock import PropertyMock, patch

import pytest
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry, snapshot_platform
from syrupy.assertion import SnapshotAssertion

import custom_components.clickatell_sms as integration
from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.event import FROM_OTHERS, RECIPIENT_EVENTS

from .conftest import ALICE
from .two_way import STRANGER, TWO_WAY_NUMBER

STRINGS = json.loads((Path(integration.__file__).parent / "strings.json").read_text())


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Entities disabled by default are created enabled (core's fixture of the same name)."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


@pytest.mark.parametrize("init_integration", [Platform.EVENT], indirect=True)
@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_event_entities(
    hass: HomeAssistant,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
    init_integration: MockConfigEntry,
) -> None:
    await snapshot_platform(hass, entity_registry, snapshot, init_integration.entry_id)


@pytest.mark.usefixtures("init_integration")
async def test_sms_from_others_is_off_by_default(
    hass: HomeAssistant, entity_registry: er.EntityRegistry
) -> None:
    """Strangers' numbers and texts: the user turns it on."""
    entry = entity_registry.async_get("event.clickatell_sms_from_other_numbers")
    assert entry
    assert entry.disabled_by is er.RegistryEntryDisabler.INTEGRATION
    assert entity_registry.async_get("event.alice_reply").disabled_by is None


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_sms_from_others_once_on(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str
) -> None:
    simulator.account.mo_url = webhook_url
    simulator.account.mo_format = "post"

    message_id = simulator.inject_inbound(STRANGER, TWO_WAY_NUMBER, "Wrong number?")
    simulator.inject_inbound(ALICE, TWO_WAY_NUMBER, "Not a stranger")
    await simulator.callbacks_settled()
    await hass.async_block_till_done()

    state = hass.states.get("event.clickatell_sms_from_other_numbers")
    assert state.attributes["event_type"] == "received"
    assert state.attributes["from"] == STRANGER
    assert state.attributes["to"] == TWO_WAY_NUMBER
    assert state.attributes["text"] == "Wrong number?"
    assert state.attributes["message_id"] == message_id
    assert hass.states.get("event.alice_reply").attributes["text"] == "Not a stranger"


def test_every_event_type_is_translated() -> None:
    for description in (*RECIPIENT_EVENTS, FROM_OTHERS):
        texts = STRINGS["entity"]["event"][description.translation_key]
        states = texts["state_attributes"]["event_type"]["state"]
        assert set(states) == set(description.event_types or ()), description.key
