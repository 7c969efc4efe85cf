"""No alert lost to a blip: what Clickatell says to retry is retried inside the call.

A 503 (code 901, "please retry"), a 429 with a short Retry-After or a
connection refused before anything was written is tried again, within about
ten seconds; what may have been accepted (a connection broken mid-request, a
timeout) never is. What remains is named in a translated error.
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any
from unittest.mock import patch

import pytest
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.update_coordinator import UpdateFailed
from pytest_homeassistant_custom_component.common import MockConfigEntry

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import CONF_OUTBOX_ENABLED, DOMAIN

from .conftest import ALICE, stop_simulator

pytestmark = [
    pytest.mark.usefixtures("init_integration"),
    # The default API, which is what most accounts have.
    pytest.mark.parametrize("api", [ApiFlavour.PLATFORM]),
]

type Send = Callable[[HomeAssistant], Awaitable[Any]]


async def _notify(hass: HomeAssistant) -> Any:
    return await hass.services.async_call(
        "notify", "clickatell", {"message": "Alarm", "target": ["Alice"]}, blocking=True
    )


async def _send_message(hass: HomeAssistant) -> Any:
    return await hass.services.async_call(
        DOMAIN, "send_message", {"recipients": ["Alice"], "message": "Alarm"}, blocking=True
    )


SENDS = pytest.mark.parametrize("send", [_notify, _send_message], ids=["notify", "send_message"])


def _sends(simulator: Simulator) -> int:
    return sum(request.path == "/v1/message" for request in simulator.requests)


@SENDS
@pytest.mark.parametrize(
    ("fault", "arguments"),
    [("unavailable", {"count": 2}), ("rate_limited", {"count": 1, "retry_after": 1})],
)
async def test_what_clickatell_says_to_retry_is_retried(
    hass: HomeAssistant, simulator: Simulator, send: Send, fault: str, arguments: dict[str, Any]
) -> None:
    """The alert goes out after the blip, and the call succeeds."""
    simulator.reset()
    simulator.inject(fault, flavours=["platform"], **arguments)

    await send(hass)

    assert [message.to for message in simulator.messages] == [ALICE]
    assert _sends(simulator) == 1 + arguments["count"]


@SENDS
async def test_a_lasting_outage_is_named(
    hass: HomeAssistant, simulator: Simulator, send: Send
) -> None:
    """Retried a few times, then a translated error says Clickatell is unavailable."""
    simulator.reset()
    simulator.inject("unavailable")

    with pytest.raises(HomeAssistantError) as caught:
        await send(hass)

    assert caught.value.translation_key == "service_unavailable"
    assert "Could not talk" not in str(caught.value)
    assert _sends(simulator) == 4  # the first try and three retries
    assert simulator.messages == []


@SENDS
@pytest.mark.parametrize(
    ("fault", "arguments", "key"),
    [
        # Waiting a minute inside an action is no help: rate limited, at once.
        ("rate_limited", {"retry_after": 60}, "rate_limited"),
        # Clickatell may have taken it: sending again could text twice. Said so.
        ("drop", {"flavours": ["platform"]}, "send_unconfirmed"),
    ],
    ids=["a long Retry-After", "a connection broken mid-send"],
)
async def test_tried_once_and_named(
    hass: HomeAssistant,
    simulator: Simulator,
    send: Send,
    fault: str,
    arguments: dict[str, Any],
    key: str,
) -> None:
    simulator.reset()
    simulator.inject(fault, count=1, **arguments)

    with pytest.raises(HomeAssistantError) as caught:
        await send(hass)

    assert caught.value.translation_key == key
    assert _sends(simulator) == 1


@SENDS
async def test_a_timeout_on_a_send_is_never_sent_again(
    hass: HomeAssistant, simulator: Simulator, send: Send
) -> None:
    entry = hass.config_entries.async_entries(DOMAIN)[0]
    with patch("custom_components.clickatell_sms.helpers.REQUEST_TIMEOUT", 0.5):
        await hass.config_entries.async_reload(entry.entry_id)
    # notify.<name> comes back in a task of its own (legacy notify discovery).
    await hass.async_block_till_done()
    simulator.reset()
    simulator.inject("slow", count=1, delay=1.5)

    with pytest.raises(HomeAssistantError) as caught:
        await send(hass)

    assert caught.value.translation_key == "send_unconfirmed"
    # The slow answer comes at last: Clickatell did take the message, once.
    async with asyncio.timeout(5):
        while not simulator.messages:  # noqa: ASYNC110 - the simulator has no event for it
            await asyncio.sleep(0.05)
    assert [message.to for message in simulator.messages] == [ALICE]
    assert _sends(simulator) == 1


@SENDS
async def test_a_refused_connection_is_retried(
    hass: HomeAssistant, simulator: Simulator, send: Send
) -> None:
    """Nothing was written to a refused connection: the next try sends the alert."""
    port = await stop_simulator(simulator)
    simulator.reset()

    async def come_back() -> None:
        await asyncio.sleep(0.1)
        await simulator.start(port=port)

    returning = asyncio.create_task(come_back())
    try:
        await send(hass)
    finally:
        await returning

    assert [message.to for message in simulator.messages] == [ALICE]


@SENDS
async def test_no_connection_is_named(
    hass: HomeAssistant, simulator: Simulator, send: Send
) -> None:
    await stop_simulator(simulator)

    with pytest.raises(HomeAssistantError) as caught:
        await send(hass)

    assert caught.value.translation_key == "send_cannot_connect"
    # True here: the send was tried again, and never reached Clickatell.
    assert str(caught.value).startswith(
        "Could not connect to Clickatell, even after trying again: "
        "no connection was made, so nothing was sent."
    )


async def test_a_poll_that_cannot_connect_claims_no_retry(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """A balance refresh is tried once (the coordinator polls again): its text says no more."""
    await stop_simulator(simulator)
    coordinator = init_integration.runtime_data.balance_coordinator

    await coordinator.async_refresh()

    error = coordinator.last_exception
    assert isinstance(error, UpdateFailed)
    assert error.translation_key == "cannot_connect"
    assert str(error).startswith("Could not connect to Clickatell: Cannot connect")


@SENDS
@pytest.mark.parametrize("options", [{CONF_OUTBOX_ENABLED: True}])
async def test_with_the_outbox_a_lasting_outage_waits_there(
    hass: HomeAssistant, simulator: Simulator, send: Send
) -> None:
    """Tried as often as without the outbox, then kept for later: the call succeeds."""
    simulator.reset()
    simulator.inject("unavailable")

    await send(hass)
    await hass.async_block_till_done()

    assert _sends(simulator) == 4  # the outbox's first try waits for its backoff
    assert hass.states.get("sensor.clickatell_outbox").state == "1"
