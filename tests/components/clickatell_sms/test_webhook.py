"""Two-way SMS end to end: the simulator calls Home Assistant's webhook over HTTP.

Messages go out through `clickatell_sms.send_message`; the simulator calls
back in each flavour's format, as Clickatell would, to the entry's webhook on
Home Assistant's own HTTP server (a real loopback port).
"""

import logging
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.components.webhook import async_generate_path
from homeassistant.const import CONF_WEBHOOK_ID, EVENT_HOMEASSISTANT_FINAL_WRITE
from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from clickatell_relay.simulator import Simulator, Timings
from custom_components.clickatell_sms.aioclickatell import ApiFlavour
from custom_components.clickatell_sms.const import (
    CONF_CALLBACK_PASSWORD,
    CONF_CALLBACK_USERNAME,
    DOMAIN,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_STATUS,
)

from .conftest import ALICE
from .two_way import (
    CALLBACK_PASSWORD,
    CALLBACK_USERNAME,
    STRANGER,
    TWO_WAY_NUMBER,
    message_ids,
    send_message,
    settled,
    statuses_of,
)

# Refused callbacks are retried; quickly here, so the tests wait for every retry.
QUICK_RETRIES = Timings(callback_retry_delays=(0.01, 0.01), mo_retry_delays=(0.01, 0.01))


@pytest.mark.parametrize(
    ("api", "method"),
    [
        (ApiFlavour.REST, "get"),
        (ApiFlavour.REST, "post"),
        (ApiFlavour.REST, "xml"),
        (ApiFlavour.REST, "json"),
        (ApiFlavour.HTTP, "get"),
        (ApiFlavour.HTTP, "post"),
    ],
)
async def test_legacy_statuses_tie_back_to_the_send(
    hass: HomeAssistant,
    simulator: Simulator,
    init_integration: MockConfigEntry,
    webhook_url: str,
    method: str,
) -> None:
    """Each legacy callback method: the statuses of the message sent, with its recipient."""
    simulator.account.callback_url = webhook_url
    simulator.account.callback_method = method
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)

    response = await send_message(hass, ["Alice"], client_message_id="leak-1")
    await settled(hass, simulator)

    message_id = response["messages"][0]["message_id"]
    # The legacy levels have no callback for "queued"; the integration asks for all of them.
    assert statuses_of(events) == [
        (message_id, "Alice", "delivered_to_gateway"),
        (message_id, "Alice", "delivered"),
    ]
    delivered = events[-1].data
    assert delivered == {
        "config_entry_id": init_integration.entry_id,
        "message_id": message_id,
        "client_message_id": "leak-1",
        "to": ALICE,
        "recipient": "Alice",
        "status": "delivered",
        "status_code": "004",
        "status_text": "Received by recipient",
        "final": True,
        "failed": False,
        "charge": 1.0,
        "timestamp": delivered["timestamp"],
    }
    assert delivered["timestamp"].endswith("+00:00")
    assert {attempt.status for attempt in simulator.callbacks} == {200}
    assert simulator.callbacks[0].method == ("GET" if method == "get" else "POST")


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
async def test_one_api_statuses(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str
) -> None:
    """The Platform calls back with every status, as One API events."""
    simulator.account.callback_url = webhook_url
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)

    response = await send_message(hass, ["Alice", "2799998007"])
    await settled(hass, simulator)

    alice, other = (item["message_id"] for item in response["messages"])
    assert sorted(statuses_of(events)) == sorted(
        [
            (alice, "Alice", "queued"),
            (alice, "Alice", "delivered_to_gateway"),
            (alice, "Alice", "delivered"),
            (other, None, "queued"),
            (other, None, "delivered_to_gateway"),
            (other, None, "failed"),
        ]
    )
    failed = next(event.data for event in events if event.data["status"] == "failed")
    assert failed["final"] is True
    assert failed["failed"] is True
    assert failed["to"] == "2799998007"
    assert failed["status_text"] == "DELIVERY_FAILURE"


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
async def test_platform_messages_status_callback(
    hass: HomeAssistant, http_client: TestClient, webhook_path: str
) -> None:
    """A /messages ("REST API") status callback, its golden shape with a real message ID."""
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    response = await send_message(hass, ["Alice"])
    message_id = response["messages"][0]["message_id"]

    callback = {
        "integrationName": "My integration",
        "messageId": message_id,
        "requestId": "b3f9d8a4f8a94c32a6d1e2f3a4b5c6d7",
        "clientMessageId": "",
        "to": ALICE,
        "from": TWO_WAY_NUMBER,
        "statusCode": 4,
        "status": "RECEIVED_BY_RECIPIENT",
        "statusDescription": "Received by recipient",
        "timestamp": 1506607698000,
    }
    answer = await http_client.post(webhook_path, json=callback)
    await hass.async_block_till_done()

    assert answer.status == 200
    assert statuses_of(events) == [(message_id, "Alice", "delivered")]
    assert events[0].data["timestamp"] == "2017-09-28T14:08:18+00:00"


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
async def test_a_status_after_a_reload_at_once_ties_back(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    http_client: TestClient,
    webhook_path: str,
) -> None:
    """A message sent just before a reload: its status still names its recipient.

    The tracker writes its messages a few seconds after a change; an unload
    must write what is still waiting, or the reloaded entry never sent it.
    """
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    response = await send_message(hass, ["Alice"])
    message_id = response["messages"][0]["message_id"]

    assert await hass.config_entries.async_unload(init_integration.entry_id)
    assert await hass.config_entries.async_setup(init_integration.entry_id)
    await hass.async_block_till_done()
    callback = {
        "messageId": message_id,
        "to": ALICE,
        "statusCode": 4,
        "status": "RECEIVED_BY_RECIPIENT",
        "timestamp": 1506607698000,
    }
    answer = await http_client.post(webhook_path, json=callback)
    await hass.async_block_till_done()

    assert answer.status == 200
    assert statuses_of(events) == [(message_id, "Alice", "delivered")]


async def test_home_assistant_stopping_writes_what_was_sent(
    hass: HomeAssistant, init_integration: MockConfigEntry, hass_storage: dict[str, Any]
) -> None:
    """Home Assistant's last write takes the tracker's delayed save with it (Store does)."""
    response = await send_message(hass, ["Alice"])

    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()

    stored = hass_storage[f"{DOMAIN}.{init_integration.entry_id}"]["data"]["sent"]
    assert list(stored) == message_ids(response)


@pytest.mark.parametrize(
    ("api", "mo_format", "text"),
    [
        (ApiFlavour.REST, "get", "Yes, on my way"),
        (ApiFlavour.REST, "post", "Привет!"),  # legacy UCS-2: hex UTF-16BE
        (ApiFlavour.HTTP, "get", "Ça va"),  # ISO-8859-1
        (ApiFlavour.PLATFORM, "one_api", "Yes 👍"),
        (ApiFlavour.PLATFORM, "messages", "Yes"),
    ],
)
async def test_a_reply_from_a_recipient(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str, mo_format: str, text: str
) -> None:
    """Each reply format: the event names the recipient; her reply entity shows it."""
    simulator.account.mo_url = webhook_url
    simulator.account.mo_format = mo_format
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)

    message_id = simulator.inject_inbound(ALICE, TWO_WAY_NUMBER, text)
    await settled(hass, simulator)

    assert len(events) == 1
    data = events[0].data
    assert data["message_id"] == message_id
    assert data["from"] == ALICE
    assert data["recipient"] == "Alice"
    assert data["to"] == TWO_WAY_NUMBER
    assert data["text"] == text
    assert data["timestamp"].endswith("+00:00")
    state = hass.states.get("event.alice_reply")
    assert state.attributes["event_type"] == "received"
    assert state.attributes["text"] == text
    assert state.attributes["message_id"] == message_id
    assert hass.states.get("event.bob_reply").state == "unknown"


@pytest.mark.parametrize("api", [ApiFlavour.PLATFORM])
async def test_a_reply_ties_to_the_message_it_answers(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str
) -> None:
    """The One API says which message a reply answers, and a keyword."""
    simulator.account.mo_url = webhook_url
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    sent = (await send_message(hass, ["Alice"]))["messages"][0]["message_id"]

    simulator.inject_inbound(ALICE, TWO_WAY_NUMBER, "STOP", keyword="STOP", related_message_id=sent)
    await settled(hass, simulator)

    assert events[0].data["related_message_id"] == sent
    assert events[0].data["keyword"] == "STOP"


async def test_an_sms_from_a_stranger(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str
) -> None:
    """No recipient's name; no recipient's entity; the account's entity is off by default."""
    simulator.account.mo_url = webhook_url
    simulator.account.mo_format = "post"
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)

    simulator.inject_inbound(STRANGER, TWO_WAY_NUMBER, "Who is this?")
    await settled(hass, simulator)

    assert [(event.data["from"], event.data["recipient"]) for event in events] == [(STRANGER, None)]
    assert hass.states.get("event.alice_reply").state == "unknown"
    assert hass.states.get("event.clickatell_sms_from_other_numbers") is None


async def test_a_number_is_never_matched_to_the_wrong_recipient(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str
) -> None:
    """Numbers that look alike (a prefix, a suffix, a leading zero) are strangers."""
    simulator.account.mo_url = webhook_url
    simulator.account.mo_format = "post"
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)

    for sender in (ALICE[:-1], ALICE + "1", "0" + ALICE, ALICE[1:], "+" + ALICE):
        simulator.inject_inbound(sender, TWO_WAY_NUMBER, "Hi")
    await settled(hass, simulator)

    names = {event.data["from"]: event.data["recipient"] for event in events}
    assert names == {
        ALICE[:-1]: None,
        ALICE + "1": None,
        "0" + ALICE: None,
        ALICE[1:]: None,
        "+" + ALICE: "Alice",
    }


@pytest.mark.parametrize(
    "options",
    [{CONF_CALLBACK_USERNAME: CALLBACK_USERNAME, CONF_CALLBACK_PASSWORD: CALLBACK_PASSWORD}],
)
async def test_basic_authentication(
    hass: HomeAssistant, simulator: Simulator, webhook_url: str
) -> None:
    """With basic authentication set, only callbacks that carry it count."""
    simulator.timings = QUICK_RETRIES
    events = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    scheme, rest = webhook_url.split("://")

    simulator.account.callback_url = f"{scheme}://{CALLBACK_USERNAME}:wrong-password@{rest}"
    await send_message(hass, ["Alice"])
    await settled(hass, simulator)
    assert not events
    assert {attempt.status for attempt in simulator.callbacks} == {401}

    simulator.account.callback_url = f"{scheme}://{CALLBACK_USERNAME}:{CALLBACK_PASSWORD}@{rest}"
    await send_message(hass, ["Alice"])
    await settled(hass, simulator)
    assert [event.data["status"] for event in events] == ["delivered_to_gateway", "delivered"]


async def test_unload_unregisters_the_webhook(
    hass: HomeAssistant, init_integration: MockConfigEntry, http_client: TestClient
) -> None:
    webhook_id = init_integration.data[CONF_WEBHOOK_ID]
    assert webhook_id in hass.data["webhook"]

    await hass.config_entries.async_unload(init_integration.entry_id)

    assert webhook_id not in hass.data["webhook"]
    events = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    answer = await http_client.post(
        async_generate_path(webhook_id),
        data={"moMsgId": "1", "from": ALICE, "to": TWO_WAY_NUMBER, "text": "Hi"},
    )
    assert answer.status == 200  # Home Assistant's own answer for an unknown webhook
    assert not events


async def test_nothing_from_a_callback_is_logged_above_debug(
    hass: HomeAssistant,
    simulator: Simulator,
    webhook_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Texts and numbers stay out of the log, but at debug level, where only problems go."""
    simulator.account.callback_url = webhook_url
    simulator.account.mo_url = webhook_url
    simulator.account.mo_format = "post"
    caplog.set_level(logging.DEBUG)

    await send_message(hass, ["Alice", STRANGER])
    simulator.inject_inbound(STRANGER, TWO_WAY_NUMBER, "Secret text 42")
    await settled(hass, simulator)

    above_debug = [record for record in caplog.records if record.levelno > logging.DEBUG]
    for record in above_debug:
        for private in (ALICE, STRANGER, TWO_WAY_NUMBER, "Secret text 42"):
            assert private not in record.getMessage()
    ours = [record for record in caplog.records if record.name.startswith("custom_components")]
    for record in ours:
        assert "Secret text 42" not in record.getMessage()
