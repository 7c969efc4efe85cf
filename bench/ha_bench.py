"""Home Assistant: set-up time and API calls per day at default options, 5 recipients.

Run in the Home Assistant environment by bench/integration.py:

    scripts/ha-env pytest bench/ha_bench.py -q -p no:cacheprovider

(a pytest module, for the harness's `hass` and `freezer` fixtures; it asserts
nothing). For each API (the Platform, the config flow's default, and REST,
which also polls coverage) an entry with default options and 5 recipient
subentries is set up against the simulator:

* set-up time: a monotonic clock (CLOCK_MONOTONIC: freezegun stops
  `time.perf_counter`) around `hass.config_entries.async_setup` plus
  `async_block_till_done`; for the first API measured (the Platform) that is
  cold, the integration being imported; then around 5 reloads (warm), with
  the API requests each made;
* API calls per day: a simulated day in 5-minute ticks (`freezer.tick` and
  `async_fire_time_changed`, as the integration's tests do), counting the
  requests the simulator received;
* one `notify.clickatell` call to all 5 recipients: its requests and time.

Results go to bench/results/integration-<api>.json.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from homeassistant.config_entries import ConfigSubentryData
from homeassistant.const import CONF_API_KEY
from pytest_homeassistant_custom_component.common import (  # type: ignore[import-untyped]
    MockConfigEntry,
    async_fire_time_changed,
)

from clickatell_relay.simulator import Account, Simulator
from custom_components.clickatell_sms.const import (
    CONF_API,
    CONF_BASE_URL,
    CONF_NUMBER,
    DOMAIN,
    SUBENTRY_RECIPIENT,
)
from custom_components.clickatell_sms.helpers import account_identity

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from freezegun.api import FrozenDateTimeFactory
    from homeassistant.core import HomeAssistant

API_KEY = "bench-ha-key-Lx40"
RECIPIENTS = 5
TICK = timedelta(minutes=5)
DAY = timedelta(days=1)
RELOADS = 5
RESULTS = Path(__file__).resolve().parent / "results"


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let Home Assistant load custom_components/clickatell_sms."""


@pytest.fixture
async def simulator(socket_enabled: None) -> AsyncIterator[Simulator]:  # noqa: ARG001 - lets sockets open
    """The simulator on loopback (the harness blocks other sockets)."""
    sim = Simulator(Account(api_key=API_KEY, balance=Decimal(1000)))
    await sim.start(host="127.0.0.1", port=0)
    yield sim
    await sim.stop()


def _entry(api: str, sim: Simulator) -> MockConfigEntry:
    data = {CONF_API: api, CONF_BASE_URL: sim.base_url(api), CONF_API_KEY: API_KEY}
    return MockConfigEntry(
        domain=DOMAIN,
        title="Clickatell",
        data=data,
        options={},
        unique_id=account_identity(data),
        subentries_data=[
            ConfigSubentryData(
                data={CONF_NUMBER: str(2799900001 + index)},
                subentry_type=SUBENTRY_RECIPIENT,
                title=f"Person {index + 1}",
                unique_id=str(2799900001 + index),
            )
            for index in range(RECIPIENTS)
        ],
    )


def _clock() -> float:
    """Real monotonic seconds: freezegun stops `time.perf_counter` and `time.monotonic`."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


def _kinds(requests: list[Any]) -> dict[str, int]:
    return dict(Counter(f"{request.method} {request.path}" for request in requests))


async def _settle(hass: HomeAssistant) -> None:
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.parametrize("api", ["platform", "rest"])
async def test_measure(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory, api: str
) -> None:
    """Measure one API flavour; write its figures."""
    entry = _entry(api, simulator)
    entry.add_to_hass(hass)

    started = _clock()
    loaded = await hass.config_entries.async_setup(entry.entry_id)
    await _settle(hass)
    cold = _clock() - started
    setup_requests = list(simulator.requests)

    warm = []
    reload_requests = 0
    for _ in range(RELOADS):
        simulator.requests.clear()
        started = _clock()
        await hass.config_entries.async_reload(entry.entry_id)
        await _settle(hass)
        warm.append(_clock() - started)
        reload_requests += len(simulator.requests)

    simulator.requests.clear()
    elapsed = timedelta(0)
    while elapsed < DAY:
        freezer.tick(TICK)
        elapsed += TICK
        async_fire_time_changed(hass)
        await _settle(hass)
    day = list(simulator.requests)

    simulator.requests.clear()
    started = _clock()
    await hass.services.async_call(
        "notify", "clickatell", {"message": "Bench: to every recipient"}, blocking=True
    )
    notify_seconds = _clock() - started
    notify_requests = list(simulator.requests)
    await hass.config_entries.async_unload(entry.entry_id)
    await _settle(hass)

    RESULTS.mkdir(exist_ok=True)
    result = {
        "api": api,
        "recipients": RECIPIENTS,
        "loaded": loaded,
        "options": "defaults",
        "setup_cold_seconds": cold,
        "setup_requests": len(setup_requests),
        "setup_request_kinds": _kinds(setup_requests),
        "reload_seconds": warm,
        "reload_median_seconds": statistics.median(warm),
        "requests_per_reload": reload_requests / RELOADS,
        "requests_per_day": len(day),
        "day_request_kinds": _kinds(day),
        "notify_all_seconds": notify_seconds,
        "notify_all_requests": len(notify_requests),
        "notify_request_kinds": _kinds(notify_requests),
        "notify_messages_accepted": len(
            [message for message in simulator.messages if message.text.startswith("Bench:")]
        ),
    }
    path = RESULTS / f"integration-{api}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
