"""The legacy REST API under /rest: bodies, headers, batches, charging, stop, coverage."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from xml.etree.ElementTree import fromstring

import aiohttp
import pytest

from clickatell_relay.simulator import Simulator

from .conftest import API_KEY, HEX32, dumps, rest_headers

DOC = "https://www.clickatell.com/help/apidocs/error/{}.htm"


def legacy_error(code: str, description: str) -> dict[str, Any]:
    return {"code": code, "description": description, "documentation": DOC.format(code)}


async def post_message(
    session: aiohttp.ClientSession,
    simulator: Simulator,
    payload: dict[str, Any],
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    async with session.post(
        simulator.base_url("rest") + "/message",
        data=dumps(payload),
        headers=headers or rest_headers(),
    ) as response:
        return response.status, await response.json()


# ---- happy paths ------------------------------------------------------------


async def test_send_json_answers_202_with_every_message(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    status, body = await post_message(
        session, simulator, {"text": "Test Message", "to": ["2799900001", "2799900002"]}
    )
    assert status == 202
    ids = [message.api_message_id for message in simulator.messages]
    assert body == {
        "data": {
            "message": [
                {"accepted": True, "to": "2799900001", "apiMessageId": ids[0]},
                {"accepted": True, "to": "2799900002", "apiMessageId": ids[1]},
            ]
        }
    }
    assert all(re.fullmatch(HEX32, value) for value in ids)
    assert ids[0] != ids[1]
    first = simulator.messages[0]
    assert (first.to, first.text, first.flavour, first.parts, first.encoding) == (
        "2799900001",
        "Test Message",
        "rest",
        1,
        "GSM-7",
    )
    assert first.status == "004"
    assert first.charge == Decimal(1)
    assert simulator.account.balance == Decimal(98)


async def test_send_xml_answers_in_xml(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    body = (
        '<?xml version="1.0"?><request><data><text>Test Message</text>'
        "<to>2799900001</to><to>2799999105</to></data></request>"
    )
    async with session.post(
        simulator.base_url("rest") + "/message", data=body, headers=rest_headers("xml")
    ) as response:
        assert response.status == 207
        assert response.content_type == "application/xml"
        text = await response.text()
    message_id = simulator.messages[0].api_message_id
    assert text == (
        '<?xml version="1.0"?>\n<response><data>'
        f"<message><accepted>1</accepted><to>2799900001</to><apiMessageId>{message_id}"
        "</apiMessageId></message>"
        "<message><accepted>0</accepted><to>2799999105</to><apiMessageId />"
        "<error><code>105</code><description>Invalid destination address</description>"
        f"<documentation>{DOC.format('105')}</documentation></error></message>"
        "</data></response>"
    )


async def test_json_request_may_ask_for_an_xml_answer(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    headers = rest_headers(Accept="application/xml")
    async with session.post(
        simulator.base_url("rest") + "/message",
        data=dumps({"text": "Hi", "to": ["2799900001"]}),
        headers=headers,
    ) as response:
        root = fromstring(await response.text())  # noqa: S314 - our own loopback answer
    assert root.tag == "response"
    assert root.findtext("data/message/accepted") == "1"


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("json", '{"data": {"balance": "100.00"}}'),
        (
            "xml",
            '<?xml version="1.0"?>\n<response><data><balance>100.00</balance></data></response>',
        ),
    ],
)
async def test_balance(
    simulator: Simulator, session: aiohttp.ClientSession, fmt: str, expected: str
) -> None:
    async with session.get(
        simulator.base_url("rest") + "/account/balance", headers=rest_headers(fmt)
    ) as response:
        assert response.status == 200
        assert await response.text() == expected


async def test_balance_shows_two_decimals(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.account.balance = Decimal("300.5")
    async with session.get(
        simulator.base_url("rest") + "/account/balance", headers=rest_headers()
    ) as response:
        assert await response.json() == {"data": {"balance": "300.50"}}


@pytest.mark.parametrize(
    ("number", "expected"),
    [
        ("27831234567", {"routable": True, "destination": "27831234567", "minimumCharge": 1}),
        ("27999123456", {"routable": True, "destination": "27999123456", "minimumCharge": 0.33}),
        ("19995550123", {"routable": True, "destination": "19995550123", "minimumCharge": 0.33}),
        ("2799999114", {"routable": False, "destination": "2799999114"}),
        ("2799999121", {"routable": False, "destination": "2799999121"}),
        ("2799999128", {"routable": False, "destination": "2799999128"}),
    ],
)
async def test_coverage(
    simulator: Simulator, session: aiohttp.ClientSession, number: str, expected: dict[str, Any]
) -> None:
    async with session.get(
        simulator.base_url("rest") + f"/coverage/{number}", headers=rest_headers()
    ) as response:
        assert response.status == 200
        assert await response.json() == {"data": expected}


async def test_coverage_xml_and_invalid_number(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(
        simulator.base_url("rest") + "/coverage/27999123456", headers=rest_headers("xml")
    ) as response:
        assert await response.text() == (
            '<?xml version="1.0"?>\n<response><data><routable>1</routable>'
            "<destination>27999123456</destination><minimumCharge>0.33</minimumCharge>"
            "</data></response>"
        )
    async with session.get(
        simulator.base_url("rest") + "/coverage/12345", headers=rest_headers()
    ) as response:
        assert response.status == 400
        assert await response.json() == {
            "error": legacy_error("105", "Invalid destination address")
        }


# ---- header validation ------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "status", "code", "description"),
    [
        ({"X-Version": None}, 400, "165", "Invalid or no version header specified"),
        ({"X-Version": "2"}, 400, "165", "Invalid or no version header specified"),
        ({"Accept": "text/html"}, 400, "166", "Invalid accept header specified"),
        ({"Content-Type": None}, 400, "167", "Invalid or no content-type specified"),
        ({"Content-Type": "text/plain"}, 400, "167", "Invalid or no content-type specified"),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            400,
            "167",
            "Invalid or no content-type specified",
        ),
        ({"Authorization": None}, 401, "001", "Authentication failed"),
        ({"Authorization": "Bearer wrong"}, 401, "001", "Authentication failed"),
        ({"Authorization": API_KEY}, 401, "001", "Authentication failed"),
    ],
)
async def test_header_checks(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    change: dict[str, str | None],
    status: int,
    code: str,
    description: str,
) -> None:
    headers = rest_headers()
    for name, value in change.items():
        if value is None:
            del headers[name]
        else:
            headers[name] = value
    async with session.post(
        simulator.base_url("rest") + "/message",
        data=dumps({"text": "Hi", "to": ["2799900001"]}),
        headers=headers,
        skip_auto_headers=["Content-Type"],
    ) as response:
        assert response.status == status
        assert await response.json() == {"error": legacy_error(code, description)}
    assert simulator.messages == []
    assert simulator.account.balance == Decimal(100)


async def test_ip_lockdown(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.account.ip_lockdown = True
    status, body = await post_message(session, simulator, {"text": "Hi", "to": ["2799900001"]})
    assert status == 401
    assert body == {"error": legacy_error("007", "IP lockdown violation")}


async def test_absent_accept_means_json_and_star_is_accepted(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    headers = rest_headers()
    del headers["Accept"]
    url = simulator.base_url("rest") + "/account/balance"
    async with session.get(url, headers=headers, skip_auto_headers=["Accept"]) as response:
        assert response.status == 200
        assert response.content_type == "application/json"
    assert "Accept" not in simulator.requests[-1].headers
    async with session.get(url, headers=rest_headers(Accept="*/*")) as response:
        assert await response.json() == {"data": {"balance": "100.00"}}


async def test_error_follows_accept_xml(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    headers = rest_headers("xml", Authorization="Bearer nope")
    async with session.get(
        simulator.base_url("rest") + "/account/balance", headers=headers
    ) as response:
        assert response.status == 401
        assert await response.text() == (
            '<?xml version="1.0"?>\n<response><error><code>001</code>'
            "<description>Authentication failed</description>"
            f"<documentation>{DOC.format('001')}</documentation></error></response>"
        )


async def test_unknown_resource_and_wrong_method(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    base = simulator.base_url("rest")
    async with session.get(base + "/nothing", headers=rest_headers()) as response:
        assert response.status == 404
        assert (await response.json())["error"]["code"] == "161"
    async with session.post(
        base + "/coverage/27831234567", data="{}", headers=rest_headers()
    ) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET"
        assert await response.json() == {
            "error": legacy_error("160", "HTTP method is not supported on this resource")
        }


# ---- bodies and options -----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fmt"),
    [
        ("{not json", "json"),
        ("[1, 2]", "json"),
        ("<request><data><text>Hi</text>", "xml"),
        ('<!DOCTYPE x [<!ENTITY a "b">]><request><data/></request>', "xml"),
        ("<other><data><text>Hi</text></data></other>", "xml"),
    ],
)
async def test_malformed_body_is_100(
    simulator: Simulator, session: aiohttp.ClientSession, body: str, fmt: str
) -> None:
    async with session.post(
        simulator.base_url("rest") + "/message", data=body, headers=rest_headers(fmt)
    ) as response:
        assert response.status == 400
        root_code = (
            (await response.json())["error"]["code"]
            if fmt == "json"
            else fromstring(await response.text()).findtext("error/code")  # noqa: S314
        )
        assert root_code == "100"


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        ({"to": ["2799900001"]}, "101"),
        ({"text": "Hi"}, "101"),
        ({"text": "", "to": ["2799900001"]}, "101"),
        ({"text": "Hi", "to": "2799900001"}, "101"),
        ({"text": "Hi", "to": [2799900001]}, "101"),
        ({"text": "Hi", "to": ["2799900001"], "unknownOption": 1}, "101"),
        ({"text": "Hi", "to": ["2799900001"], "unicode": True}, "101"),
        ({"text": "Hi", "to": ["2799900001"], "unicode": 2}, "101"),
        ({"text": "Hi", "to": ["2799900001"], "callback": 8}, "101"),
        ({"text": "Hi", "to": ["2799900001"], "userPriorityQueue": 0}, "101"),
        ({"text": "Hi", "to": ["2799900001"], "validityPeriod": "25"}, "101"),
        ({"text": "Hi", "to": ["2799900001"], "maxCredits": -1}, "101"),
        ({"text": "Hi", "to": ["2799900001"], "scheduledDeliveryTime": "tomorrow"}, "101"),
        (
            {"text": "Hi", "to": ["2799900001"], "scheduledDeliveryTime": "2030-01-01T10:00:00"},
            "101",
        ),
        ({"text": "Hi", "to": ["2799900001"], "clientMessageId": "has space"}, "120"),
        ({"text": "Hi", "to": ["2799900001"], "udh": "0605040B8423F"}, "102"),
        ({"text": "Hi", "to": ["2799900001"], "from": "+27831234567"}, "106"),
        ({"text": "Hi", "to": ["2799900001"], "binary": 1}, "101"),
        ({"text": "x" * 161, "to": ["2799900001"], "maxMessageParts": 1}, "113"),
        ({"text": "x" * 153 * 35 + "x", "to": ["2799900001"]}, "113"),
    ],
)
async def test_bad_parameters(
    simulator: Simulator, session: aiohttp.ClientSession, payload: dict[str, Any], code: str
) -> None:
    status, body = await post_message(session, simulator, payload)
    assert status == 400
    assert body["error"]["code"] == code
    assert simulator.messages == []


async def test_every_seed_option_is_accepted_and_recorded(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    options = {
        "from": "27831234567",
        "clientMessageId": "2993b6b548",
        "validityPeriod": 25,
        "unicode": 0,
        "binary": 0,
        "escalate": 1,
        "mo": 1,
        "bypassDNCCheck": 1,
        "udh": "0605040B8423F0",
        "maxMessageParts": 3,
        "callback": 7,
        "userPriorityQueue": 1,
        "maxCredits": 1.5,
        "type": "SMS_FLASH",
        "requiredFeatures": 8,
    }
    status, _ = await post_message(
        session, simulator, {"text": "Hi", "to": ["2799900001"], **options}
    )
    assert status == 202
    message = simulator.messages[0]
    assert message.options == options
    assert message.client_message_id == "2993b6b548"


async def test_xml_options_are_text(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    body = (
        "<request><data><text>Hi</text><to>2799900001</to><unicode>1</unicode>"
        "<callback>3</callback><clientMessageId>abc</clientMessageId></data></request>"
    )
    async with session.post(
        simulator.base_url("rest") + "/message", data=body, headers=rest_headers("xml")
    ) as response:
        assert response.status == 202
    message = simulator.messages[0]
    assert message.options == {"unicode": "1", "callback": "3", "clientMessageId": "abc"}
    assert message.encoding == "UCS-2"


async def test_too_many_recipients(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.account.balance = Decimal(10_000)
    numbers = [f"27831{index:06d}" for index in range(601)]
    status, body = await post_message(session, simulator, {"text": "Hi", "to": numbers})
    assert status == 400
    assert body["error"]["code"] == "101"
    status, _ = await post_message(session, simulator, {"text": "Hi", "to": numbers[:600]})
    assert status == 202
    assert len(simulator.messages) == 600


# ---- encodings and parts ----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "options", "parts", "encoding"),
    [
        ("a" * 160, {}, 1, "GSM-7"),
        ("a" * 161, {}, 2, "GSM-7"),
        ("a" * 306, {}, 2, "GSM-7"),
        ("a" * 307, {}, 3, "GSM-7"),
        ("€" * 80, {}, 1, "GSM-7"),
        ("€" * 81, {}, 2, "GSM-7"),
        ("ж" * 70, {"unicode": 1}, 1, "UCS-2"),
        ("ж" * 71, {"unicode": 1}, 2, "UCS-2"),
        ("ж" * 134, {"unicode": 1}, 2, "UCS-2"),
        ("ж" * 135, {"unicode": 1}, 3, "UCS-2"),
        ("ab" * 140, {"binary": 1}, 1, "8-bit"),
        ("ab" * 141, {"binary": 1}, 2, "8-bit"),
    ],
)
async def test_parts_are_counted_and_charged(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    text: str,
    options: dict[str, int],
    parts: int,
    encoding: str,
) -> None:
    status, _ = await post_message(
        session, simulator, {"text": text, "to": ["27831234567"], **options}
    )
    assert status == 202
    message = simulator.messages[0]
    assert (message.parts, message.encoding, message.charge) == (parts, encoding, Decimal(parts))
    assert simulator.account.balance == Decimal(100 - parts)


# ---- batches and charging ---------------------------------------------------


@pytest.mark.parametrize(
    ("numbers", "status", "codes"),
    [
        (["2799900001", "2799900002"], 202, [None, None]),
        (["2799900001", "2799999121"], 207, [None, "121"]),
        (["2799999105", "123"], 400, ["105", "105"]),
        (["2799999114", "2799999121", "2799999122"], 410, ["114", "121", "122"]),
        (["2799999128", "2799999250"], 410, ["128", "250"]),
        (["2799999105", "2799999250"], 410, ["105", "250"]),
        (["27 83 123", "+27831234567", "278312345678901234"], 400, ["105", "105", "105"]),
    ],
)
async def test_batches(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    numbers: list[str],
    status: int,
    codes: list[str | None],
) -> None:
    answered, body = await post_message(session, simulator, {"text": "Hi", "to": numbers})
    assert answered == status
    listed = body["data"]["message"]
    assert [entry["to"] for entry in listed] == numbers
    assert [entry.get("error", {}).get("code") for entry in listed] == codes
    assert [entry["accepted"] for entry in listed] == [code is None for code in codes]
    assert all(entry["apiMessageId"] == "" for entry in listed if not entry["accepted"])
    assert len(simulator.messages) == codes.count(None)


async def test_test_ranges_cost_a_third(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    status, _ = await post_message(
        session, simulator, {"text": "Hi", "to": ["27999123456", "19995550123", "27831234567"]}
    )
    assert status == 202
    charges = [message.charge for message in simulator.messages]
    assert charges == [Decimal(1) / 3, Decimal(1) / 3, Decimal(1)]
    async with session.get(
        simulator.base_url("rest") + "/account/balance", headers=rest_headers()
    ) as response:
        assert await response.json() == {"data": {"balance": "98.33"}}


async def test_no_credit_is_402_and_charges_nothing(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.account.balance = Decimal("1.5")
    status, body = await post_message(
        session, simulator, {"text": "Hi", "to": ["27831234567", "27831234568"]}
    )
    assert status == 402
    assert body == {"error": legacy_error("301", "No credit left")}
    assert simulator.messages == []
    assert simulator.account.balance == Decimal("1.5")
    # Refused recipients cost nothing, so one good number and one bad one fit.
    status, _ = await post_message(
        session, simulator, {"text": "Hi", "to": ["27831234567", "2799999121"]}
    )
    assert status == 207
    assert simulator.account.balance == Decimal("0.5")


# ---- scheduled messages and stop --------------------------------------------


def in_an_hour(fmt: str = "%Y-%m-%dT%H:%M:%SZ") -> str:
    return (datetime.now(UTC) + timedelta(hours=1)).strftime(fmt)


@pytest.mark.parametrize("fmt", ["%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S+0000"])
async def test_scheduled_message_can_be_stopped_and_is_refunded(
    simulator: Simulator, session: aiohttp.ClientSession, fmt: str
) -> None:
    when = in_an_hour(fmt)
    status, body = await post_message(
        session, simulator, {"text": "Later", "to": ["27831234567"], "scheduledDeliveryTime": when}
    )
    assert status == 202
    message = simulator.messages[0]
    assert message.status == "011"  # queued for later delivery
    assert message.scheduled_for is not None
    assert message.scheduled_for.strftime(fmt) == when
    assert simulator.account.balance == Decimal(99)
    message_id = body["data"]["message"][0]["apiMessageId"]
    url = simulator.base_url("rest") + f"/message/{message_id}"
    async with session.delete(url, headers=rest_headers()) as response:
        assert response.status == 200
        assert await response.json() == {
            "data": {
                "messageStatus": "006",
                "description": "User cancelled message delivery",
                "apiMessageId": message_id,
            }
        }
    assert simulator.messages[0].status == "006"
    assert simulator.account.balance == Decimal(100)
    async with session.delete(url, headers=rest_headers("xml")) as response:
        assert await response.text() == (
            '<?xml version="1.0"?>\n<response><data><messageStatus>006</messageStatus>'
            "<description>User cancelled message delivery</description>"
            f"<apiMessageId>{message_id}</apiMessageId></data></response>"
        )
    assert simulator.account.balance == Decimal(100)


async def test_stop_of_a_delivered_message_keeps_004(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    _, body = await post_message(session, simulator, {"text": "Now", "to": ["27831234567"]})
    message_id = body["data"]["message"][0]["apiMessageId"]
    async with session.delete(
        simulator.base_url("rest") + f"/message/{message_id}", headers=rest_headers()
    ) as response:
        assert response.status == 200
        assert (await response.json())["data"]["messageStatus"] == "004"
    assert simulator.account.balance == Decimal(99)


async def test_stop_of_an_unknown_message_is_404(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.delete(
        simulator.base_url("rest") + "/message/" + "0" * 32, headers=rest_headers()
    ) as response:
        assert response.status == 404
        assert await response.json() == {"error": legacy_error("161", "Resource does not exist")}


async def test_a_past_schedule_sends_at_once(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    status, _ = await post_message(
        session,
        simulator,
        {"text": "Hi", "to": ["27831234567"], "scheduledDeliveryTime": "2015-06-30T14:00:00Z"},
    )
    assert status == 202
    assert simulator.messages[0].status == "004"


async def test_a_schedule_beyond_seven_days_is_refused(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    when = (datetime.now(UTC) + timedelta(days=8)).strftime("%Y-%m-%dT%H:%M:%SZ")
    status, body = await post_message(
        session, simulator, {"text": "Hi", "to": ["27831234567"], "scheduledDeliveryTime": when}
    )
    assert status == 400
    assert body["error"]["code"] == "101"
