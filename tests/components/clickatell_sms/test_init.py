"""Setting up the Clickatell SMS integration and using its client inside Home Assistant."""

from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms import DOMAIN
from custom_components.clickatell_sms.aioclickatell import ApiFlavour, ClickatellClient


async def test_setup(hass: HomeAssistant) -> None:
    assert await async_setup_component(hass, DOMAIN, {})
    assert DOMAIN in hass.config.components


async def test_client_reads_the_balance_over_home_assistants_session(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    client = ClickatellClient(
        api=ApiFlavour.REST,
        api_key=simulator.account.api_key,
        session=async_get_clientsession(hass),
        base_url=simulator.base_url("rest"),
    )

    balance = await client.balance()

    assert balance.balance == 100
