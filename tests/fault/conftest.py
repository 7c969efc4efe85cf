"""Fixtures for the fault suite: a real mosquitto and the simulator, as the relay tests use them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Final

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.simulator import Account, Simulator

API_KEY: Final = "fault-test-key-Vd53xq"


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """Mosquitto on a free port with persistence; `stop`/`start` keep the port and sessions."""
    local = LocalBroker(tmp_path / "broker")
    local.start()
    yield local
    local.cleanup()


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """The Clickatell simulator on a free loopback port, with credit for any run."""
    sim = Simulator(Account(api_key=API_KEY, balance=Decimal(10**7)))
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()
