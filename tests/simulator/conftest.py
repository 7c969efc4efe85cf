"""Fixtures for simulator tests: a started simulator and a plain aiohttp session."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from clickatell_relay.simulator import Account, Simulator

from .receiver import CallbackReceiver, started_receiver

API_KEY = "sim-test-key-4Tq9"
USERNAME = "sim-user"
PASSWORD = "sim-password-77"
API_ID = "3"
HEX32 = r"[0-9a-f]{32}"


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def simulator(clock: FakeClock) -> AsyncIterator[Simulator]:
    """A simulator on a free loopback port with 100 credits."""
    sim = Simulator(
        Account(
            api_key=API_KEY,
            username=USERNAME,
            password=PASSWORD,
            api_id=API_ID,
            balance=Decimal(100),
        ),
        clock=clock,
    )
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client_session:
        yield client_session


def rest_headers(fmt: str = "json", **extra: str) -> dict[str, str]:
    """The headers a correct REST request carries (seed 001 section 2.2)."""
    media = f"application/{fmt}"
    return {
        "X-Version": "1",
        "Authorization": f"Bearer {API_KEY}",
        "Accept": media,
        "Content-Type": media,
        **extra,
    }


def platform_headers(fmt: str = "json", **extra: str) -> dict[str, str]:
    """The headers a correct Platform request carries (seed 003)."""
    media = f"application/{fmt}"
    return {"Authorization": API_KEY, "Accept": media, "Content-Type": media, **extra}


def http_credentials(**extra: str) -> dict[str, str]:
    """The HTTP API's credentials as parameters, with more parameters."""
    return {"user": USERNAME, "password": PASSWORD, "api_id": API_ID, **extra}


def dumps(payload: Any) -> str:
    return json.dumps(payload)


@pytest.fixture
async def receiver() -> AsyncIterator[CallbackReceiver]:
    """A callback target on loopback."""
    async for started in started_receiver():
        yield started
