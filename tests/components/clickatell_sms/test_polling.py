"""Status polling, where no callback reaches Home Assistant: the simulator's status queries."""

from datetime import timedelta

import pytest
from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import (
    async_capture_events,
    async_fire_time_changed,
)

from clickatell_relay.simulator import Simulator, Timings
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import CONF_STATUS_POLLING, EVENT_MESSAGE_STATUS

from .two_way import message_ids, send_message, statuses_of

STATUS_PATHS = {
    ApiFlavour.REST: "/rest/message/",
    ApiFlavour.HTTP: "/http/querymsg",
    ApiFlavour.PLATFORM: "/v1/message/",
}


async def minutes_pass(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: int) -> None:
    """Time goes by a minute at a time, as Home Assistant's clock ticks."""
    for _ in range(minutes):
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        # Polls run as background tasks; each query is over before the clock moves on.
        await hass.async_block_till_done(wait_background_tasks=True)


def queries(simulator: Simulator, api: ApiFlavour) -> int:
    return sum(1 for request in simulator.requests if request.path.startswith(STATUS_PATHS[api]))


@pytest.mark.parametrize("api", list(ApiFlavour))
@pytest.mark.parametrize("options", [{CONF_STATUS_POLLING: True}])
@pytest.mark.usefixtures("init_integration")
async def test_a_delivery_found_by_polling(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory, api: ApiFlavour
) -> None:
    """A minute after sending, the query finds the message delivered; then no more queries."""
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    alice, failing = message_ids(await send_message(hass, ["Alice", "2799998009"]))
    assert queries(simulator, api) == 0

    await minutes_pass(hass, freezer, 1)

    assert sorted(statuses_of(events)) == sorted(
        [(alice, "Alice", "delivered"), (failing, None, "failed")]
    )
    assert queries(simulator, api) == 2
    assert hass.states.get("event.alice_delivery_status").attributes["event_type"] == "delivered"

    await minutes_pass(hass, freezer, 120)
    assert queries(simulator, api) == 2
    assert len(events) == 2


@pytest.mark.parametrize("options", [{CONF_STATUS_POLLING: True}])
@pytest.mark.usefixtures("init_integration")
async def test_at_most_five_queries_a_message(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    """A message that stays with the network is asked about at 1, 3, 10, 30, 60 minutes only."""
    simulator.timings = Timings(delivery_delay=3 * 3600)
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    [message_id] = message_ids(await send_message(hass, ["Alice"]))

    seen: list[int] = []
    for _ in range(90):
        await minutes_pass(hass, freezer, 1)
        seen.append(queries(simulator, ApiFlavour.REST))

    # The minute each query count was first reached.
    assert [seen.index(count) + 1 for count in range(1, 6)] == [1, 3, 10, 30, 60]
    assert seen[-1] == 5
    # One status, however often it was read.
    assert statuses_of(events) == [(message_id, "Alice", "delivered_to_gateway")]


@pytest.mark.parametrize("options", [{CONF_STATUS_POLLING: True}])
@pytest.mark.usefixtures("init_integration")
async def test_a_failed_query_is_tried_at_the_next_age(
    hass: HomeAssistant,
    simulator: Simulator,
    freezer: FrozenDateTimeFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    [message_id] = message_ids(await send_message(hass, ["Alice"]))
    simulator.inject("unavailable", count=1)

    await minutes_pass(hass, freezer, 1)
    assert not events
    assert "Cannot query a message's status" in caplog.text

    await minutes_pass(hass, freezer, 2)
    assert statuses_of(events) == [(message_id, "Alice", "delivered")]


@pytest.mark.usefixtures("init_integration")
async def test_off_by_default(
    hass: HomeAssistant, simulator: Simulator, freezer: FrozenDateTimeFactory
) -> None:
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    message_ids(await send_message(hass, ["Alice"]))

    await minutes_pass(hass, freezer, 61)

    assert queries(simulator, ApiFlavour.REST) == 0
    assert not events
