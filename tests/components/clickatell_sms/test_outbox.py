"""The outbox: SMS that cannot go now wait, survive a restart, and go once, in order.

Against the simulator over loopback: an outage is the simulator stopped
(connection refused: nothing was sent) or a fault it injects. Retries inside
the call are test_transient_errors.py's; here a send fails at once, so that
each test is about what the outbox does after.
"""

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import SOURCE_REAUTH
from homeassistant.const import CONF_API_KEY
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import (
    ApiFlavour,
    ClickatellCannotConnectError,
    RetryPolicy,
)
from custom_components.clickatell_sms.const import (
    CONF_BASE_URL,
    CONF_MAX_BATCH_SIZE,
    CONF_OUTBOX_ENABLED,
    CONF_OUTBOX_MAX_AGE,
    CONF_OUTBOX_MAX_SIZE,
    DOMAIN,
    EVENT_EXPIRED_FROM_OUTBOX,
    EVENT_SENT_FROM_OUTBOX,
)
from custom_components.clickatell_sms.outbox import BACKOFF_MAX

from .conftest import ALICE, BOB, stop_simulator

OUTBOX = {CONF_OUTBOX_ENABLED: True}
OUTBOX_SENSOR = "sensor.clickatell_outbox"


@pytest.fixture
def api() -> ApiFlavour:
    """The Platform (One API), what accounts have today."""
    return ApiFlavour.PLATFORM


@pytest.fixture
def options() -> dict[str, Any]:
    """The outbox on, as for every entry made today."""
    return dict(OUTBOX)


@pytest.fixture(autouse=True)
def no_retries_in_the_call() -> Iterator[None]:
    """A send fails at its first failure: the outbox does the retrying here."""
    with patch("custom_components.clickatell_sms.send.SEND_RETRY", RetryPolicy.NONE):
        yield


async def _send(hass: HomeAssistant, recipients: list[str], message: str, **data: Any) -> Any:
    """clickatell_sms.send_message, with its response."""
    return await hass.services.async_call(
        DOMAIN,
        "send_message",
        {"recipients": recipients, "message": message, **data},
        blocking=True,
        return_response=True,
    )


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    """Let time pass; the outbox's timers fire and its sends finish."""
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def _action(hass: HomeAssistant, name: str) -> None:
    await hass.services.async_call(DOMAIN, name, {}, blocking=True)
    await hass.async_block_till_done()


def _texts(simulator: Simulator) -> list[tuple[str, str]]:
    """(to, text) of every SMS Clickatell took, in the order it took them."""
    return [(message.to, message.text) for message in simulator.messages]


def _sends(simulator: Simulator) -> int:
    return sum(request.path == "/v1/message" for request in simulator.requests)


def _waiting(hass: HomeAssistant) -> int:
    return int(hass.states.get(OUTBOX_SENSOR).state)


def _items(response: dict[str, Any]) -> list[tuple[str | None, bool, bool]]:
    """(recipient, accepted, queued) of each recipient of a send_message response."""
    return [(item["recipient"], item["accepted"], item["queued"]) for item in response["messages"]]


async def test_an_outage_and_a_restart_lose_nothing_and_send_once_in_order(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """Down: every send succeeds, queued. Restarted: still there. Back: each sent once, in order."""
    entry_id = init_integration.entry_id
    port = await stop_simulator(simulator)
    sent_events = async_capture_events(hass, EVENT_SENT_FROM_OUTBOX)

    fire = await _send(hass, ["Alice", "Bob"], "Fire in the kitchen")
    # Legacy notify and the notify entities just succeed.
    await hass.services.async_call(
        "notify", "clickatell", {"message": "Fire is out", "target": ["Alice"]}, blocking=True
    )
    await hass.services.async_call(
        "notify",
        "send_message",
        {"entity_id": "notify.bob", "message": "Come home"},
        blocking=True,
    )
    await hass.async_block_till_done()

    assert fire["queued"] is True
    assert _items(fire) == [("Alice", False, True), ("Bob", False, True)]
    assert [item["message_id"] for item in fire["messages"]] == [None, None]
    assert (fire["accepted"], fire["rejected"], fire["requests"]) == (0, 0, 0)
    assert _waiting(hass) == 4

    # Home Assistant restarts; Clickatell is still down.
    assert await hass.config_entries.async_unload(entry_id)
    stored = hass_storage[f"{DOMAIN}.outbox.{entry_id}"]["data"]["messages"]
    assert [(item["text"], item["recipients"]) for item in stored] == [
        ("Fire in the kitchen", [ALICE, BOB]),
        ("Fire is out", [ALICE]),
        ("Come home", [BOB]),
    ]
    assert await hass.config_entries.async_setup(entry_id)
    await hass.async_block_till_done()
    assert _waiting(hass) == 4
    assert simulator.messages == []

    # Clickatell is back: the next try sends everything, once, in order.
    await simulator.start(port=port)
    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))

    assert _texts(simulator) == [
        (ALICE, "Fire in the kitchen"),
        (BOB, "Fire in the kitchen"),
        (ALICE, "Fire is out"),
        (BOB, "Come home"),
    ]
    ids = [message.client_message_id for message in simulator.messages]
    assert ids[0] == ids[1] == fire["client_message_id"]
    assert len(set(ids)) == 3
    assert _waiting(hass) == 0
    assert [
        (event.data["recipient"], event.data["accepted"], event.data["message_id"])
        for event in sent_events
    ] == [
        (name, True, message.api_message_id)
        for name, message in zip(("Alice", "Bob", "Alice", "Bob"), simulator.messages, strict=True)
    ]
    assert sent_events[0].data["client_message_id"] == fire["client_message_id"]
    # Remembered for their delivery statuses, as a direct send is.
    tracker = init_integration.runtime_data.tracker
    assert set(tracker.unfinished(since=dt_util.utcnow() - timedelta(hours=1))) == {
        message.api_message_id for message in simulator.messages
    }
    # Written once emptied; nothing is sent again.
    await _tick(hass, freezer, timedelta(hours=1))
    assert hass_storage[f"{DOMAIN}.outbox.{entry_id}"]["data"]["messages"] == []
    assert len(simulator.messages) == 4


@pytest.mark.usefixtures("init_integration")
async def test_permanent_refusals_are_never_queued(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """An opted-out number, no credit, an invalid number, a message too long: failed at once."""
    # Refused recipients are in the response, as without the outbox.
    response = await _send(hass, ["Alice", "+2799999122"], "Hello")
    assert _items(response) == [("Alice", True, False), (None, False, False)]
    assert response["queued"] is False
    with pytest.raises(HomeAssistantError) as caught:
        await hass.services.async_call(
            "notify", "clickatell", {"message": "Hi", "target": ["+2799999122"]}, blocking=True
        )
    assert caught.value.translation_key == "recipients_rejected"

    with pytest.raises(ServiceValidationError) as invalid:
        await _send(hass, ["Alice", "12"], "Hello")
    assert invalid.value.translation_key == "invalid_numbers"
    with pytest.raises(ServiceValidationError) as too_long:
        await _send(hass, ["Alice"], "x" * 400, max_parts=1)
    assert too_long.value.translation_key == "invalid_request"

    simulator.account.balance = 0  # type: ignore[assignment]
    with pytest.raises(HomeAssistantError) as no_credit:
        await _send(hass, ["Bob"], "Hello")
    assert no_credit.value.translation_key == "no_credit"

    await hass.async_block_till_done()
    assert _waiting(hass) == 0
    assert _texts(simulator) == [(ALICE, "Hello")]


@pytest.mark.parametrize("options", [OUTBOX | {CONF_OUTBOX_MAX_AGE: 1}])
@pytest.mark.usefixtures("init_integration")
async def test_expiry_by_maximum_age_and_by_validity(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Dropped with an event and a log line that names neither number nor text; never sent."""
    port = await stop_simulator(simulator)
    expired = async_capture_events(hass, EVENT_EXPIRED_FROM_OUTBOX)
    gate = await _send(hass, ["Alice"], "Gate open", validity=10)
    parcel = await _send(hass, ["Bob"], "Parcel delivered")

    await _tick(hass, freezer, timedelta(minutes=9))
    assert expired == []
    await _tick(hass, freezer, timedelta(minutes=1))
    assert [(event.data["recipient"], event.data["reason"]) for event in expired] == [
        ("Alice", "validity")
    ]
    assert _waiting(hass) == 1

    await _tick(hass, freezer, timedelta(minutes=50))
    assert [event.data for event in expired] == [
        {
            "config_entry_id": hass.config_entries.async_entries(DOMAIN)[0].entry_id,
            "client_message_id": response["client_message_id"],
            "to": number,
            "recipient": name,
            "queued_at": event.data["queued_at"],
            "reason": reason,
        }
        for event, response, number, name, reason in zip(
            expired,
            (gate, parcel),
            (ALICE, BOB),
            ("Alice", "Bob"),
            ("validity", "max_age"),
            strict=True,
        )
    ]
    assert _waiting(hass) == 0
    warnings = [
        record.getMessage()
        for record in caplog.records
        if record.levelno >= logging.INFO and record.name.startswith("custom_components")
    ]
    assert any("dropped unsent" in line and "max_age" in line for line in warnings)
    for secret in (ALICE, BOB, "Gate open", "Parcel delivered"):
        assert not any(secret in line for line in warnings), secret

    await simulator.start(port=port)
    await _tick(hass, freezer, timedelta(hours=1))
    assert simulator.messages == []


@pytest.mark.usefixtures("init_integration")
async def test_what_is_left_of_the_validity_goes_with_the_sms(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """Valid 30 minutes from the call, sent 10 minutes later: valid 20 minutes more."""
    port = await stop_simulator(simulator)
    await _send(hass, ["Alice"], "Gate open", validity=30)
    await _tick(hass, freezer, timedelta(minutes=10))

    await simulator.start(port=port)
    await _action(hass, "retry_outbox")

    (message,) = simulator.messages
    assert message.options["validityPeriod"] == 20  # the rest of it, after 10 minutes


@pytest.mark.parametrize("options", [OUTBOX | {CONF_OUTBOX_MAX_SIZE: 2}])
@pytest.mark.usefixtures("init_integration")
async def test_a_full_outbox_fails_the_call_and_keeps_what_waits(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    port = await stop_simulator(simulator)
    await _send(hass, ["Alice", "Bob"], "Smoke in the hall")

    # Behind what waits for Alice: refused before anything is tried.
    with pytest.raises(HomeAssistantError) as behind:
        await _send(hass, ["Alice"], "Smoke is gone")
    assert behind.value.translation_key == "outbox_full"
    assert "neither sent nor queued" in str(behind.value)
    # Tried, failed, and no room: the error says so, the failure is its cause.
    with pytest.raises(HomeAssistantError) as tried:
        await _send(hass, ["+27831234567"], "Smoke is gone")
    assert tried.value.translation_key == "outbox_full"
    assert isinstance(tried.value.__cause__, ClickatellCannotConnectError)
    assert _waiting(hass) == 2

    await simulator.start(port=port)
    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))
    assert _texts(simulator) == [(ALICE, "Smoke in the hall"), (BOB, "Smoke in the hall")]


async def test_retry_after_is_honoured_even_across_a_restart(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    """No request at all until Clickatell's Retry-After has passed, whoever asks."""
    simulator.reset()
    simulator.inject("rate_limited", count=1, retry_after=120)

    first = await _send(hass, ["Alice"], "Smoke")
    # Later sends wait too, rather than meet the limit again.
    second = await _send(hass, ["Bob"], "Smoke")
    await hass.async_block_till_done()
    assert (first["queued"], second["queued"]) == (True, True)
    assert _sends(simulator) == 1

    await _action(hass, "retry_outbox")
    assert await hass.config_entries.async_reload(init_integration.entry_id)
    await _tick(hass, freezer, timedelta(seconds=110))
    assert _sends(simulator) == 1

    # The outbox's own try meets another limit: it waits that one out too.
    simulator.inject("rate_limited", count=1, retry_after=60)
    await _tick(hass, freezer, timedelta(seconds=11))
    assert _sends(simulator) == 2
    await _tick(hass, freezer, timedelta(seconds=59))
    assert _sends(simulator) == 2

    await _tick(hass, freezer, timedelta(seconds=2))
    assert _texts(simulator) == [(ALICE, "Smoke"), (BOB, "Smoke")]
    assert _sends(simulator) == 4


async def test_the_sensor_and_the_actions(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    simulator.reset()
    simulator.inject("unavailable")
    expired = async_capture_events(hass, EVENT_EXPIRED_FROM_OUTBOX)
    called_at = dt_util.utcnow()
    await _send(hass, ["Alice", "Bob"], "Water leak")
    await hass.async_block_till_done()

    state = hass.states.get(OUTBOX_SENSOR)
    assert state.state == "2"
    assert state.attributes["oldest_queued_at"] == called_at.isoformat()
    assert state.attributes["oldest_age"] == 0
    await _tick(hass, freezer, timedelta(seconds=60))
    assert hass.states.get(OUTBOX_SENSOR).attributes["oldest_age"] == 60

    # retry_outbox tries at once, not after the backoff.
    tries = _sends(simulator)
    await _action(hass, "retry_outbox")
    assert _sends(simulator) == tries + 1

    cleared = await hass.services.async_call(
        DOMAIN, "clear_outbox", {}, blocking=True, return_response=True
    )
    assert cleared == {"cleared": 2}
    assert [(event.data["recipient"], event.data["reason"]) for event in expired] == [
        ("Alice", "cleared"),
        ("Bob", "cleared"),
    ]
    state = hass.states.get(OUTBOX_SENSOR)
    assert state.state == "0"
    assert state.attributes["oldest_queued_at"] is None
    assert await hass.services.async_call(DOMAIN, "clear_outbox", {}, blocking=True) is None

    simulator.clear_faults()
    await _tick(hass, freezer, timedelta(hours=1))
    assert simulator.messages == []


@pytest.mark.usefixtures("init_integration")
async def test_a_new_sms_queues_behind_those_waiting_for_its_recipient(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """Alice gets "open" before "closed"; Bob, with nothing waiting, at once."""
    simulator.reset()
    simulator.inject("unavailable", count=1)  # one failure, then Clickatell answers

    first = await _send(hass, ["Alice"], "Door open")
    second = await _send(hass, ["Alice", "Bob"], "Door closed")
    await hass.async_block_till_done()

    assert _items(first) == [("Alice", False, True)]
    assert _items(second) == [("Alice", False, True), ("Bob", True, False)]
    # Bob's went through: Clickatell answers, so the outbox sent at once, in order.
    assert _texts(simulator) == [
        (BOB, "Door closed"),
        (ALICE, "Door open"),
        (ALICE, "Door closed"),
    ]
    assert _waiting(hass) == 0


async def test_a_balance_poll_that_goes_through_wakes_the_outbox(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """Clickatell answers again: what waits goes now, not after the backoff."""
    port = await stop_simulator(simulator)
    await _send(hass, ["Alice"], "Garage open")
    await hass.async_block_till_done()

    await simulator.start(port=port)
    await init_integration.runtime_data.balance_coordinator.async_refresh()
    await hass.async_block_till_done()

    assert _texts(simulator) == [(ALICE, "Garage open")]


async def test_refused_credentials_and_no_credit_keep_what_waits(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    issue_registry: ir.IssueRegistry,
) -> None:
    """The account's problems, not the SMS's: it waits for a top-up or new credentials."""
    port = await stop_simulator(simulator)
    await _send(hass, ["Alice"], "Frost warning")
    await simulator.start(port=port)

    simulator.account.balance = 0  # type: ignore[assignment]
    await _action(hass, "retry_outbox")
    assert issue_registry.async_get_issue(DOMAIN, f"no_credit_{init_integration.entry_id}")
    assert _waiting(hass) == 1

    simulator.account.balance = 100  # type: ignore[assignment]
    simulator.account.api_key = "rotated-key"
    await _action(hass, "retry_outbox")
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == [SOURCE_REAUTH]
    assert _waiting(hass) == 1

    simulator.account.api_key = init_integration.data[CONF_API_KEY]
    await _action(hass, "retry_outbox")
    assert _texts(simulator) == [(ALICE, "Frost warning")]


async def test_turned_off_it_queues_nothing_new_but_sends_what_waits(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
) -> None:
    port = await stop_simulator(simulator)
    await _send(hass, ["Alice"], "Heating failed")
    hass.config_entries.async_update_entry(init_integration, options={})
    assert await hass.config_entries.async_reload(init_integration.entry_id)

    with pytest.raises(HomeAssistantError) as caught:
        await _send(hass, ["Bob"], "Heating failed")
    assert caught.value.translation_key == "send_cannot_connect"
    assert _waiting(hass) == 1

    await simulator.start(port=port)
    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))
    assert _texts(simulator) == [(ALICE, "Heating failed")]


async def test_the_repair_issue_while_sms_wait_too_long(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    issue_id = f"outbox_waiting_{init_integration.entry_id}"
    port = await stop_simulator(simulator)
    await _send(hass, ["Alice"], "Pump stopped")

    await _tick(hass, freezer, timedelta(minutes=29))
    assert not issue_registry.async_get_issue(DOMAIN, issue_id)
    await _tick(hass, freezer, timedelta(minutes=1))
    issue = issue_registry.async_get_issue(DOMAIN, issue_id)
    assert issue
    assert issue.translation_key == "outbox_waiting"
    assert issue.translation_placeholders == {"account": "Clickatell", "minutes": "30"}

    await simulator.start(port=port)
    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))
    assert _texts(simulator) == [(ALICE, "Pump stopped")]
    assert not issue_registry.async_get_issue(DOMAIN, issue_id)


async def test_removing_the_entry_drops_what_waits(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    issue_registry: ir.IssueRegistry,
) -> None:
    issue_id = f"outbox_waiting_{init_integration.entry_id}"
    await stop_simulator(simulator)
    await _send(hass, ["Alice"], "Pump stopped")
    await _tick(hass, freezer, timedelta(hours=1))
    assert issue_registry.async_get_issue(DOMAIN, issue_id)
    assert f"{DOMAIN}.outbox.{init_integration.entry_id}" in hass_storage

    await hass.config_entries.async_remove(init_integration.entry_id)
    await hass.async_block_till_done()

    assert f"{DOMAIN}.outbox.{init_integration.entry_id}" not in hass_storage
    assert not issue_registry.async_get_issue(DOMAIN, issue_id)


async def test_a_lost_answer_may_text_twice_under_one_client_message_id(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """The documented trade: Clickatell took it, its answer was lost, the outbox sends again.

    A duplicate rather than a lost alarm; both carry the SMS's client message
    ID, so Clickatell's records show it for what it is.
    """
    with patch("custom_components.clickatell_sms.helpers.REQUEST_TIMEOUT", 0.5):
        assert await hass.config_entries.async_reload(init_integration.entry_id)
    simulator.reset()
    simulator.inject("slow", count=1, delay=1.5)

    response = await _send(hass, ["Alice"], "Burglar alarm")
    assert response["queued"] is True
    async with asyncio.timeout(5):
        while not simulator.messages:  # noqa: ASYNC110 - the simulator has no event for it
            await asyncio.sleep(0.05)

    await _action(hass, "retry_outbox")

    assert _texts(simulator) == [(ALICE, "Burglar alarm"), (ALICE, "Burglar alarm")]
    assert {message.client_message_id for message in simulator.messages} == {
        response["client_message_id"]
    }


@pytest.mark.parametrize("options", [OUTBOX | {"sender": "HomeAlarm"}])
async def test_diagnostics_show_the_outbox_without_numbers_or_text(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    await stop_simulator(simulator)
    await _send(hass, ["Alice", "Bob"], "Water leak", validity=60)

    diagnostics = await get_diagnostics_for_config_entry(hass, hass_client, init_integration)

    outbox = diagnostics["outbox"]
    assert outbox["waiting"] == 2
    assert outbox["failures"] == 1
    assert outbox["messages"] == [
        {
            "recipients": 2,
            "waited_seconds": 0,
            "has_validity": True,
            "options": ["client_message_id", "validity_period"],
        }
    ]
    text = str(diagnostics)
    for secret in (ALICE, BOB, "Alice", "Water leak", "HomeAlarm"):
        assert secret not in text, secret


class OneApiStandIn:
    """A One API that refuses chosen recipients for now, or chosen requests (the simulator cannot).

    It answers as seed 003 and docs/api-contract.md describe: 202 or 207 with
    a result per recipient (code 19, "please retry", for those refused for
    now), or a request-level error.
    """

    def __init__(self) -> None:
        """Accepting everyone until told otherwise."""
        self.requests: list[dict[str, Any]] = []
        self.refuse_for_now: set[str] = set()
        # The answers of the next requests, in order: (HTTP status, code,
        # description) for a request-level error, None for the usual one.
        self.errors: list[tuple[int, int, str] | None] = []
        self.app = web.Application()
        self.app.router.add_get("/v1/balance", self._balance)
        self.app.router.add_post("/v1/message", self._message)

    async def _balance(self, _request: web.Request) -> web.Response:
        return web.json_response({"currency": "USD", "balance": 100.0})

    async def _message(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append(body)
        if self.errors and (failure := self.errors.pop(0)) is not None:
            status, code, description = failure
            error = {"code": code, "description": description}
            return web.json_response({"messages": [], "error": error}, status=status)
        results: list[dict[str, Any]] = []
        for index, message in enumerate(body["messages"]):
            if message["to"] in self.refuse_for_now:
                error = {"code": 19, "description": "Internal error - please retry"}
                results.append({"apiMessageId": None, "accepted": False, "to": message["to"]})
                results[-1]["error"] = error
            else:
                api_id = f"{len(self.requests):04d}{index:04d}"
                results.append({"apiMessageId": api_id, "accepted": True, "to": message["to"]})
        status = 207 if any(not result["accepted"] for result in results) else 202
        return web.json_response({"messages": results, "error": None}, status=status)


UNAVAILABLE = (503, 19, "Internal error - please retry")


def _recipients(request: dict[str, Any]) -> list[tuple[str, str]]:
    """(to, text) of each message of a One API request."""
    return [(message["to"], message["content"]) for message in request["messages"]]


@pytest.fixture
async def stand_in(
    hass: HomeAssistant, socket_enabled: None, mock_config_entry: MockConfigEntry
) -> AsyncIterator[OneApiStandIn]:
    """The stand-in on a loopback port, the entry set up against it."""
    api = OneApiStandIn()
    server = TestServer(api.app, host="127.0.0.1")
    await server.start_server()
    mock_config_entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        mock_config_entry,
        data={**mock_config_entry.data, CONF_BASE_URL: str(server.make_url("")).rstrip("/")},
    )
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    yield api
    await server.close()


async def test_a_recipient_refused_for_now_is_retried_alone(
    hass: HomeAssistant, stand_in: OneApiStandIn, freezer: FrozenDateTimeFactory
) -> None:
    """A 207 refusing Bob with code 19 ("please retry"): Alice is sent, Bob waits, then goes.

    Bob's next SMS waits behind it, through every try, and goes after it.
    """
    sent_events = async_capture_events(hass, EVENT_SENT_FROM_OUTBOX)
    stand_in.refuse_for_now = {BOB}

    response = await _send(hass, ["Alice", "Bob"], "Storm warning")
    assert _items(response) == [("Alice", True, False), ("Bob", False, True)]
    assert response["accepted"] == 1
    later = await _send(hass, ["Bob"], "Storm over")
    assert _items(later) == [("Bob", False, True)]

    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))
    # Tried again, refused again; the later SMS was not tried before it.
    assert [_recipients(request) for request in stand_in.requests] == [
        [(ALICE, "Storm warning"), (BOB, "Storm warning")],
        [(BOB, "Storm warning")],
    ]
    stand_in.refuse_for_now = set()
    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))

    assert [_recipients(request) for request in stand_in.requests[2:]] == [
        [(BOB, "Storm warning")],
        [(BOB, "Storm over")],
    ]
    assert stand_in.requests[2]["messages"][0]["clientMessageId"] == response["client_message_id"]
    assert [(event.data["recipient"], event.data["accepted"]) for event in sent_events] == [
        ("Bob", True),
        ("Bob", True),
    ]
    assert _waiting(hass) == 0


@pytest.mark.parametrize("options", [OUTBOX | {CONF_MAX_BATCH_SIZE: 1}])
async def test_a_later_batch_that_fails_leaves_only_its_recipients_waiting(
    hass: HomeAssistant, stand_in: OneApiStandIn, freezer: FrozenDateTimeFactory
) -> None:
    """One recipient a request: what went before the failure is never sent again."""
    sent_events = async_capture_events(hass, EVENT_SENT_FROM_OUTBOX)
    # In the call: Alice's request goes, Bob's fails; Bob's goes from the outbox.
    stand_in.errors = [None, UNAVAILABLE]
    direct = await _send(hass, ["Alice", "Bob"], "Flood warning")
    assert _items(direct) == [("Alice", True, False), ("Bob", False, True)]
    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))
    # From the outbox: the first request goes, the second fails and waits alone.
    stand_in.errors = [UNAVAILABLE]
    await _send(hass, ["+2799900003", "+2799900004"], "Flood over")
    stand_in.errors = [None, UNAVAILABLE]
    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))
    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))

    assert [_recipients(request) for request in stand_in.requests] == [
        [(ALICE, "Flood warning")],
        [(BOB, "Flood warning")],
        [(BOB, "Flood warning")],
        [("2799900003", "Flood over")],
        [("2799900003", "Flood over")],
        [("2799900004", "Flood over")],
        [("2799900004", "Flood over")],
    ]
    assert [(event.data["to"], event.data["accepted"]) for event in sent_events] == [
        (BOB, True),
        ("2799900003", True),
        ("2799900004", True),
    ]
    assert _waiting(hass) == 0


async def test_a_request_refused_for_good_from_the_outbox_is_said_and_dropped(
    hass: HomeAssistant,
    stand_in: OneApiStandIn,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Queued while Clickatell was unavailable, refused as invalid once it answers."""
    sent_events = async_capture_events(hass, EVENT_SENT_FROM_OUTBOX)
    stand_in.errors = [UNAVAILABLE, (400, 23, "Invalid or missing parameter")]
    await _send(hass, ["Alice"], "Storm warning")

    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))

    assert [event.data for event in sent_events] == [
        {
            "config_entry_id": hass.config_entries.async_entries(DOMAIN)[0].entry_id,
            "client_message_id": stand_in.requests[0]["messages"][0]["clientMessageId"],
            "to": ALICE,
            "recipient": "Alice",
            "queued_at": sent_events[0].data["queued_at"],
            "accepted": False,
            "message_id": None,
            "error_code": "23",
            "error_description": "Invalid or missing parameter",
        }
    ]
    assert "Clickatell refused an SMS from the outbox" in caplog.text
    assert _waiting(hass) == 0
    await _tick(hass, freezer, timedelta(hours=1))
    assert len(stand_in.requests) == 2


async def test_a_reload_waits_for_the_send_in_flight(
    hass: HomeAssistant,
    hass_storage: dict[str, Any],
    simulator: Simulator,
    init_integration: MockConfigEntry,
) -> None:
    """Cut off mid-request, the SMS would stay queued and go twice; the unload waits instead."""
    port = await stop_simulator(simulator)
    await _send(hass, ["Alice"], "Window open")
    await _send(hass, ["Bob"], "Door open")
    await simulator.start(port=port)
    simulator.inject("slow", count=1, delay=0.5)

    await hass.services.async_call(DOMAIN, "retry_outbox", {}, blocking=True)
    async with asyncio.timeout(5):
        while simulator.faults:  # noqa: ASYNC110 - the request has reached the simulator
            await asyncio.sleep(0.01)
    assert await hass.config_entries.async_unload(init_integration.entry_id)

    # The send in flight was answered and recorded; the next one waits for the reload.
    assert _texts(simulator) == [(ALICE, "Window open")]
    stored = hass_storage[f"{DOMAIN}.outbox.{init_integration.entry_id}"]["data"]["messages"]
    assert [(item["recipients"], item["text"]) for item in stored] == [([BOB], "Door open")]
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    assert _texts(simulator) == [(ALICE, "Window open"), (BOB, "Door open")]


async def test_a_bug_in_a_try_pauses_the_outbox_rather_than_spinning(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An error no one expected is logged, and the next try waits for the backoff."""
    port = await stop_simulator(simulator)
    await _send(hass, ["Alice"], "Cellar flooded")
    await simulator.start(port=port)
    client = init_integration.runtime_data.client
    with patch.object(client, "send", side_effect=RuntimeError("a bug")) as send:
        await _action(hass, "retry_outbox")
        assert send.call_count == 1
        assert "Unexpected error in the outbox of Clickatell" in caplog.text
        await hass.async_block_till_done()
        assert send.call_count == 1

    await _tick(hass, freezer, timedelta(seconds=BACKOFF_MAX))
    assert _texts(simulator) == [(ALICE, "Cellar flooded")]
