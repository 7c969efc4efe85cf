"""The /_sim/ control API, the recording of requests, and the simulator's life cycle."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import aiohttp
import pytest

from clickatell_relay.simulator import Account, Simulator, flavour_of, run_forever

from .conftest import API_KEY, dumps, http_credentials, platform_headers, rest_headers


async def test_requests_are_recorded_exactly(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    body = '{"text": "Hi",  "to": ["27831234567"]}'
    headers = rest_headers(**{"X-Custom": "yes"})
    async with session.post(
        simulator.base_url("rest") + "/message?trace=1", data=body, headers=headers
    ) as response:
        assert response.status == 202
    (recorded,) = simulator.requests
    assert (recorded.method, recorded.path, recorded.query) == (
        "POST",
        "/rest/message",
        {"trace": "1"},
    )
    assert recorded.body == body
    assert recorded.status == 202
    assert recorded.flavour == "rest"
    for name, value in headers.items():
        assert recorded.headers[name] == value
    assert recorded.headers["Authorization"] == f"Bearer {API_KEY}"


async def test_refused_requests_are_recorded_with_their_status(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(simulator.base_url("platform") + "/v1/balance") as response:
        assert response.status == 401
    async with session.get(simulator.root_url + "/elsewhere") as response:
        assert response.status == 404
    assert [(item.flavour, item.status) for item in simulator.requests] == [
        ("platform", 401),
        (None, 404),
    ]


@pytest.mark.parametrize(
    ("path", "flavour"),
    [
        ("/rest/message", "rest"),
        ("/v1/message", "platform"),
        ("/messages", "platform"),
        ("/http/sendmsg", "http"),
        ("/utils/routeCoverage", "http"),
        ("/restful", None),
        ("/", None),
    ],
)
def test_flavour_of(path: str, flavour: str | None) -> None:
    assert flavour_of(path) == flavour


async def test_control_requests_and_messages(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.post(
        simulator.base_url("rest") + "/message",
        data=dumps({"text": "Hi", "to": ["27999123456"], "clientMessageId": "m1"}),
        headers=rest_headers(),
    ) as response:
        assert response.status == 202
    async with session.get(simulator.root_url + "/_sim/requests") as response:
        recorded = await response.json()
    assert len(recorded) == 1
    assert recorded[0]["path"] == "/rest/message"
    assert recorded[0]["status"] == 202
    assert recorded[0]["headers"]["X-Version"] == "1"
    async with session.get(simulator.root_url + "/_sim/messages") as response:
        (message,) = await response.json()
    assert message["to"] == "27999123456"
    assert message["client_message_id"] == "m1"
    assert message["status"] == "004"
    assert Decimal(message["charge"]) == Decimal(1) / 3
    assert message["options"] == {"clientMessageId": "m1"}
    # Control requests are not recorded.
    assert len(simulator.requests) == 1
    async with session.delete(simulator.root_url + "/_sim/requests") as response:
        assert response.status == 204
    assert simulator.requests == []
    assert len(simulator.messages) == 1


async def test_control_account(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.get(simulator.root_url + "/_sim/account") as response:
        account = await response.json()
    assert account["balance"] == "100"
    assert account["ip_lockdown"] is False
    async with session.patch(
        simulator.root_url + "/_sim/account", json={"balance": "12.5", "ip_lockdown": True}
    ) as response:
        assert response.status == 200
        assert (await response.json())["balance"] == "12.5"
    assert simulator.account.balance == Decimal("12.5")
    assert simulator.account.ip_lockdown is True
    async with session.get(
        simulator.base_url("http") + "/http/getbalance", params=http_credentials()
    ) as response:
        assert await response.text() == "ERR: 007, IP lockdown violation"
    async with session.patch(
        simulator.root_url + "/_sim/account", json={"balance": "lots"}
    ) as response:
        assert response.status == 400
    async with session.patch(simulator.root_url + "/_sim/account", json={"colour": 1}) as response:
        assert response.status == 400
    assert simulator.account.balance == Decimal("12.5")


async def test_control_faults(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.post(
        simulator.root_url + "/_sim/faults",
        json={"kind": "unavailable", "count": 1, "flavours": ["rest"]},
    ) as response:
        assert response.status == 201
        assert await response.json() == {
            "kind": "unavailable",
            "count": 1,
            "delay": 0.0,
            "retry_after": 1.0,
            "flavours": ["rest"],
        }
    async with session.get(simulator.root_url + "/_sim/faults") as response:
        assert len(await response.json()) == 1
    async with session.get(
        simulator.base_url("rest") + "/account/balance", headers=rest_headers()
    ) as response:
        assert response.status == 503
    async with session.post(simulator.root_url + "/_sim/faults", json={"kind": "html"}) as response:
        assert response.status == 201
    async with session.delete(simulator.root_url + "/_sim/faults") as response:
        assert response.status == 204
    assert simulator.faults == []
    for bad in ({"kind": "nope"}, {"count": 1}, {"kind": "drop", "when": "now"}, [1]):
        async with session.post(simulator.root_url + "/_sim/faults", json=bad) as response:
            assert response.status == 400
    assert simulator.faults == []


async def test_control_config(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    async with session.patch(
        simulator.root_url + "/_sim/config", json={"messages_per_second": 5}
    ) as response:
        assert (await response.json())["messages_per_second"] == 5.0
    assert simulator.messages_per_second == 5.0
    async with session.patch(
        simulator.root_url + "/_sim/config", json={"messages_per_second": -1}
    ) as response:
        assert response.status == 400
    async with session.patch(
        simulator.root_url + "/_sim/config", json={"messages_per_second": None}
    ) as response:
        assert (await response.json())["messages_per_second"] is None
    assert simulator.messages_per_second is None


async def test_control_reset(simulator: Simulator, session: aiohttp.ClientSession) -> None:
    one_api = {"messages": [{"channel": "sms", "to": "27831234567", "content": "Hi"}]}
    async with session.post(
        simulator.base_url("platform") + "/v1/message",
        data=dumps(one_api),
        headers=platform_headers(),
    ) as response:
        assert response.status == 202
    simulator.inject("drop")
    async with session.post(simulator.root_url + "/_sim/reset") as response:
        assert response.status == 204
    assert simulator.requests == []
    assert simulator.messages == []
    assert simulator.faults == []
    assert simulator.account.balance == Decimal(99)  # the account is kept


async def test_control_unknown_and_wrong_method(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(simulator.root_url + "/_sim/nothing") as response:
        assert response.status == 404
    async with session.post(simulator.root_url + "/_sim/messages") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "GET"


def test_reset_keeps_account_and_rate() -> None:
    simulator = Simulator(Account(balance=Decimal(7)), messages_per_second=3)
    simulator.inject("html")
    simulator.reset()
    assert simulator.faults == []
    assert simulator.account.balance == Decimal(7)
    assert simulator.messages_per_second == 3.0


async def test_life_cycle() -> None:
    simulator = Simulator()
    with pytest.raises(RuntimeError):
        _ = simulator.root_url
    async with simulator:
        root = simulator.root_url
        assert root.startswith("http://127.0.0.1:")
        assert simulator.base_url("rest") == root + "/rest"
        assert simulator.base_url("platform") == root
        assert simulator.base_url("http") == root
        with pytest.raises(ValueError, match="flavour"):
            simulator.base_url("soap")
        with pytest.raises(RuntimeError):
            await simulator.start()
    with pytest.raises(RuntimeError):
        _ = simulator.root_url


async def test_run_forever_serves_until_cancelled(session: aiohttp.ClientSession) -> None:
    simulator = Simulator(Account(api_key=API_KEY))
    task = asyncio.create_task(run_forever(simulator, "127.0.0.1", 0))
    for _ in range(100):
        if simulator._root_url is not None:
            break
        await asyncio.sleep(0.01)
    async with session.get(
        simulator.base_url("rest") + "/account/balance", headers=rest_headers()
    ) as response:
        assert response.status == 200
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    with pytest.raises(RuntimeError):
        _ = simulator.root_url


async def test_header_lookup_ignores_case(
    simulator: Simulator, session: aiohttp.ClientSession
) -> None:
    async with session.get(
        simulator.base_url("rest") + "/account/balance",
        headers={**rest_headers(), "x-trace": "abc"},
    ) as response:
        assert response.status == 200
    recorded = simulator.requests[-1]
    assert recorded.header("X-TRACE") == "abc"
    assert recorded.header("x-version") == "1"
    assert recorded.header("X-Missing") is None
