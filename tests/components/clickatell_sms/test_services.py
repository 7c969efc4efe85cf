"""The clickatell_sms.send_message and clickatell_sms.stop_message actions."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from homeassistant.const import ATTR_CONFIG_ENTRY_ID
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from pytest_homeassistant_custom_component.common import MockConfigEntry
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from clickatell_relay.simulator import Simulator
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import CONF_MAX_BATCH_SIZE, DOMAIN
from custom_components.clickatell_sms.send import action_errors

from .conftest import ALICE, BOB

pytestmark = pytest.mark.usefixtures("init_integration")


async def _send(hass: HomeAssistant, *, response: bool = True, **data: Any) -> Any:
    return await hass.services.async_call(
        DOMAIN, "send_message", data, blocking=True, return_response=response
    )


async def test_send_message_response(
    hass: HomeAssistant, simulator: Simulator, snapshot: SnapshotAssertion
) -> None:
    """Per recipient: accepted, message ID, parts and the estimated cost, and why."""
    response = await _send(
        hass,
        recipients=["Alice", "Bob", "+27 83 123 4567", "2799999121"],
        message="x" * 200,  # two parts
    )

    ids = {message.to: message.api_message_id for message in simulator.messages}
    assert [item["message_id"] for item in response["messages"]] == [
        ids.get(ALICE),
        ids.get(BOB),
        ids.get("27831234567"),
        None,
    ]
    assert response == snapshot(exclude=props("message_id", "client_message_id"))
    # Every SMS gets a client message ID of its own (see test_outbox.py).
    assert re.fullmatch(r"[0-9a-f]{32}", response["client_message_id"])
    # Alice costs a credit a part and Bob a third (their coverage); the
    # unknown number is assumed at a credit a part; the blocked one costs nothing.
    assert response["estimated_credits"] == 2 + 0.66 + 2


async def test_send_message_without_response_raises_for_rejected(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    with pytest.raises(HomeAssistantError) as error:
        await _send(hass, response=False, recipients=["Alice", "2799999121"], message="Hi")

    assert error.value.translation_key == "recipients_rejected"
    assert [message.to for message in simulator.messages] == [ALICE]

    assert await _send(hass, response=False, recipients=["Alice"], message="Hi") is None


@pytest.mark.parametrize("options", [{CONF_MAX_BATCH_SIZE: 2}])
async def test_send_message_in_batches(hass: HomeAssistant, simulator: Simulator) -> None:
    """Five recipients, at most two per request: three requests."""
    simulator.reset()
    numbers = [f"27999000{index:02}" for index in range(1, 6)]

    response = await _send(hass, recipients=numbers, message="Hi")

    assert response["requests"] == 3
    assert response["accepted"] == 5
    sends = [request for request in simulator.requests if request.method == "POST"]
    assert len(sends) == 3


async def test_send_message_options(hass: HomeAssistant, simulator: Simulator) -> None:
    when = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1)

    response = await _send(
        hass,
        recipients=["Alice"],
        message="Später",
        title="Erinnerung",
        **{
            "from": "27831234567",
            "client_message_id": "reminder-7",
            "scheduled_time": when,
            "validity": 120,
            "unicode": True,
            "max_parts": 2,
            "callback": 3,
            "priority": 2,
            "escalate": False,
            "max_credits": "1.5",
            "mo": False,
            "bypass_dnc_check": False,
        },
    )

    assert response["client_message_id"] == "reminder-7"
    assert response["encoding"] == "UCS-2"
    (message,) = simulator.messages
    assert message.text == "Erinnerung\nSpäter"
    assert message.scheduled_for == when
    assert message.options["maxCredits"] == 1.5
    assert message.options["callback"] == 3


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
async def test_send_message_option_the_platform_does_not_take(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """The error names the fields the user typed, not the client's names for them."""
    with pytest.raises(ServiceValidationError) as error:
        await _send(hass, recipients=["Alice"], message="Hi", priority=1, escalate=True)

    assert error.value.translation_key == "options_not_supported"
    assert error.value.translation_placeholders == {
        "options": "escalate, priority",
        "api": "Platform (One API)",
    }
    assert "user_priority_queue" not in str(error.value)
    assert not simulator.messages


@pytest.mark.parametrize(
    ("data", "option"),
    [
        ({"priority": 4}, "priority"),
        ({"validity": 0}, "validity"),
        ({"max_parts": 99}, "max_parts"),
    ],
)
async def test_an_invalid_option_is_named_as_typed(
    hass: HomeAssistant, simulator: Simulator, data: dict[str, Any], option: str
) -> None:
    for send in (
        _send(hass, recipients=["Alice"], message="Hi", **data),
        hass.services.async_call(
            "notify",
            "clickatell",
            {"message": "Hi", "target": ["Alice"], "data": data},
            blocking=True,
        ),
    ):
        with pytest.raises(ServiceValidationError) as error:
            await send
        assert error.value.translation_key == "invalid_option"
        assert error.value.translation_placeholders["option"] == option
        assert "must be" in error.value.translation_placeholders["problem"]
    assert not simulator.messages


@pytest.mark.parametrize(
    ("when", "key"),
    [
        (timedelta(minutes=-1), "scheduled_time_past"),
        (timedelta(days=7, minutes=1), "scheduled_time_too_far"),
    ],
)
async def test_a_scheduled_time_out_of_reach_is_refused(
    hass: HomeAssistant, simulator: Simulator, when: timedelta, key: str
) -> None:
    """Clickatell sends a past time at once: refused, as beyond its 7 days is."""
    scheduled = datetime.now(UTC) + when
    for send in (
        _send(hass, recipients=["Alice"], message="Hi", scheduled_time=scheduled),
        hass.services.async_call(
            "notify",
            "clickatell",
            {"message": "Hi", "data": {"scheduled_time": scheduled.isoformat()}},
            blocking=True,
        ),
    ):
        with pytest.raises(ServiceValidationError) as error:
            await send
        assert error.value.translation_key == key
    assert not simulator.messages


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
async def test_send_message_platform_estimates_without_coverage(
    hass: HomeAssistant, simulator: Simulator
) -> None:
    """The Platform has no coverage call: every part is assumed at a credit."""
    response = await _send(hass, recipients=["Alice", "Bob"], message="Hi")

    assert [item["charge_basis"] for item in response["messages"]] == ["default", "default"]
    assert response["estimated_credits"] == 2


async def test_send_message_names_the_account(
    hass: HomeAssistant, simulator: Simulator, init_integration: MockConfigEntry
) -> None:
    """With several accounts the call names one; a wrong ID is refused."""
    response = await _send(
        hass, config_entry_id=init_integration.entry_id, recipients=["Alice"], message="Hi"
    )
    assert response["accepted"] == 1

    with pytest.raises(ServiceValidationError):
        await _send(hass, config_entry_id="unknown", recipients=["Alice"], message="Hi")


async def test_stop_message(hass: HomeAssistant, simulator: Simulator) -> None:
    """A scheduled message stops; a delivered one does not, which the response says."""
    scheduled = await _send(
        hass,
        recipients=["Alice"],
        message="Later",
        scheduled_time=datetime.now(UTC) + timedelta(hours=1),
    )
    delivered = await _send(hass, recipients=["Bob"], message="Now")
    scheduled_id = scheduled["messages"][0]["message_id"]
    delivered_id = delivered["messages"][0]["message_id"]

    response = await hass.services.async_call(
        DOMAIN, "stop_message", {"message_id": scheduled_id}, blocking=True, return_response=True
    )
    assert response == {
        "message_id": scheduled_id,
        "stopped": True,
        "status": "006",
        "description": "User cancelled message delivery",
    }

    response = await hass.services.async_call(
        DOMAIN, "stop_message", {"message_id": delivered_id}, blocking=True, return_response=True
    )
    assert response["stopped"] is False

    with pytest.raises(HomeAssistantError) as error:
        await hass.services.async_call(
            DOMAIN, "stop_message", {"message_id": delivered_id}, blocking=True
        )
    assert error.value.translation_key == "not_stopped"

    assert (
        await hass.services.async_call(
            DOMAIN, "stop_message", {"message_id": scheduled_id}, blocking=True
        )
        is None
    )


async def test_stop_unknown_message(hass: HomeAssistant, simulator: Simulator) -> None:
    """Clickatell answers 404 (code 161): the caller's mistake."""
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN, "stop_message", {"message_id": "ffffffff"}, blocking=True
        )
    assert error.value.translation_key == "invalid_request"


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
async def test_stop_message_not_on_the_platform(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN,
            "stop_message",
            {ATTR_CONFIG_ENTRY_ID: init_integration.entry_id, "message_id": "abc"},
            blocking=True,
        )
    assert error.value.translation_key == "stop_not_supported"


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
async def test_what_the_api_cannot_do_is_named_if_the_client_refuses_it(
    hass: HomeAssistant, init_integration: MockConfigEntry
) -> None:
    """The actions ask `supports` first; should one not, the client's refusal is still named.

    The Platform's client refuses a stop itself (ClickatellUnsupportedError):
    a mistake in the call, translated, with no request made.
    """
    client = init_integration.runtime_data.client
    with pytest.raises(ServiceValidationError) as error:
        async with action_errors(hass, init_integration):
            await client.stop("abc")

    assert error.value.translation_key == "unsupported"
    assert str(error.value) == "Not possible with this account's API: " + str(error.value.__cause__)
    assert "does not support stop" in str(error.value)


async def test_stop_message_invalid_id(hass: HomeAssistant) -> None:
    with pytest.raises(ServiceValidationError) as error:
        await hass.services.async_call(
            DOMAIN, "stop_message", {"message_id": "not an id!"}, blocking=True
        )
    assert error.value.translation_key == "invalid_request"
