"""Fixtures for the Clickatell SMS integration: a simulator on loopback, entries that use it."""

import asyncio
from collections.abc import AsyncIterator
from contextlib import nullcontext
from decimal import Decimal
from typing import Any
from unittest.mock import patch

import pytest
from aiohttp.test_utils import TestClient, TestServer
from homeassistant.components.webhook import async_generate_path
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_API_KEY, CONF_PASSWORD, CONF_USERNAME, CONF_WEBHOOK_ID
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from syrupy.assertion import SnapshotAssertion

from clickatell_relay.simulator import Account, Simulator
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import (
    CONF_API,
    CONF_API_ID,
    CONF_BASE_URL,
    CONF_NUMBER,
    DOMAIN,
    SUBENTRY_RECIPIENT,
)
from custom_components.clickatell_sms.helpers import account_identity

API_KEY = "test-key-Hb72kQ"
USERNAME = "tester"
PASSWORD = "test-password-Kp27"
API_ID = "3456789"

# Clickatell's test ranges: 2799900001 costs a credit a part, 2799910002 a third.
# As the API has them; the entry keeps them with "+".
ALICE = "2799900001"
BOB = "2799910002"
ALICE_SUBENTRY_ID = "01ALICE0000000000000000000"
BOB_SUBENTRY_ID = "01BOB000000000000000000000"


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (registry entries without IDs and times).

    The plugin's own fixture of this name loses to syrupy's; this one wins.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components/."""


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A Clickatell simulator on a free loopback port, with 100 credits.

    Home Assistant's harness blocks sockets; `socket_enabled` lets this one
    open, and connections stay limited to 127.0.0.1.
    """
    sim = Simulator(
        Account(
            api_key=API_KEY,
            username=USERNAME,
            password=PASSWORD,
            api_id=API_ID,
            balance=Decimal(100),
        )
    )
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


async def stop_simulator(simulator: Simulator) -> int:
    """Stop listening, and let Home Assistant's session see its idle connection closed.

    A send on a connection the server already closed meets a broken
    connection, which may hide an accepted message; a fresh connection to a
    closed port is refused: nothing was sent. Returns the port, to start
    the simulator on again.
    """
    port = int(simulator.root_url.rsplit(":", 1)[1])
    await simulator.stop()
    # A few turns of the loop, not a sleep: with `freezer` the loop's clock
    # stands still. The close arrives over loopback at once.
    for _ in range(10):
        await asyncio.sleep(0)
    return port


@pytest.fixture
def api() -> ApiFlavour:
    """The flavour of the entry; REST has every operation. Parametrize to change it."""
    return ApiFlavour.REST


def entry_data(api: ApiFlavour, simulator: Simulator) -> dict[str, Any]:
    """The data a config flow stores for this flavour, pointed at the simulator."""
    data: dict[str, Any] = {CONF_API: api.value, CONF_BASE_URL: simulator.base_url(api.value)}
    if api is ApiFlavour.HTTP:
        data |= {CONF_USERNAME: USERNAME, CONF_PASSWORD: PASSWORD, CONF_API_ID: API_ID}
    else:
        data[CONF_API_KEY] = API_KEY
    return data


@pytest.fixture
def options() -> dict[str, Any]:
    """The entry's options; none by default."""
    return {}


@pytest.fixture
def mock_config_entry(
    api: ApiFlavour, simulator: Simulator, options: dict[str, Any]
) -> MockConfigEntry:
    """An account with two recipients, Alice and Bob."""
    data = entry_data(api, simulator)
    return MockConfigEntry(
        domain=DOMAIN,
        title="Clickatell",
        version=1,
        minor_version=2,
        data=data,
        options=options,
        unique_id=account_identity(data),
        subentries_data=[
            # Kept as the flow keeps them: E.164, with "+".
            ConfigSubentryData(
                data={CONF_NUMBER: f"+{number}"},
                subentry_id=subentry_id,
                subentry_type=SUBENTRY_RECIPIENT,
                title=name,
                unique_id=f"+{number}",
            )
            for name, number, subentry_id in (
                ("Alice", ALICE, ALICE_SUBENTRY_ID),
                ("Bob", BOB, BOB_SUBENTRY_ID),
            )
        ],
    )


@pytest.fixture
async def init_integration(
    hass: HomeAssistant, mock_config_entry: MockConfigEntry, request: pytest.FixtureRequest
) -> MockConfigEntry:
    """Set the integration up; a parametrized platform limits it to that one."""
    mock_config_entry.add_to_hass(hass)
    context = nullcontext()
    if platform := getattr(request, "param", None):
        context = patch("custom_components.clickatell_sms.PLATFORMS", [platform])
    with context:
        await hass.config_entries.async_setup(mock_config_entry.entry_id)
        await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
async def http_client(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    aiohttp_client: ClientSessionGenerator,
    socket_enabled: None,
) -> TestClient:
    """Home Assistant's own HTTP server, on a loopback port (the entry's set-up loads it).

    Without an access log, as Home Assistant runs it (its bootstrap sets
    aiohttp.access to WARNING): a legacy GET callback's query holds the api_id.
    """
    server = TestServer(hass.http.app)
    # As the harness's own client does: components set up later may still add views.
    server.app.router.freeze = lambda: None  # type: ignore[method-assign]
    await server.start_server(access_log=None)
    return await aiohttp_client(server)


@pytest.fixture
def webhook_path(init_integration: MockConfigEntry) -> str:
    """The path of the entry's webhook."""
    return async_generate_path(init_integration.data[CONF_WEBHOOK_ID])


@pytest.fixture
def webhook_url(http_client: TestClient, webhook_path: str) -> str:
    """The entry's webhook, as the simulator reaches it over HTTP."""
    return str(http_client.make_url(webhook_path))
