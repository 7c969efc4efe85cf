"""Callbacks: the simulator calls a real server with statuses and replies, as Clickatell does."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qs

import aiohttp
import pytest
from defusedxml.ElementTree import fromstring

from clickatell_relay.simulator import Simulator, Timings

from .conftest import API_ID, API_KEY, dumps, http_credentials, platform_headers, rest_headers
from .receiver import CallbackReceiver, Received

CALLBACK_PASSWORD: Final = "hook-secret-Vb29qx"
FAST: Final = Timings(callback_retry_delays=(0.01, 0.01), mo_retry_delays=(0.01, 0.01))
# Clickatell's callback table: the statuses each bit of the `callback` level asks for.
LEVEL_BITS: Final = {
    1: {"003"},
    2: {"004", "005", "007", "009", "010", "012"},
    4: {"005", "007", "009", "010", "012"},
}
# The statuses a message to each test destination goes through.
LIVES: Final = {
    "2799900001": ["002", "003", "004"],
    "2799998005": ["002", "005"],
    "2799998007": ["002", "003", "007"],
    "2799998009": ["002", "009"],
    "2799998010": ["002", "010"],
    "2799998012": ["002", "012"],
}
SETTLE: Final = 5.0


@pytest.fixture(autouse=True)
def fast(simulator: Simulator) -> None:
    simulator.timings = FAST


async def settle(simulator: Simulator) -> None:
    async with asyncio.timeout(SETTLE):
        await simulator.callbacks_settled()


async def rest_send(
    session: aiohttp.ClientSession, simulator: Simulator, to: str, **options: Any
) -> str:
    payload = {"text": "Hi", "to": [to], **options}
    async with session.post(
        simulator.base_url("rest") + "/message", data=dumps(payload), headers=rest_headers()
    ) as response:
        assert response.status == 202, await response.text()
        return str((await response.json())["data"]["message"][0]["apiMessageId"])


async def http_send(
    session: aiohttp.ClientSession, simulator: Simulator, to: str, **params: str
) -> str:
    async with session.post(
        simulator.base_url("http") + "/http/sendmsg",
        data=http_credentials(to=to, text="Hi", **params),
    ) as response:
        text = await response.text()
    assert text.startswith("ID: "), text
    return text.removeprefix("ID: ")


async def one_api_send(
    session: aiohttp.ClientSession, simulator: Simulator, to: str, **fields: Any
) -> str:
    payload = {"messages": [{"channel": "sms", "to": to, "content": "Hi", **fields}]}
    async with session.post(
        simulator.base_url("platform") + "/v1/message",
        data=dumps(payload),
        headers=platform_headers(),
    ) as response:
        assert response.status == 202, await response.text()
        return str((await response.json())["messages"][0]["apiMessageId"])


async def messages_send(session: aiohttp.ClientSession, simulator: Simulator, to: str) -> str:
    async with session.post(
        simulator.base_url("platform") + "/messages",
        data=dumps({"content": "Hi", "to": [to], "from": "27831234567"}),
        headers=platform_headers(),
    ) as response:
        assert response.status == 202, await response.text()
        return str((await response.json())["messages"][0]["apiMessageId"])


def legacy_fields(received: Received) -> dict[str, str]:
    """The fields of a legacy callback, however it came."""
    if received.method == "GET":
        return {name: values[0] for name, values in parse_qs(received.query).items()}
    if received.content_type == "application/x-www-form-urlencoded":
        parsed = parse_qs(received.body.decode(), keep_blank_values=True)
        return {name: values[0] for name, values in parsed.items()}
    if received.content_type == "application/xml":
        root = fromstring(received.body)
        assert root.tag == "callback"
        return {child.tag: child.text or "" for child in root}
    assert received.content_type == "application/json"
    return {name: str(value) for name, value in json.loads(received.body).items()}


# ---- legacy status callbacks -----------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "xml", "json"])
@pytest.mark.parametrize("flavour", ["rest", "http"])
async def test_legacy_status_callbacks_in_each_method(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    receiver: CallbackReceiver,
    flavour: str,
    method: str,
) -> None:
    simulator.account.callback_url = receiver.url("/status")
    simulator.account.callback_method = method
    if flavour == "rest":
        options = {"callback": 3, "clientMessageId": "c-1", "from": "27831234567"}
        message_id = await rest_send(session, simulator, "2799900001", **options)
    else:
        params = {"msg_callback": "3", "climsgid": "c-1", "from": "27831234567"}
        message_id = await http_send(session, simulator, "2799900001", **params)
    await settle(simulator)
    received = await receiver.wait_for(2)
    assert len(receiver.received) == 2
    assert [request.method for request in received] == ["GET" if method == "get" else "POST"] * 2
    assert {request.path for request in received} == {"/status"}
    fields = [legacy_fields(request) for request in received]
    assert [item["status"] for item in fields] == ["003", "004"]
    for item in fields:
        assert item["apiMsgId"] == message_id
        assert item["api_id"] == API_ID
        assert item["cliMsgId"] == "c-1"
        assert (item["to"], item["from"]) == ("2799900001", "27831234567")
        assert item["charge"] == "1.000000"
        assert abs(int(item["timestamp"]) - datetime.now(UTC).timestamp()) < 60


def expected_for(level: int, life: list[str]) -> list[str]:
    wanted = set().union(*(LEVEL_BITS[bit] for bit in LEVEL_BITS if level & bit))
    return [status for status in life if status in wanted]


@pytest.mark.parametrize("number", ["2799900001", "2799998007", "2799998010", "2799998005"])
@pytest.mark.parametrize("level", range(8))
async def test_each_callback_level_reports_what_clickatell_table_says(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    receiver: CallbackReceiver,
    level: int,
    number: str,
) -> None:
    simulator.account.callback_url = receiver.url()
    await rest_send(session, simulator, number, callback=level)
    await settle(simulator)
    statuses = [legacy_fields(request)["status"] for request in receiver.received]
    assert statuses == expected_for(level, LIVES[number])


async def test_no_level_no_callback(
    simulator: Simulator, session: aiohttp.ClientSession, receiver: CallbackReceiver
) -> None:
    simulator.account.callback_url = receiver.url()
    await http_send(session, simulator, "2799900001")
    await settle(simulator)
    assert receiver.received == []
    assert simulator.messages[0].status == "004"


# ---- Platform status callbacks ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("2799900001", [(2, "QUEUED"), (4, "SENT_TO_SUPPLIER"), (5, "DEVICE_ACK")]),
        ("2799998007", [(2, "QUEUED"), (4, "SENT_TO_SUPPLIER"), (23, "DELIVERY_FAILURE")]),
        ("2799998009", [(2, "QUEUED"), (100, "ROUTING_ERROR")]),
        ("2799998010", [(2, "QUEUED"), (20, "EXPIRED")]),
        ("2799998012", [(2, "QUEUED"), (25, "INSUFFICIENT_ACCOUNT_BALANCE")]),
    ],
)
async def test_one_api_status_callbacks(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    receiver: CallbackReceiver,
    number: str,
    expected: list[tuple[int, str]],
) -> None:
    simulator.account.callback_url = receiver.url()
    message_id = await one_api_send(session, simulator, number, clientMessageId="alert-7")
    await settle(simulator)
    assert len(receiver.received) == len(expected)
    seen = []
    for request in receiver.received:
        assert request.content_type == "application/json"
        payload = json.loads(request.body)
        assert set(payload) == {"integrationId", "integrationName", "event"}
        (entry,) = payload["event"]["messageStatusUpdate"]
        assert entry["messageId"] == message_id
        assert entry["clientMessageId"] == "alert-7"
        assert entry["channel"] == "sms"
        assert isinstance(entry["timestamp"], int)
        assert entry["timestamp"] > 10**12  # milliseconds
        seen.append((entry["statusCode"], entry["status"]))
    assert seen == expected


async def test_an_expiring_message_costs_nothing(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    await one_api_send(session, simulator, "2799998010")
    assert simulator.account.balance == Decimal(100)
    assert simulator.messages[0].status == "010"


async def test_messages_status_callbacks_are_one_flat_object(
    simulator: Simulator, session: aiohttp.ClientSession, receiver: CallbackReceiver
) -> None:
    simulator.account.callback_url = receiver.url()
    message_id = await messages_send(session, simulator, "2799900001")
    await settle(simulator)
    payloads = [json.loads(request.body) for request in receiver.received]
    statuses = [(one["statusCode"], one["status"], one["statusDescription"]) for one in payloads]
    assert statuses == [
        (2, "MESSAGE_QUEUED", "Message queued"),
        (3, "DELIVERED_TO_GATEWAY", "Delivered to gateway"),
        (4, "RECEIVED_BY_RECIPIENT", "Received by recipient"),
    ]
    for item in payloads:
        assert item["messageId"] == message_id
        assert (item["to"], item["from"]) == ("2799900001", "27831234567")
        assert item["requestId"] == payloads[0]["requestId"] != message_id


# ---- timings, stop ----------------------------------------------------------------------------


async def test_timings_move_a_message_through_its_states(
    simulator: Simulator, session: aiohttp.ClientSession, receiver: CallbackReceiver
) -> None:
    simulator.timings = Timings(gateway_delay=0.2, delivery_delay=0.2)
    simulator.account.callback_url = receiver.url()
    await one_api_send(session, simulator, "2799900001")
    assert simulator.messages[0].status == "002"
    await settle(simulator)
    assert simulator.messages[0].status == "004"
    stamps = [
        json.loads(request.body)["event"]["messageStatusUpdate"][0]["timestamp"]
        for request in receiver.received
    ]
    assert len(stamps) == 3
    assert stamps[1] - stamps[0] >= 200
    assert stamps[2] - stamps[1] >= 200


async def test_stopping_a_queued_message_ends_its_callbacks(
    simulator: Simulator, session: aiohttp.ClientSession, receiver: CallbackReceiver
) -> None:
    simulator.timings = Timings(gateway_delay=60)
    simulator.account.callback_url = receiver.url()
    message_id = await rest_send(session, simulator, "2799900001", callback=7)
    url = simulator.base_url("rest") + f"/message/{message_id}"
    async with session.delete(url, headers=rest_headers()) as response:
        assert (await response.json())["data"]["messageStatus"] == "006"
    await settle(simulator)  # the follower woke and ended: no wait for the gateway
    assert receiver.received == []  # 002 and 006 are in no level
    assert simulator.messages[0].status == "006"
    assert simulator.account.balance == Decimal(100)


async def test_a_message_delivered_to_the_gateway_cannot_be_stopped(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.timings = Timings(delivery_delay=60)
    message_id = await rest_send(session, simulator, "2799900001")
    url = simulator.base_url("rest") + f"/message/{message_id}"
    async with session.delete(url, headers=rest_headers()) as response:
        assert (await response.json())["data"]["messageStatus"] == "003"
    assert simulator.account.balance == Decimal(99)


# ---- retries, redirects, authentication ---------------------------------------------------------


async def test_a_failed_callback_is_retried_until_it_is_taken(
    simulator: Simulator, session: aiohttp.ClientSession, receiver: CallbackReceiver
) -> None:
    receiver.answers = [500, 503]
    simulator.account.callback_url = receiver.url()
    await rest_send(session, simulator, "2799900001", callback=2)
    await settle(simulator)
    assert [attempt.status for attempt in simulator.callbacks] == [500, 503, 200]
    assert [attempt.attempt for attempt in simulator.callbacks] == [1, 2, 3]
    assert len({request.body for request in receiver.received}) == 1


async def test_an_unreachable_target_is_tried_as_often_as_the_schedule_says(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.account.callback_url = "http://127.0.0.1:9/unreachable"  # discard port, closed
    await rest_send(session, simulator, "2799900001", callback=2)
    await settle(simulator)
    attempts = simulator.callbacks
    assert len(attempts) == 1 + len(FAST.callback_retry_delays)
    assert all(attempt.status is None and attempt.error for attempt in attempts)


async def test_a_redirect_is_neither_followed_nor_retried(
    simulator: Simulator, session: aiohttp.ClientSession, receiver: CallbackReceiver
) -> None:
    receiver.answers = [302]
    simulator.account.callback_url = receiver.url()
    await rest_send(session, simulator, "2799900001", callback=2)
    await settle(simulator)
    assert [request.path for request in receiver.received] == ["/callback"]
    assert [attempt.status for attempt in simulator.callbacks] == [302]


async def test_basic_auth_in_the_callback_url_is_used_and_never_shown(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    receiver: CallbackReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    simulator.account.callback_url = receiver.url("/hook", auth=f"hook:{CALLBACK_PASSWORD}")
    await one_api_send(session, simulator, "2799900001")
    await settle(simulator)
    expected = "Basic " + base64.b64encode(f"hook:{CALLBACK_PASSWORD}".encode()).decode()
    assert [request.headers["Authorization"] for request in receiver.received] == [expected] * 3
    assert all(CALLBACK_PASSWORD not in attempt.url for attempt in simulator.callbacks)
    assert simulator.callbacks[0].url == receiver.url("/hook")
    assert CALLBACK_PASSWORD not in caplog.text
    async with session.get(simulator.root_url + "/_sim/account") as response:
        account = await response.json()
    assert account["callback_url"] == receiver.url("/hook", auth="hook:***")


async def test_a_get_callback_keeps_the_query_of_the_url(
    simulator: Simulator, session: aiohttp.ClientSession, receiver: CallbackReceiver
) -> None:
    simulator.account.callback_url = receiver.url("/cb?token=abc")
    simulator.account.callback_method = "get"
    await rest_send(session, simulator, "2799900001", callback=2)
    await settle(simulator)
    (request,) = receiver.received
    fields = legacy_fields(request)
    assert (fields["token"], fields["status"]) == ("abc", "004")


# ---- replies (MO) ----------------------------------------------------------------------------


def latin_1_fields(raw: str) -> dict[str, str]:
    """Form or query fields whose bytes are ISO-8859-1 (a legacy reply's)."""
    parsed = parse_qs(raw, keep_blank_values=True, encoding="latin-1")
    return {name: values[0] for name, values in parsed.items()}


@pytest.mark.parametrize("text", ["Café YES", "Привет 👍"])
@pytest.mark.parametrize("method", ["get", "post"])
async def test_legacy_replies(
    simulator: Simulator, receiver: CallbackReceiver, method: str, text: str
) -> None:
    simulator.account.mo_url = receiver.url("/mo")
    simulator.account.mo_format = method
    message_id = simulator.inject_inbound("2799900001", "2799900999", text)
    (request,) = await receiver.wait_for(1)
    fields = latin_1_fields(request.query if method == "get" else request.body.decode("ascii"))
    assert (fields["moMsgId"], fields["from"]) == (message_id, "2799900001")
    assert fields["to"] == "2799900999"
    if text == "Café YES":
        assert (fields["charset"], fields["text"]) == ("ISO-8859-1", text)
    else:
        assert fields["charset"] == "UTF-16BE"
        assert bytes.fromhex(fields["text"]).decode("utf-16-be") == text
    south_africa = timezone(timedelta(hours=2))
    sent = datetime.strptime(fields["timestamp"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=south_africa)
    assert abs(sent - datetime.now(UTC)) < timedelta(minutes=1)


async def test_one_api_reply(simulator: Simulator, receiver: CallbackReceiver) -> None:
    simulator.account.mo_url = receiver.url("/mo")
    message_id = simulator.inject_inbound(
        "2799900001", "2799900999", "Привет 👍", keyword="YES", related_message_id="a" * 32
    )
    (request,) = await receiver.wait_for(1)
    (entry,) = json.loads(request.body)["event"]["moText"]
    assert entry["messageId"] == message_id
    assert (entry["from"], entry["to"]) == ("2799900001", "2799900999")
    assert entry["content"] == "Привет 👍"
    assert entry["relatedMessageId"] == "a" * 32
    assert entry["sms"]["keyword"] == "YES"
    assert entry["charset"] == "UTF-8"


async def test_messages_reply_carries_the_key_as_clickatell_does(
    simulator: Simulator, receiver: CallbackReceiver
) -> None:
    simulator.account.mo_url = receiver.url("/mo")
    simulator.account.mo_format = "messages"
    message_id = simulator.inject_inbound("2799900001", "2799900999", "YES", keyword="YES")
    (request,) = await receiver.wait_for(1)
    payload = json.loads(request.body)
    assert payload["replyMessageId"] == message_id
    assert (payload["fromNumber"], payload["toNumber"], payload["text"]) == (
        "2799900001",
        "2799900999",
        "YES",
    )
    assert payload["apiKey"] == API_KEY
    assert payload["keyword"] == "YES"


async def test_a_reply_is_retried(simulator: Simulator, receiver: CallbackReceiver) -> None:
    receiver.answers = [500]
    simulator.account.mo_url = receiver.url("/mo")
    simulator.inject_inbound("2799900001", "2799900999", "YES")
    await settle(simulator)
    assert [attempt.status for attempt in simulator.callbacks] == [500, 200]
    assert {attempt.kind for attempt in simulator.callbacks} == {"reply"}


async def test_no_mo_url_no_reply(simulator: Simulator) -> None:
    with pytest.raises(ValueError, match="mo_url"):
        simulator.inject_inbound("2799900001", "2799900999", "YES")


# ---- control API -----------------------------------------------------------------------------


async def test_control_inbound_and_callbacks(
    simulator: Simulator, session: aiohttp.ClientSession, receiver: CallbackReceiver
) -> None:
    root = simulator.root_url + "/_sim"
    body = {"from": "2799900001", "to": "2799900999", "text": "YES"}
    async with session.post(root + "/inbound", json=body) as response:
        assert response.status == 400
        assert "mo_url" in (await response.json())["error"]
    patch = {"mo_url": receiver.url("/mo"), "mo_format": "post", "callback_method": "xml"}
    async with session.patch(root + "/account", json=patch) as response:
        assert response.status == 200
    assert simulator.account.mo_format == "post"
    async with session.post(root + "/inbound", json=body) as response:
        assert response.status == 202
        message_id = (await response.json())["message_id"]
    await receiver.wait_for(1)
    await settle(simulator)
    async with session.get(root + "/callbacks") as response:
        (attempt,) = await response.json()
    assert (attempt["kind"], attempt["message_id"], attempt["status"]) == ("reply", message_id, 200)
    async with session.delete(root + "/callbacks") as response:
        assert response.status == 204
    assert simulator.callbacks == []


@pytest.mark.parametrize(
    ("path", "change"),
    [
        ("/account", {"callback_method": "soap"}),
        ("/account", {"mo_format": "email"}),
        ("/account", {"callback_url": "ftp://example.com/x"}),
        ("/account", {"mo_url": 5}),
        ("/config", {"gateway_delay": -1}),
        ("/config", {"callback_retry_delays": 5}),
        ("/config", {"mo_retry_delays": ["soon"]}),
        ("/config", {"callback_timeout": True}),
    ],
)
async def test_control_refuses_bad_callback_settings(
    simulator: Simulator, session: aiohttp.ClientSession, path: str, change: dict[str, Any]
) -> None:
    async with session.patch(simulator.root_url + "/_sim" + path, json=change) as response:
        assert response.status == 400
        assert (await response.json())["error"]


async def test_control_sets_timings(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    change = {"gateway_delay": 0.5, "callback_retry_delays": [1, 2], "callback_timeout": 3}
    async with session.patch(simulator.root_url + "/_sim/config", json=change) as response:
        config = await response.json()
    assert config["gateway_delay"] == 0.5
    assert config["callback_retry_delays"] == [1.0, 2.0]
    assert simulator.timings.callback_timeout == 3.0
    assert simulator.timings.mo_retry_delays == FAST.mo_retry_delays


# ---- status queries ----------------------------------------------------------------------------

Query = Callable[[aiohttp.ClientSession, Simulator, str], Any]


async def rest_query(session: aiohttp.ClientSession, simulator: Simulator, message_id: str) -> Any:
    url = simulator.base_url("rest") + f"/message/{message_id}"
    async with session.get(url, headers=rest_headers()) as response:
        assert response.status == 200
        return (await response.json())["data"]


async def test_rest_query(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    message_id = await rest_send(session, simulator, "2799900001", clientMessageId="c-2")
    assert await rest_query(session, simulator, message_id) == {
        "apiMessageId": message_id,
        "clientMessageId": "c-2",
        "messageStatus": "004",
        "description": "Received by recipient",
        "charge": 1,
    }
    assert await rest_query(session, simulator, "f" * 32) == {
        "apiMessageId": "f" * 32,
        "messageStatus": "001",
        "description": "Message unknown",
    }


async def test_http_querymsg(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.timings = Timings(gateway_delay=60)
    message_id = await http_send(session, simulator, "2799900001", climsgid="c-3")
    for params in ({"apimsgid": message_id}, {"climsgid": "c-3"}):
        async with session.get(
            simulator.base_url("http") + "/http/querymsg", params=http_credentials(**params)
        ) as response:
            assert await response.text() == f"ID: {message_id} Status: 002"
    async with session.post(
        simulator.base_url("http") + "/http/querymsg", data=http_credentials(apimsgid="0" * 32)
    ) as response:
        assert await response.text() == f"ID: {'0' * 32} Status: 001"


async def test_one_api_query(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    message_id = await one_api_send(session, simulator, "2799998009")
    headers = platform_headers()
    async with session.get(
        simulator.base_url("platform") + f"/v1/message/{message_id}", headers=headers
    ) as response:
        answer = await response.json()
    assert answer["sms"]["status"] == "ROUTING_ERROR"
    assert isinstance(answer["sms"]["timestamp"], int)
    async with session.get(
        simulator.base_url("platform") + "/v1/message/" + "0" * 32, headers=headers
    ) as response:
        assert (await response.json())["status"] == "UNKNOWN"
