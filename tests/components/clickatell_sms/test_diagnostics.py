"""Diagnostics: useful for a bug report, without secrets, numbers or names."""

import pytest
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import CONF_DEFAULT_REGION, CONF_SENDER

from .conftest import ALICE, API_KEY, BOB, PASSWORD


@pytest.mark.parametrize("api", [ApiFlavour.REST, ApiFlavour.HTTP, ApiFlavour.PLATFORM])
@pytest.mark.parametrize("options", [{CONF_SENDER: "27831234567", CONF_DEFAULT_REGION: "ZA"}])
async def test_diagnostics(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    snapshot: SnapshotAssertion,
) -> None:
    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    # The simulator's port changes from run to run.
    assert diagnostics == snapshot(exclude=props("base_url"))
    text = str(diagnostics)
    for secret in (
        API_KEY,
        PASSWORD,
        ALICE,
        BOB,
        "Alice",
        "27831234567",
        init_integration.unique_id,
    ):
        assert secret not in text
