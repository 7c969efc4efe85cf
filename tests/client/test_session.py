"""Session ownership, cancellation and the client's other operations."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import aiohttp
import pytest

from aioclickatell import ApiFlavour, ClickatellClient, ClickatellInvalidRequestError, Operation
from clickatell_relay.simulator import Simulator

from .conftest import API_KEY, SETUPS, ClientFactory, Setup, credentials


async def test_an_injected_session_is_shared_and_left_open(simulator: Simulator) -> None:
    async with aiohttp.ClientSession() as session:
        client = ClickatellClient(
            api=ApiFlavour.REST,
            api_key=API_KEY,
            session=session,
            base_url=simulator.base_url("rest"),
        )
        async with client:
            await client.balance()
        assert not session.closed
        await client.balance()  # still usable: the session belongs to the caller


async def test_an_own_session_is_created_lazily_and_closed(simulator: Simulator) -> None:
    client = ClickatellClient(
        api=ApiFlavour.REST, api_key=API_KEY, base_url=simulator.base_url("rest")
    )
    assert own_session(client) is None
    async with client:
        await client.balance()
        session = own_session(client)
        assert session is not None
        open_inside = not session.closed
    assert open_inside
    assert session.closed
    assert own_session(client) is None


def own_session(client: ClickatellClient) -> aiohttp.ClientSession | None:
    """The session the client holds (a function, so mypy does not narrow it)."""
    return client._session


async def test_cancelling_a_request_propagates_and_leaves_the_client_usable(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[0])
    simulator.inject("slow", count=1, delay=5.0)
    task = asyncio.create_task(client.send(["2799900001"], "Hi"))
    await asyncio.sleep(0.2)  # the request is now waiting on the slow answer
    assert not task.done()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await client.balance()).balance > 0


async def test_balance(setup: Setup, simulator: Simulator, make_client: ClientFactory) -> None:
    simulator.account.balance = Decimal("300.50")
    balance = await make_client(setup).balance()
    assert balance.balance == pytest.approx(300.5)
    if setup.api is ApiFlavour.PLATFORM:
        assert balance.currency == "USD"


async def test_balance_goes_down_by_a_third_in_the_test_range(
    simulator: Simulator, make_client: ClientFactory
) -> None:
    client = make_client(SETUPS[0])
    before = (await client.balance()).balance
    await client.send(["2799910001", "1999000001", "2799910002"], "Cheap")
    after = (await client.balance()).balance
    assert before - after == pytest.approx(1.0, abs=0.01)


COVERED = [setup for setup in SETUPS if setup.api is not ApiFlavour.PLATFORM]


@pytest.mark.parametrize("setup", COVERED, ids=[setup.name for setup in COVERED])
async def test_coverage(setup: Setup, make_client: ClientFactory) -> None:
    client = make_client(setup)
    assert client.supports(Operation.COVERAGE)
    routable = await client.coverage("+27 999 123 456")
    assert routable.destination == "27999123456"
    assert routable.routable
    assert routable.minimum_charge == pytest.approx(1 / 3, abs=0.01)
    normal = await client.coverage("27831234567")
    assert normal.minimum_charge == pytest.approx(1.0)
    unroutable = await client.coverage("2799999114")
    assert not unroutable.routable


def test_capabilities_per_flavour() -> None:
    rest = ClickatellClient(api=ApiFlavour.REST, api_key="k")
    platform = ClickatellClient(api=ApiFlavour.PLATFORM, api_key="k")
    http = ClickatellClient(api=ApiFlavour.HTTP, **credentials(ApiFlavour.HTTP))
    assert rest.operations == frozenset(Operation)
    assert platform.operations == {Operation.SEND, Operation.BALANCE, Operation.STATUS}
    assert http.operations == frozenset(Operation)
    assert (rest.batch_ceiling, platform.batch_ceiling, http.batch_ceiling) == (600, 200, 600)
    assert "user_priority_queue" in rest.supported_options
    assert "user_priority_queue" not in platform.supported_options
    assert "binary" not in http.supported_options


@pytest.mark.parametrize(
    "kwargs",
    [
        {"api": ApiFlavour.REST},
        {"api": ApiFlavour.HTTP, "username": "u", "password": "p"},
        {"api": ApiFlavour.REST, "api_key": "k", "base_url": "ftp://example.com"},
        {"api": ApiFlavour.PLATFORM, "api_key": "k", "content_format": "xml"},
        {"api": ApiFlavour.REST, "api_key": "k", "max_batch_size": 0},
    ],
    ids=["no-key", "no-api-id", "bad-url", "one-api-xml", "zero-batch"],
)
def test_bad_configuration_is_refused_at_construction(kwargs: dict[str, object]) -> None:
    with pytest.raises(ClickatellInvalidRequestError):
        ClickatellClient(**kwargs)  # type: ignore[arg-type]


def test_repr_shows_no_key() -> None:
    client = ClickatellClient(api=ApiFlavour.REST, api_key="very-secret-key")
    assert "very-secret-key" not in repr(client)
    assert "rest" in repr(client)


def test_https_is_the_default() -> None:
    client = ClickatellClient(api=ApiFlavour.REST, api_key="k")
    assert str(client._base_url) == "https://api.clickatell.com/rest"
