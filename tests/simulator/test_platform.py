"""The Platform: the One API (/v1) and seed 003's /messages, in JSON and XML."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from clickatell_relay.simulator import Simulator

from .conftest import API_KEY, dumps, platform_headers

ONE_API_DOC = "https://docs.clickatell.com/channels/one-api/error-codes/#{}"


def one_api_error(code: int, description: str) -> dict[str, Any]:
    return {"code": code, "description": description, "documentation": ONE_API_DOC.format(code)}


def sms(to: str, content: str = "Hello", **fields: Any) -> dict[str, Any]:
    return {"channel": "sms", "to": to, "content": content, **fields}


async def one_api_send(
    session: aiohttp.ClientSession,
    simulator: Simulator,
    payload: Any,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    async with session.post(
        simulator.base_url("platform") + "/v1/message",
        data=dumps(payload),
        headers=headers or platform_headers(),
    ) as response:
        return response.status, await response.json()


# ---- One API ------------------------------------------------------------------


async def test_one_api_send(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    status, body = await one_api_send(
        session,
        simulator,
        {"messages": [sms("2799900001", clientMessageId="c-1"), sms("2799999105")]},
    )
    assert status == 207
    assert simulator.message_count == 1  # the refused recipient is not a message
    message = simulator.messages[0]
    assert body == {
        "messages": [
            {"apiMessageId": message.api_message_id, "accepted": True, "to": "2799900001"},
            {
                "apiMessageId": None,
                "accepted": False,
                "to": "2799999105",
                "error": one_api_error(25, "Invalid recipient address"),
            },
        ],
        "error": None,
    }
    assert (message.flavour, message.text, message.client_message_id) == (
        "platform",
        "Hello",
        "c-1",
    )
    assert message.options == {"channel": "sms", "clientMessageId": "c-1"}


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("2799999105", 25),
        ("2799999114", 27),
        ("2799999121", 25),
        ("2799999122", 26),
        ("2799999128", 27),
        ("2799999250", 26),
        ("+27831234567", 25),
    ],
)
async def test_one_api_recipient_codes(
    simulator: Simulator, session: aiohttp.ClientSession, number: str, code: int
) -> None:
    status, body = await one_api_send(session, simulator, {"messages": [sms(number)]})
    assert status == (400 if code == 25 and number != "2799999121" else 410)
    assert body["messages"][0]["error"]["code"] == code
    assert body["error"] is None


async def test_one_api_balance(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.account.balance = Decimal("300.5")
    async with session.get(
        simulator.base_url("platform") + "/v1/balance", headers={"Authorization": API_KEY}
    ) as response:
        assert response.status == 200
        assert await response.text() == '{"currency": "USD", "balance": 300.5}'


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        (
            {"Authorization": f"Bearer {API_KEY}"},
            401,
            (1, "Invalid or missing Integration API Key"),
        ),
        ({"Authorization": "wrong"}, 401, (1, "Invalid or missing Integration API Key")),
        ({"Content-Type": "application/xml"}, 400, (30, "Content type not supported")),
        ({"Content-Type": "text/plain"}, 400, (30, "Content type not supported")),
        ({"Accept": "application/xml"}, 400, (30, "Content type not supported")),
    ],
)
async def test_one_api_header_checks(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    headers: dict[str, str],
    status: int,
    error: tuple[int, str],
) -> None:
    answered, body = await one_api_send(
        session, simulator, {"messages": [sms("2799900001")]}, platform_headers(**headers)
    )
    assert answered == status
    assert body == {"messages": [], "error": one_api_error(*error)}
    assert simulator.messages == []


async def test_one_api_lockdown_and_balance_errors(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.account.ip_lockdown = True
    async with session.get(
        simulator.base_url("platform") + "/v1/balance", headers={"Authorization": API_KEY}
    ) as response:
        assert response.status == 401
        assert await response.json() == {"error": one_api_error(7, "IP address not approved")}


async def test_one_api_missing_key(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.get(simulator.base_url("platform") + "/v1/balance") as response:
        assert response.status == 401
        assert (await response.json())["error"]["code"] == 1


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        ("not json", 400, 21),
        ({"messages": []}, 400, 23),
        ({"message": [sms("2799900001")]}, 400, 23),
        ({"messages": [{"to": "2799900001", "content": "Hi"}]}, 400, 23),
        ({"messages": [sms("2799900001", content="")]}, 400, 23),
        ({"messages": [sms("2799900001", binary=1)]}, 400, 23),
        ({"messages": [sms("2799900001", binary=True)]}, 400, 23),
        ({"messages": [sms("2799900001", clientMessageId="a b")]}, 400, 23),
        ({"messages": [sms("2799900001", unicode=1)]}, 400, 23),
        ({"messages": [sms("2799900001", content="x" * 153 * 36)]}, 400, 24),
        ({"messages": [sms(f"27831{index:06d}") for index in range(201)]}, 400, 22),
    ],
)
async def test_one_api_bad_requests(
    simulator: Simulator, session: aiohttp.ClientSession, payload: Any, status: int, code: int
) -> None:
    async with session.post(
        simulator.base_url("platform") + "/v1/message",
        data=payload if isinstance(payload, str) else dumps(payload),
        headers=platform_headers(),
    ) as response:
        assert response.status == status
        body = await response.json()
    assert body["messages"] == []
    assert body["error"]["code"] == code
    assert simulator.messages == []


async def test_one_api_two_hundred_is_the_limit(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    status, body = await one_api_send(
        session, simulator, {"messages": [sms(f"279991{index:05d}") for index in range(200)]}
    )
    assert status == 202
    assert len(body["messages"]) == 200


async def test_one_api_unknown_resource_and_method(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    base = simulator.base_url("platform")
    headers = {"Authorization": API_KEY}
    async with session.get(base + "/v1/nothing", headers=headers) as response:
        assert response.status == 404
        assert await response.json() == {"error": one_api_error(41, "Resource does not exist")}
    async with session.get(base + "/v1/message", headers=headers) as response:
        assert response.status == 405
        assert await response.json() == {
            "messages": [],
            "error": one_api_error(42, "Method not allowed"),
        }


async def test_one_api_no_balance_is_20(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.account.balance = Decimal("0.5")
    status, body = await one_api_send(session, simulator, {"messages": [sms("27831234567")]})
    assert status == 402
    assert body == {"messages": [], "error": one_api_error(20, "Insufficient account balance")}
    assert simulator.account.balance == Decimal("0.5")


@pytest.mark.parametrize(
    ("content", "fields", "encoding", "parts"),
    [
        ("Hello [world]", {}, "GSM-7", 1),
        ("Привет", {}, "UCS-2", 1),
        ("😀" * 35, {}, "UCS-2", 1),
        ("😀" * 36, {}, "UCS-2", 2),
        ("0605040B8423F0", {"binary": True}, "8-bit", 1),
    ],
)
async def test_one_api_picks_the_encoding_from_the_content(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    content: str,
    fields: dict[str, Any],
    encoding: str,
    parts: int,
) -> None:
    status, _ = await one_api_send(
        session, simulator, {"messages": [sms("27831234567", content, **fields)]}
    )
    assert status == 202
    assert (simulator.messages[0].encoding, simulator.messages[0].parts) == (encoding, parts)
    assert simulator.messages[0].text == content


async def test_one_api_schedule_takes_any_offset(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    when = datetime.now(UTC) + timedelta(hours=3)
    stamp = when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S") + "+0000"
    shifted = (when + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S") + "+0200"
    status, _ = await one_api_send(
        session,
        simulator,
        {
            "messages": [
                sms("27831234567", scheduledDeliveryTime=stamp),
                sms("27831234568", scheduledDeliveryTime=shifted),
            ]
        },
    )
    assert status == 202
    first, second = simulator.messages
    assert first.status == second.status == "011"  # queued for later delivery
    assert first.scheduled_for == second.scheduled_for


# ---- seed 003 /messages -------------------------------------------------------


async def test_messages_json(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    payload = {
        "content": "Hello",
        "to": ["2799900001", "2799999122"],
        "from": "27831234567",
        "binary": False,
        "clientMessageId": "uuid-1",
        "validityPeriod": 1,
        "charset": "UTF-8",
        "userDataHeader": "0605040B8423F0",
    }
    async with session.post(
        simulator.base_url("platform") + "/messages",
        data=dumps(payload),
        headers=platform_headers(),
    ) as response:
        assert response.status == 207
        body = await response.json()
    message = simulator.messages[0]
    assert body == {
        "messages": [
            {
                "apiMessageId": message.api_message_id,
                "accepted": True,
                "to": "2799900001",
                "errorCode": None,
                "error": None,
                "errorDescription": None,
            },
            {
                "apiMessageId": None,
                "accepted": False,
                "to": "2799999122",
                "errorCode": 26,
                "error": "Recipient opted out",
                "errorDescription": "The recipient opted out or must not be contacted.",
            },
        ],
        "errorCode": None,
        "error": None,
        "errorDescription": None,
    }
    assert message.options == {key: payload[key] for key in payload if key not in ("content", "to")}


async def test_messages_xml(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    body = (
        '<?xml version="1.0"?><SendMessageRequest><Content>string</Content>'
        "<To>2799900001</To><From>380671234567</From><Binary>false</Binary>"
        "<ClientMessageId>id</ClientMessageId><ValidityPeriod>1</ValidityPeriod>"
        "<Charset>UTF-8</Charset></SendMessageRequest>"
    )
    async with session.post(
        simulator.base_url("platform") + "/messages", data=body, headers=platform_headers("xml")
    ) as response:
        assert response.status == 202
        assert response.content_type == "application/xml"
        text = await response.text()
    message = simulator.messages[0]
    assert text == (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        "<SendMessagesResponse><Messages><Message>"
        f"<ApiMessageId>{message.api_message_id}</ApiMessageId><Accepted>true</Accepted>"
        "<To>2799900001</To></Message></Messages></SendMessagesResponse>"
    )
    assert message.options == {
        "from": "380671234567",
        "binary": "false",
        "clientMessageId": "id",
        "validityPeriod": "1",
        "charset": "UTF-8",
    }


async def test_messages_xml_error(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    headers = platform_headers("xml", Authorization="nope")
    async with session.post(
        simulator.base_url("platform") + "/messages", data="<x/>", headers=headers
    ) as response:
        assert response.status == 401
        assert await response.text() == (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            "<SendMessagesResponse><Messages /><ErrorCode>1</ErrorCode>"
            "<Error>Invalid or missing Integration API Key</Error>"
            "<ErrorDescription>The Authorization header is not a valid key.</ErrorDescription>"
            "</SendMessagesResponse>"
        )


async def test_messages_json_errors(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    url = simulator.base_url("platform") + "/messages"
    too_many = {"content": "Hi", "to": [f"27831{index:06d}" for index in range(201)]}
    async with session.post(url, data=dumps(too_many), headers=platform_headers()) as response:
        assert response.status == 400
        body = await response.json()
    assert body["messages"] == []
    assert (body["errorCode"], body["error"]) == (22, "Too many messages in the request")
    async with session.post(
        url, data=dumps({"content": "Hi", "to": "2799900001"}), headers=platform_headers()
    ) as response:
        assert (await response.json())["errorCode"] == 23


async def test_http_integration_send(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    """GET /messages/http/send, the Platform's key-in-the-query form (Apprise uses it)."""
    url = simulator.base_url("platform") + "/messages/http/send"
    query = {"apiKey": API_KEY, "to": "2799900001,2799999121", "content": "Hi", "from": "Alerts"}
    async with session.get(url, params=query, headers={"Accept": "application/json"}) as response:
        status, body = response.status, await response.json()
    assert status == 207
    assert [entry["accepted"] for entry in body["messages"]] == [True, False]
    assert body["messages"][1]["errorCode"] == 25
    assert simulator.messages[-1].text == "Hi"
    assert simulator.messages[-1].options["from"] == "Alerts"
    async with session.get(url, params={**query, "apiKey": "wrong"}) as response:
        assert response.status == 401
        assert (await response.json())["errorCode"] == 1
