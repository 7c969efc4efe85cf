"""Fixtures for client tests: a real simulator on loopback and clients of every flavour."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from simulator.receiver import CallbackReceiver, started_receiver

from aioclickatell import ApiFlavour, ClickatellClient, ContentFormat, HttpMethod, PlatformEndpoint
from clickatell_relay.simulator import Account, Simulator

API_KEY = "test-key-Zq81bV0xYw"
USERNAME = "tester"
PASSWORD = "test-password-Kp27"
API_ID = "3456789"


@dataclass(frozen=True)
class Setup:
    """One way of talking to Clickatell: a flavour and its transport options."""

    name: str
    api: ApiFlavour
    options: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


SETUPS = [
    Setup("rest-json", ApiFlavour.REST),
    Setup("rest-xml", ApiFlavour.REST, {"content_format": ContentFormat.XML}),
    Setup("one-api", ApiFlavour.PLATFORM),
    Setup(
        "platform-messages-json",
        ApiFlavour.PLATFORM,
        {"platform_endpoint": PlatformEndpoint.MESSAGES},
    ),
    Setup(
        "platform-messages-xml",
        ApiFlavour.PLATFORM,
        {"platform_endpoint": PlatformEndpoint.MESSAGES, "content_format": ContentFormat.XML},
    ),
    Setup("http-post", ApiFlavour.HTTP),
    Setup("http-get", ApiFlavour.HTTP, {"http_method": HttpMethod.GET}),
]
SETUP_IDS = [setup.name for setup in SETUPS]

ClientFactory = Callable[..., ClickatellClient]


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    """A Clickatell simulator on a free loopback port, with 1000 credits."""
    sim = Simulator(
        Account(
            api_key=API_KEY,
            username=USERNAME,
            password=PASSWORD,
            api_id=API_ID,
            balance=Decimal(1000),
        )
    )
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


def credentials(api: ApiFlavour) -> dict[str, Any]:
    """The simulator account's credentials for a flavour."""
    if api is ApiFlavour.HTTP:
        return {"username": USERNAME, "password": PASSWORD, "api_id": API_ID}
    return {"api_key": API_KEY}


@pytest.fixture
async def make_client(simulator: Simulator) -> AsyncIterator[ClientFactory]:
    """Build clients pointed at the simulator; close them afterwards."""
    clients: list[ClickatellClient] = []

    def factory(setup: Setup, **overrides: Any) -> ClickatellClient:
        options: dict[str, Any] = {
            "api": setup.api,
            "base_url": simulator.base_url(setup.api.value),
            **credentials(setup.api),
            **setup.options,
            **overrides,
        }
        client = ClickatellClient(**options)
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.close()


@pytest.fixture(params=SETUPS, ids=SETUP_IDS)
def setup(request: pytest.FixtureRequest) -> Setup:
    """Each flavour and transport in turn."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    """A callback target on loopback (the simulator tests' own)."""
    async for started in started_receiver():
        yield started
