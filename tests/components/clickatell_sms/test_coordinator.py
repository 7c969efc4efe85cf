"""Polling: unavailable while the API is down, back after, reauthentication, no credit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.const import DOMAIN

BALANCE = "sensor.clickatell_balance"
LOW_BALANCE = "binary_sensor.clickatell_low_balance"
ALICE_COVERAGE = "binary_sensor.alice_coverage"


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Let time pass; polls talk to the simulator in background tasks: wait for those too."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


@pytest.mark.usefixtures("init_integration")
async def test_unavailable_then_available(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Down: unavailable and logged once, retried every 5 minutes; back: logged once."""
    assert hass.states.get(BALANCE).state == "100.0"
    simulator.inject("unavailable")

    await _tick(hass, freezer, timedelta(minutes=30))
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert hass.states.get(LOW_BALANCE).state == STATE_UNAVAILABLE
    await _tick(hass, freezer, timedelta(minutes=5))
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert caplog.text.count("Error fetching Clickatell balance data") == 1
    assert "Clickatell is temporarily unavailable" in caplog.text

    simulator.clear_faults()
    simulator.account.balance = Decimal(90)
    await _tick(hass, freezer, timedelta(minutes=5))
    assert hass.states.get(BALANCE).state == "90.0"
    assert hass.states.get(LOW_BALANCE).state == "off"
    assert caplog.text.count("Fetching Clickatell balance data recovered") == 1


@pytest.mark.usefixtures("init_integration")
async def test_coverage_retries_within_minutes_not_a_day(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Coverage is polled daily, but while it fails it is retried every 5 minutes."""
    assert hass.states.get(ALICE_COVERAGE).state == "on"
    simulator.inject("unavailable")

    await _tick(hass, freezer, timedelta(days=1))
    assert hass.states.get(ALICE_COVERAGE).state == STATE_UNAVAILABLE

    simulator.clear_faults()
    await _tick(hass, freezer, timedelta(minutes=5))
    assert hass.states.get(ALICE_COVERAGE).state == "on"

    # Back to a day between polls.
    requests = len(simulator.requests)
    await _tick(hass, freezer, timedelta(hours=23))
    assert not [r for r in simulator.requests[requests:] if "coverage" in r.path]
    await _tick(hass, freezer, timedelta(hours=1))
    assert [r for r in simulator.requests[requests:] if "coverage" in r.path]


async def test_401_from_polling_starts_reauthentication(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    simulator.account.api_key = "rotated-key"

    await _tick(hass, freezer, timedelta(minutes=30))

    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert flows[0]["context"]["entry_id"] == init_integration.entry_id


@pytest.mark.usefixtures("init_integration")
async def test_ip_lockdown_while_polling(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A locked-down IP does not start reauthentication: new credentials would not help."""
    simulator.account.ip_lockdown = True
    await _tick(hass, freezer, timedelta(minutes=30))
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert "allowlist" in caplog.text
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)

    simulator.account.ip_lockdown = False
    await _tick(hass, freezer, timedelta(minutes=5))
    assert hass.states.get(BALANCE).state == "100.0"


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("garbage", "Clickatell answered with an error"),
        ("rate_limited", "Clickatell is rate limiting this account"),
    ],
)
@pytest.mark.usefixtures("init_integration")
async def test_polling_errors(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
    fault: str,
    message: str,
) -> None:
    simulator.inject(fault, count=1, retry_after=60)
    await _tick(hass, freezer, timedelta(minutes=30))
    assert hass.states.get(BALANCE).state == STATE_UNAVAILABLE
    assert message in caplog.text

    await _tick(hass, freezer, timedelta(minutes=5))
    assert hass.states.get(BALANCE).state == "100.0"


async def test_no_credit_issue_follows_the_balance(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    issue_id = f"no_credit_{init_integration.entry_id}"
    simulator.account.balance = Decimal(0)
    await _tick(hass, freezer, timedelta(minutes=30))

    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue
    assert issue.translation_key == "no_credit"
    assert issue.translation_placeholders == {"account": "Clickatell"}
    assert hass.states.get(LOW_BALANCE).state == "on"

    simulator.account.balance = Decimal(20)
    await _tick(hass, freezer, timedelta(minutes=30))
    assert not issue_registry.async_get_issue(DOMAIN, issue_id)
    assert hass.states.get(LOW_BALANCE).state == "off"


async def test_no_credit_issue_clears_after_a_send(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """A send that goes through proves there is credit again."""
    issue_id = f"no_credit_{init_integration.entry_id}"
    init_integration.runtime_data.balance_coordinator.async_no_credit()
    assert issue_registry.async_get_issue(DOMAIN, issue_id)

    await hass.services.async_call(
        "notify", "clickatell", {"message": "Hi", "target": ["Bob"]}, blocking=True
    )

    assert not issue_registry.async_get_issue(DOMAIN, issue_id)
