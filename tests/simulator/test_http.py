"""The archived HTTP API: sendmsg, getbalance, delmsg, routeCoverage; plain-text answers."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import aiohttp
import pytest

from clickatell_relay.simulator import Simulator

from .conftest import HEX32, http_credentials


async def call(
    session: aiohttp.ClientSession,
    simulator: Simulator,
    path: str,
    params: dict[str, str],
    method: str = "GET",
) -> tuple[int, str]:
    url = simulator.base_url("http") + path
    request = session.get(url, params=params) if method == "GET" else session.post(url, data=params)
    async with request as response:
        if response.status == 200:
            assert response.content_type == "text/plain"
        return response.status, await response.text()


async def test_sendmsg_get_one_number(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    status, text = await call(
        session, simulator, "/http/sendmsg", http_credentials(to="2799900001", text="Hello there")
    )
    assert status == 200
    message = simulator.messages[0]
    assert text == f"ID: {message.api_message_id}"
    assert re.fullmatch(HEX32, message.api_message_id)
    assert (message.to, message.text, message.flavour, message.encoding) == (
        "2799900001",
        "Hello there",
        "http",
        "GSM-7",
    )
    assert message.options == {}


async def test_sendmsg_post_several_numbers(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    status, text = await call(
        session,
        simulator,
        "/http/sendmsg",
        http_credentials(to="2799900001,2799999105,2799900002", text="Hi"),
        method="POST",
    )
    assert status == 200
    first, second = (message.api_message_id for message in simulator.messages)
    assert text == (
        f"ID: {first} To: 2799900001\n"
        "ERR: 105, Invalid destination address To: 2799999105\n"
        f"ID: {second} To: 2799900002"
    )
    assert simulator.requests[-1].method == "POST"
    assert "password=" in simulator.requests[-1].body


@pytest.mark.parametrize(
    ("number", "line"),
    [
        ("2799999114", "ERR: 114, Cannot route message"),
        ("2799999121", "ERR: 121, Destination mobile number blocked"),
        ("2799999122", "ERR: 122, Destination mobile opted out"),
        ("2799999128", "ERR: 128, Number delisted"),
        ("2799999250", "ERR: 250, Destination address is on DNC list - Do not contact receiver"),
        ("12345", "ERR: 105, Invalid destination address"),
    ],
)
async def test_sendmsg_one_refused_number(
    simulator: Simulator, session: aiohttp.ClientSession, number: str, line: str
) -> None:
    status, text = await call(
        session, simulator, "/http/sendmsg", http_credentials(to=number, text="Hi")
    )
    assert (status, text) == (200, line)
    assert simulator.messages == []


@pytest.mark.parametrize(
    ("params", "line"),
    [
        ({"password": "wrong"}, "ERR: 001, Authentication failed"),
        ({"user": "someone"}, "ERR: 001, Authentication failed"),
        ({"api_id": "4"}, "ERR: 108, Invalid or missing API ID"),
        ({"to": ""}, "ERR: 101, Invalid or missing parameters"),
        ({"text": ""}, "ERR: 101, Invalid or missing parameters"),
        ({"climsgid": "a b"}, "ERR: 120, clientMessageId contains space(s)"),
        ({"unicode": "1"}, "ERR: 116, Invalid unicode data"),
        ({"concat": "0"}, "ERR: 101, Invalid or missing parameters"),
        ({"queue": "4"}, "ERR: 101, Invalid or missing parameters"),
        ({"validity": "abc"}, "ERR: 101, Invalid or missing parameters"),
        ({"scheduled_time": "2030-01-01 10:00:00"}, "ERR: 101, Invalid or missing parameters"),
        ({"deliv_ack": "1"}, "ERR: 101, Invalid or missing parameters"),
    ],
)
async def test_sendmsg_errors_are_200_with_err(
    simulator: Simulator, session: aiohttp.ClientSession, params: dict[str, str], line: str
) -> None:
    status, text = await call(
        session,
        simulator,
        "/http/sendmsg",
        {**http_credentials(to="2799900001", text="Hi"), **params},
    )
    assert (status, text) == (200, line)
    assert simulator.messages == []


async def test_missing_credentials(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    status, text = await call(session, simulator, "/http/getbalance", {})
    assert (status, text) == (200, "ERR: 001, Authentication failed")
    status, text = await call(
        session, simulator, "/http/getbalance", {"user": "sim-user", "password": "sim-password-77"}
    )
    assert (status, text) == (200, "ERR: 108, Invalid or missing API ID")


async def test_lockdown(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.account.ip_lockdown = True
    status, text = await call(session, simulator, "/http/getbalance", http_credentials())
    assert (status, text) == (200, "ERR: 007, IP lockdown violation")


async def test_unicode_text_is_hex_ucs2(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    text = "Привет 😀"
    status, answer = await call(
        session,
        simulator,
        "/http/sendmsg",
        http_credentials(
            to="27831234567", text=text.encode("utf-16-be").hex().upper(), unicode="1"
        ),
        method="POST",
    )
    assert status == 200
    assert answer.startswith("ID: ")
    message = simulator.messages[0]
    assert (message.text, message.encoding, message.parts) == (text, "UCS-2", 1)
    assert message.options == {"unicode": "1"}


async def test_every_http_option_is_accepted_and_recorded(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    options = {
        "from": "27831234567",
        "climsgid": "abc-1",
        "validity": "60",
        "unicode": "0",
        "udh": "0605040B8423F0",
        "concat": "3",
        "msg_callback": "3",
        "queue": "2",
        "escalate": "1",
        "max_credits": "2.0",
        "msg_type": "SMS_FLASH",
        "mo": "1",
        "req_feat": "48",
        "bypass_dnc_check": "1",
    }
    status, text = await call(
        session,
        simulator,
        "/http/sendmsg",
        http_credentials(to="27831234567", text="Hi", **options),
    )
    assert status == 200
    assert text.startswith("ID: ")
    assert simulator.messages[0].options == options
    assert simulator.messages[0].client_message_id == "abc-1"


@pytest.mark.parametrize(("method", "limit"), [("GET", 300), ("POST", 600)])
async def test_recipient_limits(
    simulator: Simulator, session: aiohttp.ClientSession, method: str, limit: int
) -> None:
    simulator.account.balance = Decimal(1000)
    numbers = [f"279991{index:05d}" for index in range(limit + 1)]
    params = http_credentials(to=",".join(numbers), text="Hi")
    status, text = await call(session, simulator, "/http/sendmsg", params, method)
    assert (status, text) == (200, "ERR: 101, Invalid or missing parameters")
    params = http_credentials(to=",".join(numbers[:limit]), text="Hi")
    status, text = await call(session, simulator, "/http/sendmsg", params, method)
    assert len(text.splitlines()) == limit
    assert len(simulator.messages) == limit


async def test_no_credit(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.account.balance = Decimal("0.2")
    status, text = await call(
        session, simulator, "/http/sendmsg", http_credentials(to="27999123456", text="Hi")
    )
    assert (status, text) == (200, "ERR: 301, No credit left")
    assert simulator.account.balance == Decimal("0.2")


async def test_getbalance(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.account.balance = Decimal("300.5")
    for method in ("GET", "POST"):
        status, text = await call(
            session, simulator, "/http/getbalance", http_credentials(), method
        )
        assert (status, text) == (200, "Credit: 300.50")


@pytest.mark.parametrize(
    ("number", "line"),
    [
        (
            "27999123456",
            (
                "OK: This prefix is currently supported. Messages sent to this prefix will be "
                "routed. Charge: 0.33"
            ),
        ),
        (
            "27831234567",
            (
                "OK: This prefix is currently supported. Messages sent to this prefix will be "
                "routed. Charge: 1"
            ),
        ),
        (
            "2799999121",
            (
                "ERR: This prefix is not currently supported. Messages sent to this prefix will "
                "fail. Please contact support for assistance."
            ),
        ),
        ("2799", "ERR: 105, Invalid destination address"),
    ],
)
async def test_route_coverage(
    simulator: Simulator, session: aiohttp.ClientSession, number: str, line: str
) -> None:
    status, text = await call(
        session, simulator, "/utils/routeCoverage", http_credentials(msisdn=number)
    )
    assert (status, text) == (200, line)


async def test_delmsg(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await call(
        session,
        simulator,
        "/http/sendmsg",
        http_credentials(to="27831234567", text="Later", scheduled_time=later),
    )
    message = simulator.messages[0]
    assert message.status == "011"  # queued for later delivery
    assert simulator.account.balance == Decimal(99)
    status, text = await call(
        session, simulator, "/http/delmsg", http_credentials(apimsgid=message.api_message_id)
    )
    assert (status, text) == (200, f"ID: {message.api_message_id} Status: 006")
    assert message.status == "006"
    assert simulator.account.balance == Decimal(100)


async def test_delmsg_delivered_and_unknown(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    await call(
        session,
        simulator,
        "/http/sendmsg",
        http_credentials(to="27831234567", text="Now", climsgid="c9"),
    )
    message = simulator.messages[0]
    status, text = await call(session, simulator, "/http/delmsg", http_credentials(climsgid="c9"))
    assert (status, text) == (200, f"ID: {message.api_message_id} Status: 004")
    status, text = await call(
        session, simulator, "/http/delmsg", http_credentials(apimsgid="f" * 32)
    )
    assert (status, text) == (200, "ERR: 109, Missing message ID")


async def test_unknown_command_and_wrong_method(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    base = simulator.base_url("http")
    async with session.get(base + "/http/getmsgcharge", params=http_credentials()) as response:
        assert response.status == 404
        assert await response.text() == "ERR: 161, Resource does not exist"
    async with session.put(base + "/http/sendmsg", data=http_credentials()) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET, POST"
        assert await response.text() == "ERR: 160, HTTP method is not supported on this resource"
