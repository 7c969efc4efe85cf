"""Fixtures for the Clickatell SMS integration: custom integrations on, a simulator on loopback."""

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from clickatell_relay.simulator import Account, Simulator


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load integrations from custom_components/."""


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncIterator[Simulator]:
    """A Clickatell simulator on a free loopback port, with 100 credits.

    Home Assistant's harness blocks sockets; `socket_enabled` lets this one
    open, and connections stay limited to 127.0.0.1.
    """
    sim = Simulator(Account(api_key="test-key-Hb72kQ", balance=Decimal(100)))
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()
