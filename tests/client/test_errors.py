"""Every failure becomes one of the client's exceptions, with the API's code and no secret."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from urllib.parse import quote, quote_plus

import pytest
from aiohttp import web
from yarl import URL

from aioclickatell import (
    ApiFlavour,
    ClickatellAuthenticationError,
    ClickatellClient,
    ClickatellConnectionError,
    ClickatellDestinationError,
    ClickatellError,
    ClickatellInvalidRequestError,
    ClickatellInvalidResponseError,
    ClickatellIpLockdownError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    ClickatellServiceUnavailableError,
    ClickatellTimeoutError,
    ClickatellUnsupportedError,
    ContentFormat,
    HttpMethod,
    Operation,
)
from clickatell_relay.simulator import Simulator

from .conftest import API_ID, API_KEY, PASSWORD, SETUPS, ClientFactory, Setup, credentials

GOOD = ["2799900001"]
SECRETS = (API_KEY, PASSWORD, API_ID)


def assert_no_secret(error: BaseException) -> None:
    text = f"{error} {error!r} {error.args}"
    for secret in SECRETS:
        assert secret not in text


async def test_wrong_key_is_an_authentication_error(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    wrong = (
        {"password": "wrong-password"} if setup.api is ApiFlavour.HTTP else {"api_key": "wrong-key"}
    )
    with pytest.raises(ClickatellAuthenticationError) as caught:
        await make_client(setup, **wrong).send(GOOD, "Hi")
    assert caught.value.code in {"001", "1"}
    assert "wrong" not in str(caught.value)
    assert_no_secret(caught.value)


async def test_ip_lockdown_is_its_own_error(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.account.ip_lockdown = True
    with pytest.raises(ClickatellIpLockdownError) as caught:
        await make_client(setup).send(GOOD, "Hi")
    assert caught.value.code in {"007", "7"}


async def test_no_credit_is_payment_required(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.account.balance = Decimal(0)
    with pytest.raises(ClickatellPaymentRequiredError) as caught:
        await make_client(setup).send(["27831234567"], "Hi")
    assert caught.value.code in {"301", "20"}
    assert simulator.messages == []


async def test_rate_limit_carries_retry_after(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("rate_limited", count=1, retry_after=7)
    with pytest.raises(ClickatellRateLimitError) as caught:
        await make_client(setup).send(GOOD, "Hi")
    assert caught.value.retry_after == 7
    assert caught.value.status == 429


async def test_rate_above_the_simulators_limit_is_refused(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.messages_per_second = 5
    client = make_client(SETUPS[0], max_batch_size=5)
    numbers = [f"279990000{index}" for index in range(5)]
    await client.send(numbers, "Fills the bucket")
    with pytest.raises(ClickatellRateLimitError) as caught:
        await client.send(numbers, "Over the limit")
    assert caught.value.retry_after is not None
    assert caught.value.retry_after >= 1


async def test_outage_is_service_unavailable(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("unavailable", count=1)
    client = make_client(setup)
    with pytest.raises(ClickatellServiceUnavailableError):
        await client.send(GOOD, "Hi")
    result = await client.send(GOOD, "Hi again")  # the storm has passed
    assert result.accepted


@pytest.mark.parametrize("kind", ["garbage", "html"])
async def test_garbage_is_an_invalid_response(
    kind: str, setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject(kind, count=1)
    with pytest.raises(ClickatellInvalidResponseError):
        await make_client(setup).send(GOOD, "Hi")


async def test_error_in_a_200_is_still_an_error(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    simulator.inject("error_200", count=1)
    with pytest.raises(ClickatellInvalidRequestError) as caught:
        await make_client(SETUPS[2]).send(GOOD, "Hi")
    assert caught.value.code == "106"
    assert caught.value.status == 200


async def test_dropped_connection_is_a_connection_error(
    setup: Setup, simulator: Simulator, make_client: ClientFactory
) -> None:
    # aiohttp retries a GET once on a dropped connection, so drop twice.
    simulator.inject("drop", count=2)
    with pytest.raises(ClickatellConnectionError) as caught:
        await make_client(setup).send(GOOD, "Hi")
    assert_no_secret(caught.value)


async def test_slow_answer_is_a_timeout(simulator: Simulator, make_client: ClientFactory) -> None:
    simulator.inject("slow", count=1, delay=2.0)
    with pytest.raises(ClickatellTimeoutError):
        await make_client(SETUPS[0], request_timeout=0.2).balance()


async def test_unreachable_api_is_a_connection_error_without_the_password() -> None:
    client = ClickatellClient(
        api=ApiFlavour.HTTP,
        base_url="http://127.0.0.1:9",  # discard port: nothing listens
        http_method=HttpMethod.GET,
        **credentials(ApiFlavour.HTTP),
    )
    async with client:
        with pytest.raises(ClickatellConnectionError) as caught:
            await client.balance()
    assert_no_secret(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("operation", [Operation.STOP, Operation.COVERAGE])
async def test_platform_refuses_what_it_cannot_do_locally(
    operation: Operation, simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[2])
    assert not client.supports(operation)
    call = client.stop("abc123") if operation is Operation.STOP else client.coverage("2799900001")
    with pytest.raises(ClickatellUnsupportedError):
        await call
    assert simulator.requests == []


# Codes the simulator has no reason to produce for a well-behaved client are
# answered by a scripted server, still over loopback HTTP.

Reply = tuple[int, str, str]  # status, content type, body


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Reply], ClickatellClient]]:
    """A server that answers every request with one canned reply."""
    reply: list[Reply] = []

    async def handler(_request: web.Request) -> web.Response:
        status, content_type, body = reply[0]
        return web.Response(status=status, body=body.encode(), content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    clients: list[ClickatellClient] = []

    def client_for(canned: Reply) -> ClickatellClient:
        reply[:] = [canned]
        client = ClickatellClient(
            api=ApiFlavour.REST, api_key=API_KEY, base_url=f"http://127.0.0.1:{port}/rest"
        )
        clients.append(client)
        return client

    yield client_for
    for client in clients:
        await client.close()
    await runner.cleanup()


# Seed 001 section 10, each with the status section 9 gives it.
SEED_ERRORS: list[tuple[str, int, type[ClickatellError]]] = [
    ("001", 401, ClickatellAuthenticationError),
    ("007", 401, ClickatellIpLockdownError),
    ("100", 400, ClickatellInvalidRequestError),
    ("101", 400, ClickatellInvalidRequestError),
    ("102", 400, ClickatellInvalidRequestError),
    ("105", 400, ClickatellDestinationError),
    ("106", 400, ClickatellInvalidRequestError),
    ("108", 400, ClickatellInvalidRequestError),
    ("109", 400, ClickatellInvalidRequestError),
    ("113", 400, ClickatellInvalidRequestError),
    ("114", 410, ClickatellDestinationError),
    ("116", 400, ClickatellInvalidRequestError),
    ("120", 400, ClickatellInvalidRequestError),
    ("121", 410, ClickatellDestinationError),
    ("122", 410, ClickatellDestinationError),
    ("123", 400, ClickatellInvalidRequestError),
    ("128", 410, ClickatellDestinationError),
    ("130", 429, ClickatellRateLimitError),
    ("160", 405, ClickatellInvalidRequestError),
    ("161", 404, ClickatellInvalidRequestError),
    ("165", 400, ClickatellInvalidRequestError),
    ("166", 400, ClickatellInvalidRequestError),
    ("167", 400, ClickatellInvalidRequestError),
    ("250", 410, ClickatellDestinationError),
    ("301", 402, ClickatellPaymentRequiredError),
    ("901", 503, ClickatellServiceUnavailableError),
]


@pytest.mark.parametrize(
    ("code", "status", "expected"), SEED_ERRORS, ids=[c for c, _, _ in SEED_ERRORS]
)
async def test_every_seed_error_code(
    code: str,
    status: int,
    expected: type[ClickatellError],
    scripted: Callable[[Reply], ClickatellClient],
) -> None:
    body = (
        f'{{"error": {{"code": "{code}", "description": "Described {code}", "documentation": ""}}}}'
    )
    client = scripted((status, "application/json", body))
    with pytest.raises(expected) as caught:
        await client.balance()
    assert type(caught.value) is expected
    assert caught.value.code == code
    assert caught.value.description == f"Described {code}"
    assert caught.value.status == status
    assert code in str(caught.value)


async def test_mt_limit_waits_until_its_timestamp(
    scripted: Callable[[Reply], ClickatellClient],
) -> None:
    import time  # noqa: PLC0415

    until = int(time.time()) + 3600
    body = (
        f'{{"error": {{"code": "130", "description": "Maximum MT limit exceeded until {until}"}}}}'
    )
    with pytest.raises(ClickatellRateLimitError) as caught:
        await scripted((429, "application/json", body)).balance()
    assert caught.value.retry_after is not None
    assert 3500 < caught.value.retry_after <= 3600


# Seed 001 section 9, with bodies that say nothing more.
SEED_STATUSES: list[tuple[int, type[ClickatellError]]] = [
    (400, ClickatellInvalidRequestError),
    (401, ClickatellAuthenticationError),
    (402, ClickatellPaymentRequiredError),
    (404, ClickatellInvalidRequestError),
    (405, ClickatellInvalidRequestError),
    (410, ClickatellDestinationError),
    (429, ClickatellRateLimitError),
    (503, ClickatellServiceUnavailableError),
    (500, ClickatellServiceUnavailableError),
]


@pytest.mark.parametrize(
    ("status", "expected"), SEED_STATUSES, ids=[str(s) for s, _ in SEED_STATUSES]
)
@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/html", "<html>Bad gateway</html>"), ("application/json", ""), ("text/plain", "oops")],
    ids=["html", "empty", "text"],
)
async def test_every_seed_status_without_a_readable_body(
    status: int,
    expected: type[ClickatellError],
    content_type: str,
    body: str,
    scripted: Callable[[Reply], ClickatellClient],
) -> None:
    with pytest.raises(expected) as caught:
        await scripted((status, content_type, body)).balance()
    assert type(caught.value) is expected
    assert caught.value.status == status


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", "{not json"),
        ("application/json", "[1, 2, 3]"),
        ("application/json", '{"data": {}}'),
        ("application/json", '{"data": {"balance": "lots"}}'),
        ("application/json", '{"data": {"balance": true}}'),
        ("text/html", "<html>Login</html>"),
        ("application/octet-stream", "\x00\x01"),
    ],
    ids=["broken", "list", "no-balance", "word", "bool", "html", "binary"],
)
async def test_a_200_we_cannot_read_is_an_invalid_response(
    content_type: str, body: str, scripted: Callable[[Reply], ClickatellClient]
) -> None:
    with pytest.raises(ClickatellInvalidResponseError):
        await scripted((200, content_type, body)).balance()


async def test_debug_logs_hold_no_secret(
    caplog: pytest.LogCaptureFixture, simulator: Simulator, make_client: ClientFactory
) -> None:
    caplog.set_level(logging.DEBUG)
    for setup in SETUPS:
        client = make_client(setup)
        await client.send(GOOD, "Logged")
        await client.balance()
    simulator.inject("drop", count=2)  # aiohttp retries a dropped GET once
    with pytest.raises(ClickatellConnectionError):
        await make_client(SETUPS[6]).balance()
    assert caplog.records, "the client logs its requests at debug level"
    for record in caplog.records:
        for secret in SECRETS:
            assert secret not in record.getMessage()


DEEP = 20_000


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", "[" * DEEP + "]" * DEEP),
        ("application/json", '{"data": ' * DEEP + "1" + "}" * DEEP),
        ("application/json", '{"data": {"balance": ' + "[" * DEEP + "]" * DEEP + "}}"),
    ],
    ids=["array", "object", "inside"],
)
async def test_deeply_nested_answers_are_invalid_responses(
    content_type: str, body: str, scripted: Callable[[Reply], ClickatellClient]
) -> None:
    with pytest.raises(ClickatellInvalidResponseError):
        await scripted((200, content_type, body)).balance()


async def test_deeply_nested_xml_is_an_invalid_response(
    scripted: Callable[[Reply], ClickatellClient],
) -> None:
    body = "<response>" + "<data>" * DEEP + "1" + "</data>" * DEEP + "</response>"
    client = scripted((200, "application/xml", body))
    xml = ClickatellClient(
        api=ApiFlavour.REST,
        api_key=API_KEY,
        base_url=str(client._base_url),
        content_format=ContentFormat.XML,
    )
    async with xml:
        with pytest.raises(ClickatellInvalidResponseError):
            await xml.balance()
        with pytest.raises(ClickatellInvalidResponseError):
            await xml.send(GOOD, "Hi")


# A password with characters a URL must encode, as an HTTP API account may have.
AWKWARD_PASSWORD = "p@ss w/rd&x=ü+"


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    """A server that answers every request with a line that is not HTTP."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(65536)
        writer.write(b"garbage\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"127.0.0.1:{port}"


@pytest.mark.parametrize("method", [HttpMethod.GET, HttpMethod.POST])
async def test_an_encoded_password_is_redacted_too(garbage_server: str, method: HttpMethod) -> None:
    # aiohttp's error for a broken answer holds the URL, the HTTP API's password
    # in its query string, URL-encoded.
    client = ClickatellClient(
        api=ApiFlavour.HTTP,
        username="u",
        password=AWKWARD_PASSWORD,
        api_id=API_ID,
        base_url=f"http://proxy-user:proxy-pw@{garbage_server}",
        http_method=method,
    )
    async with client:
        with pytest.raises(ClickatellConnectionError) as caught:
            await client.balance()
    text = f"{caught.value} {caught.value!r} {client!r}"
    for shown in (
        AWKWARD_PASSWORD,
        quote(AWKWARD_PASSWORD, safe=""),
        quote_plus(AWKWARD_PASSWORD),
        URL.build(query={"p": AWKWARD_PASSWORD}).raw_query_string[2:],
        "proxy-pw",
        API_ID,
    ):
        assert shown not in text
    assert "proxy-user" in repr(client)
