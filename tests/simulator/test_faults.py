"""Injected faults and the rate limit, in each flavour's own format."""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp
import pytest

from clickatell_relay.simulator import FaultKind, Simulator

from .conftest import API_KEY, FakeClock, dumps, http_credentials, platform_headers, rest_headers

MT_LIMIT = re.compile(r"Maximum MT limit exceeded until \d{10}")


async def rest_send(
    session: aiohttp.ClientSession, simulator: Simulator, numbers: list[str]
) -> aiohttp.ClientResponse:
    response = await session.post(
        simulator.base_url("rest") + "/message",
        data=dumps({"text": "Hi", "to": numbers}),
        headers=rest_headers(),
    )
    await response.read()
    return response


async def rest_balance(session: aiohttp.ClientSession, simulator: Simulator) -> tuple[int, str]:
    async with session.get(
        simulator.base_url("rest") + "/account/balance", headers=rest_headers()
    ) as response:
        return response.status, await response.text()


# ---- rate limit ---------------------------------------------------------------


async def test_rate_limit_429_with_retry_after(
    simulator: Simulator, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    simulator.messages_per_second = 2
    assert (await rest_send(session, simulator, ["27831234567", "27831234568"])).status == 202
    response = await rest_send(session, simulator, ["27831234569"])
    assert response.status == 429
    assert response.headers["Retry-After"] == "1"
    body = json.loads(await response.text())
    assert body["error"]["code"] == "130"
    assert MT_LIMIT.fullmatch(body["error"]["description"])
    assert len(simulator.messages) == 2
    assert simulator.requests[-1].status == 429
    # Only sends are limited.
    assert (await rest_balance(session, simulator))[0] == 200
    # Half a second brings back one message's worth.
    clock.now += 0.5
    assert (await rest_send(session, simulator, ["27831234569"])).status == 202
    assert (await rest_send(session, simulator, ["27831234570"])).status == 429


async def test_rate_limit_counts_recipients_and_a_big_request_leaves_debt(
    simulator: Simulator, session: aiohttp.ClientSession, clock: FakeClock
) -> None:
    simulator.messages_per_second = 2
    numbers = [f"279991{index:05d}" for index in range(6)]
    assert (await rest_send(session, simulator, numbers)).status == 202
    response = await rest_send(session, simulator, ["27831234567"])
    assert response.status == 429
    assert response.headers["Retry-After"] == "3"  # four tokens in debt plus one, at two a second
    clock.now += 2.5
    assert (await rest_send(session, simulator, ["27831234567"])).status == 202


async def test_rate_limit_can_be_lifted(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.messages_per_second = 1
    assert (await rest_send(session, simulator, ["27831234567"])).status == 202
    assert (await rest_send(session, simulator, ["27831234567"])).status == 429
    simulator.messages_per_second = None
    assert (await rest_send(session, simulator, ["27831234567"])).status == 202


async def test_rate_limit_in_the_platform_and_http_formats(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.messages_per_second = 1
    one_api = {"messages": [{"channel": "sms", "to": "27831234567", "content": "Hi"}]}
    url = simulator.base_url("platform") + "/v1/message"
    async with session.post(url, data=dumps(one_api), headers=platform_headers()) as response:
        assert response.status == 202
    async with session.post(url, data=dumps(one_api), headers=platform_headers()) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"
        body = await response.json()
    assert body["messages"] == []
    assert (body["error"]["code"], body["error"]["description"]) == (43, "Rate limit exceeded")
    async with session.get(
        simulator.base_url("http") + "/http/sendmsg",
        params=http_credentials(to="27831234567", text="Hi"),
    ) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "1"
        text = await response.text()
    assert re.fullmatch(r"ERR: 130, Maximum MT limit exceeded until \d{10}", text)


# ---- faults -----------------------------------------------------------------------


async def test_unavailable_in_every_format(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.inject("unavailable")
    status, text = await rest_balance(session, simulator)
    assert status == 503
    assert json.loads(text)["error"] == {
        "code": "901",
        "description": "Internal error - please retry",
        "documentation": "https://www.clickatell.com/help/apidocs/error/901.htm",
    }
    async with session.get(
        simulator.base_url("platform") + "/v1/balance", headers={"Authorization": API_KEY}
    ) as response:
        assert response.status == 503
        assert (await response.json())["error"]["code"] == 19
    async with session.get(
        simulator.base_url("http") + "/http/getbalance", params=http_credentials()
    ) as response:
        assert response.status == 503
        assert await response.text() == "ERR: 901, Internal error - please retry"


async def test_faults_come_before_authentication(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.inject(FaultKind.UNAVAILABLE, count=1)
    async with session.get(simulator.base_url("rest") + "/account/balance") as response:
        assert response.status == 503


async def test_count_runs_out(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.inject("unavailable", count=2)
    statuses = [(await rest_balance(session, simulator))[0] for _ in range(3)]
    assert statuses == [503, 503, 200]
    assert simulator.faults == []


async def test_faults_until_cleared(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.inject("unavailable")
    statuses = [(await rest_balance(session, simulator))[0] for _ in range(4)]
    assert statuses == [503] * 4
    simulator.clear_faults()
    assert (await rest_balance(session, simulator))[0] == 200


async def test_faults_only_for_chosen_flavours(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.inject("unavailable", flavours=["platform"])
    assert (await rest_balance(session, simulator))[0] == 200
    async with session.get(
        simulator.base_url("platform") + "/v1/balance", headers={"Authorization": API_KEY}
    ) as response:
        assert response.status == 503


async def test_rate_limited_fault(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    simulator.inject("rate_limited", count=1, retry_after=7.2)
    async with session.get(
        simulator.base_url("rest") + "/account/balance", headers=rest_headers()
    ) as response:
        assert response.status == 429
        assert response.headers["Retry-After"] == "8"
        assert (await response.json())["error"]["code"] == "130"
    assert (await rest_balance(session, simulator))[0] == 200


async def test_slow_fault_answers_normally(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.inject("slow", count=1, delay=0.05)
    status, text = await rest_balance(session, simulator)
    assert (status, json.loads(text)) == (200, {"data": {"balance": "100.00"}})


async def test_slow_fault_outlasts_a_client_timeout(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.inject("slow", count=1, delay=5)
    with pytest.raises(asyncio.TimeoutError):
        await session.get(
            simulator.base_url("rest") + "/account/balance",
            headers=rest_headers(),
            timeout=aiohttp.ClientTimeout(total=0.2),
        )


async def test_drop_closes_the_connection(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    simulator.inject("drop", count=1)
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await rest_send(session, simulator, ["27831234567"])
    assert simulator.messages == []
    assert simulator.requests[-1].status == 0
    assert (await rest_send(session, simulator, ["27831234567"])).status == 202


@pytest.mark.parametrize(
    ("kind", "content_type", "check"),
    [
        ("garbage", "application/json", None),
        ("html", "text/html", b"<html>maintenance</html>"),
        (
            "error_200",
            "application/json",
            {
                "errorCode": 106,
                "error": "Invalid source address",
                "errorDescription": "The specified sender address is incorrect.",
            },
        ),
    ],
)
async def test_canned_answers(
    simulator: Simulator,
    session: aiohttp.ClientSession,
    kind: str,
    content_type: str,
    check: Any,
) -> None:
    simulator.inject(kind, count=1)
    async with session.get(
        simulator.base_url("http") + "/http/getbalance", params=http_credentials()
    ) as response:
        assert response.status == 200
        assert response.content_type == content_type
        body = await response.read()
    if kind == "garbage":
        with pytest.raises(ValueError):  # noqa: PT011 - UnicodeDecodeError or JSONDecodeError
            json.loads(body)
    elif isinstance(check, dict):
        assert json.loads(body) == check
    else:
        assert body == check
    assert simulator.requests[-1].status == 200


def test_bad_injections_are_refused() -> None:
    simulator = Simulator()
    with pytest.raises(ValueError, match="unknown fault kind"):
        simulator.inject("meltdown")
    with pytest.raises(ValueError, match="count"):
        simulator.inject("drop", count=0)
    with pytest.raises(ValueError, match="flavour"):
        simulator.inject("drop", flavours=["soap"])
    with pytest.raises(ValueError, match="delay"):
        simulator.inject("slow", delay=-1)
    assert simulator.faults == []
