"""Hostile input on the webhook: an answer Clickatell understands, a debug line, no event.

What each gets (docs/home-assistant.md, "Answers to callbacks"): 405 a wrong
method, 401 wrong or missing basic authentication, 413 over 64 KiB, 400
anything that is not a callback; 200 a repeat, a status of a message this
entry never sent, an empty request.
"""

import base64
import json
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.clickatell_sms.aioclickatell import MAX_CALLBACK_BYTES, ApiFlavour
from custom_components.clickatell_sms.const import (
    CONF_CALLBACK_PASSWORD,
    CONF_CALLBACK_USERNAME,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_STATUS,
)

from .conftest import ALICE
from .two_way import (
    CALLBACK_PASSWORD,
    CALLBACK_USERNAME,
    TWO_WAY_NUMBER,
    message_ids,
    send_message,
)

FORM = "application/x-www-form-urlencoded"


def basic(username: str, password: str) -> dict[str, str]:
    pair = f"{username}:{password}".encode()
    return {"Authorization": "Basic " + base64.b64encode(pair).decode()}


def legacy_status(message_id: str, status: str = "004") -> str:
    return f"apiMsgId={message_id}&cliMsgId=&to={ALICE}&timestamp=1218008129&status={status}"


def one_api_status(message_id: str, status: str = "DEVICE_ACK") -> dict[str, Any]:
    entry = {"messageId": message_id, "timestamp": 1506607698000, "status": status}
    return {"integrationId": "x", "event": {"messageStatusUpdate": [entry]}}


@pytest.fixture
async def events(hass: HomeAssistant) -> AsyncIterator[list[Event]]:
    """Every event of the integration; each test ends checking there is none it did not expect."""
    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    captured: list[Event] = []
    yield captured
    await hass.async_block_till_done()
    assert [*statuses, *received] == captured


@pytest.fixture(autouse=True)
def quiet(hass: HomeAssistant, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Nothing above info, from any logger, while the test runs: no warning, error, exception."""
    caplog.set_level(logging.DEBUG)
    yield
    loud = [record for record in caplog.records if record.levelno > logging.INFO]
    assert not loud, [record.getMessage() for record in loud]


def refused(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == "custom_components.clickatell_sms"
        and record.levelno == logging.DEBUG
        and "callback" in record.getMessage()
    ]


@pytest.mark.parametrize(
    ("api", "method", "body"),
    [
        (ApiFlavour.PLATFORM, "GET", json.dumps(one_api_status("x"))),
        (ApiFlavour.PLATFORM, "PUT", json.dumps(one_api_status("x"))),
        (ApiFlavour.REST, "PUT", legacy_status("x")),
    ],
)
@pytest.mark.usefixtures("events")
async def test_a_method_clickatell_does_not_use(
    http_client: TestClient,
    webhook_path: str,
    caplog: pytest.LogCaptureFixture,
    method: str,
    body: str,
) -> None:
    answer = await http_client.request(method, webhook_path, data=body)

    assert answer.status == 405
    assert refused(caplog) == ["Refused a callback to Clickatell: method (405)"]


@pytest.mark.parametrize(
    "options",
    [{CONF_CALLBACK_USERNAME: CALLBACK_USERNAME, CONF_CALLBACK_PASSWORD: CALLBACK_PASSWORD}],
)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        basic(CALLBACK_USERNAME, "wrong"),
        basic("someone", CALLBACK_PASSWORD),
        basic(CALLBACK_USERNAME, CALLBACK_PASSWORD + "x"),
        {"Authorization": "Basic !!!not base64"},
        {"Authorization": "Basic " + base64.b64encode(b"no colon").decode()},
        {"Authorization": "Bearer " + CALLBACK_PASSWORD},
        {"Authorization": "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode()},
    ],
    ids=[
        "none",
        "wrong password",
        "wrong user",
        "longer password",
        "not base64",
        "no colon",
        "bearer",
        "not utf-8",
    ],
)
async def test_wrong_basic_authentication(
    hass: HomeAssistant,
    http_client: TestClient,
    webhook_path: str,
    events: list[Event],
    caplog: pytest.LogCaptureFixture,
    headers: dict[str, str],
) -> None:
    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    message_id = message_ids(await send_message(hass, ["Alice"]))[0]

    answer = await http_client.post(
        webhook_path, data=legacy_status(message_id), headers={"Content-Type": FORM, **headers}
    )

    assert answer.status == 401
    assert answer.headers["WWW-Authenticate"] == 'Basic realm="Clickatell SMS"'
    assert refused(caplog) == ["Refused a callback to Clickatell: authentication (401)"]

    answer = await http_client.post(
        webhook_path,
        data=legacy_status(message_id),
        headers={"Content-Type": FORM, **basic(CALLBACK_USERNAME, CALLBACK_PASSWORD)},
    )
    assert answer.status == 200
    await hass.async_block_till_done()
    assert [event.data["status"] for event in statuses] == ["delivered"]
    events.extend(statuses)


@pytest.mark.parametrize(
    ("api", "body", "content_type"),
    [
        (ApiFlavour.REST, b"hello", "text/plain"),
        (ApiFlavour.REST, b"apiMsgId=1&status=999", FORM),
        (ApiFlavour.REST, b"apiMsgId=1&status=004&charge=-1", FORM),
        (ApiFlavour.REST, b"moMsgId=1&from=27831234567&to=1&text=%FF&charset=UTF-8", FORM),
        (ApiFlavour.REST, b"{not json", "application/json"),
        (ApiFlavour.REST, b"<callback><apiMsgId>1</apiMsgId>", "text/xml"),
        (
            ApiFlavour.HTTP,
            b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><callback>&a;</callback>',
            "text/xml",
        ),
        (ApiFlavour.PLATFORM, b"[]", "application/json"),
        (ApiFlavour.PLATFORM, b"\xff\xfe", "application/json"),
        (ApiFlavour.PLATFORM, b"[" * 30_000 + b"]" * 30_000, "application/json"),
        (ApiFlavour.PLATFORM, b'{"event": {"messageStatusUpdate": "x"}}', "application/json"),
        (ApiFlavour.PLATFORM, b'{"messageId": "1", "status": "NOPE"}', "application/json"),
    ],
    ids=[
        "text",
        "unknown status",
        "negative charge",
        "not utf-8",
        "broken json",
        "broken xml",
        "xml entity",
        "json array",
        "binary",
        "deep nesting",
        "wrong type",
        "platform unknown status",
    ],
)
@pytest.mark.usefixtures("events")
async def test_garbage(
    http_client: TestClient,
    webhook_path: str,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
) -> None:
    """Not a callback: 400, so that Clickatell retries, should it be a format of its own."""
    answer = await http_client.post(webhook_path, data=body, headers={"Content-Type": content_type})

    assert answer.status == 400
    [line] = refused(caplog)
    assert line.startswith("Refused a callback to Clickatell: Invalid Clickatell")


@pytest.mark.usefixtures("events")
async def test_oversize(
    http_client: TestClient, webhook_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Over 64 KiB: 413, read no further; 64 KiB itself is read (and refused as garbage)."""
    answer = await http_client.post(webhook_path, data=b"a" * (MAX_CALLBACK_BYTES + 1))
    assert answer.status == 413

    async def chunks() -> AsyncIterator[bytes]:
        """No Content-Length: the size is only known by reading."""
        for _ in range(1000):
            yield b"a" * 1024

    answer = await http_client.post(webhook_path, data=chunks())
    assert answer.status == 413

    answer = await http_client.post(webhook_path, data=b"a" * MAX_CALLBACK_BYTES)
    assert answer.status == 400
    assert refused(caplog)[:2] == ["Refused a callback to Clickatell: size (413)"] * 2


async def test_a_replayed_status_fires_once(
    hass: HomeAssistant, http_client: TestClient, webhook_path: str, events: list[Event]
) -> None:
    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    message_id = message_ids(await send_message(hass, ["Alice"]))[0]

    for _ in range(3):
        answer = await http_client.post(
            webhook_path, data=legacy_status(message_id), headers={"Content-Type": FORM}
        )
        assert answer.status == 200
    await hass.async_block_till_done()

    assert [event.data["status"] for event in statuses] == ["delivered"]
    events.extend(statuses)


async def test_a_stale_status_after_the_final_one_fires_nothing(
    hass: HomeAssistant, http_client: TestClient, webhook_path: str, events: list[Event]
) -> None:
    """Callbacks may come out of order: "delivered to gateway" after "delivered" is old news."""
    statuses = async_capture_events(hass, EVENT_MESSAGE_STATUS)
    message_id = message_ids(await send_message(hass, ["Alice"]))[0]

    for status in ("004", "003"):
        answer = await http_client.post(
            webhook_path, data=legacy_status(message_id, status), headers={"Content-Type": FORM}
        )
        assert answer.status == 200
    await hass.async_block_till_done()

    assert [event.data["status"] for event in statuses] == ["delivered"]
    assert hass.states.get("event.alice_delivery_status").attributes["event_type"] == "delivered"
    events.extend(statuses)


async def test_a_replayed_reply_fires_once(
    hass: HomeAssistant, http_client: TestClient, webhook_path: str, events: list[Event]
) -> None:
    received = async_capture_events(hass, EVENT_MESSAGE_RECEIVED)
    reply = f"moMsgId=abc123&from={ALICE}&to={TWO_WAY_NUMBER}&text=Yes&charset=ISO-8859-1"

    for _ in range(2):
        answer = await http_client.get(f"{webhook_path}?{reply}")
        assert answer.status == 200
    await hass.async_block_till_done()

    assert len(received) == 1
    events.extend(received)


@pytest.mark.usefixtures("events")
async def test_a_status_of_a_message_this_entry_never_sent(
    http_client: TestClient, webhook_path: str, caplog: pytest.LogCaptureFixture
) -> None:
    """200: Clickatell's retries would not make it ours."""
    answer = await http_client.post(
        webhook_path, data=legacy_status("f" * 32), headers={"Content-Type": FORM}
    )

    assert answer.status == 200
    assert "Status delivered for a message this entry did not send" in caplog.text


@pytest.mark.parametrize(
    ("api", "method", "body"),
    [
        (ApiFlavour.REST, "GET", b""),
        (ApiFlavour.REST, "POST", b" \r\n"),
        (ApiFlavour.PLATFORM, "POST", b""),
        # One API events the client does not read (a location, a picture).
        (ApiFlavour.PLATFORM, "POST", b'{"integrationId": "x", "event": {"moLocation": [{}]}}'),
    ],
)
@pytest.mark.usefixtures("events")
async def test_nothing_to_do(
    http_client: TestClient, webhook_path: str, method: str, body: bytes
) -> None:
    """An empty request (someone checking the URL), or only events of other kinds: 200."""
    answer = await http_client.request(method, webhook_path, data=body)

    assert answer.status == 200
