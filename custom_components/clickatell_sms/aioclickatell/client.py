"""The asynchronous Clickatell client: one class for every API flavour."""

from __future__ import annotations

import asyncio
import logging
from ipaddress import ip_address
from typing import TYPE_CHECKING, Self, TypeVar

import aiohttp
from yarl import URL

from .codes import retry_after_seconds
from .const import (
    DEFAULT_BASE_URLS,
    DEFAULT_MAX_BATCH_SIZE,
    DEFAULT_REQUEST_TIMEOUT,
    MAX_RESPONSE_BYTES,
    ApiFlavour,
    ContentFormat,
    HttpMethod,
    Operation,
    Overflow,
    PlatformEndpoint,
)
from .exceptions import (
    ClickatellCannotConnectError,
    ClickatellConnectionError,
    ClickatellError,
    ClickatellInvalidRequestError,
    ClickatellInvalidResponseError,
    ClickatellTimeoutError,
)
from .flavours import ApiRequest, ApiResponse, Credentials, Flavour, flavour_for
from .models import (
    Balance,
    Coverage,
    DeliveryStatus,
    MessagePlan,
    MessageResult,
    SendOptions,
    SendResult,
    StopResult,
)
from .numbers import normalize_number, normalize_numbers
from .retry import RetryPolicy
from .segments import plan_message

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

_LOGGER = logging.getLogger(__name__)
_REDACTED = "**REDACTED**"
_T = TypeVar("_T")


class ClickatellClient:
    """Send SMS, stop them, and read balance and coverage through one Clickatell API.

    Give it an aiohttp session to share (Home Assistant does); without one it
    creates its own and closes it in `close()` or on leaving `async with`.
    With a `retry` policy, a call tries again what Clickatell says to retry
    (see `RetryPolicy`); without one, every failure is raised at once.
    """

    def __init__(
        self,
        *,
        api: ApiFlavour = ApiFlavour.PLATFORM,
        api_key: str | None = None,
        username: str | None = None,
        password: str | None = None,
        api_id: str | None = None,
        session: aiohttp.ClientSession | None = None,
        base_url: str | None = None,
        content_format: ContentFormat = ContentFormat.JSON,
        platform_endpoint: PlatformEndpoint = PlatformEndpoint.ONE_API,
        http_method: HttpMethod = HttpMethod.POST,
        max_batch_size: int = DEFAULT_MAX_BATCH_SIZE,
        default_region: str | None = None,
        overflow: Overflow = Overflow.REFUSE,
        default_options: SendOptions | None = None,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        retry: RetryPolicy = RetryPolicy.NONE,
    ) -> None:
        """Check the configuration now, so a mistake shows before the first send."""
        self.api = ApiFlavour(api)
        if self.api is ApiFlavour.HTTP:
            if not (username and password and api_id):
                raise ClickatellInvalidRequestError(
                    "The HTTP API needs a username, a password and an API ID"
                )
        elif not api_key:
            raise ClickatellInvalidRequestError(f"The {self.api.value} API needs an API key")
        self._credentials = Credentials(
            api_key=api_key, username=username, password=password, api_id=api_id
        )
        self._flavour: Flavour = flavour_for(
            self.api,
            self._credentials,
            content_format=ContentFormat(content_format),
            platform_endpoint=PlatformEndpoint(platform_endpoint),
            http_method=HttpMethod(http_method),
        )
        ceiling = self.batch_ceiling
        if not 1 <= max_batch_size <= ceiling:
            raise ClickatellInvalidRequestError(
                f"max_batch_size must be 1 to {ceiling} for the {self.api.value} API"
            )
        self.max_batch_size = max_batch_size
        self.default_region = default_region
        self.overflow = Overflow(overflow)
        self.default_options = default_options or SendOptions()
        self._flavour.check_options(self.default_options)
        self._base_url = URL((base_url or DEFAULT_BASE_URLS[self.api]).rstrip("/"))
        if self._base_url.scheme not in ("http", "https") or not self._base_url.host:
            raise ClickatellInvalidRequestError("The base URL must be an http(s) URL with a host")
        if self._base_url.scheme == "http" and not _is_loopback(self._base_url.host):
            _LOGGER.warning(
                "Credentials will travel unencrypted to %s; use https", self._base_url.host
            )
        self._request_timeout = request_timeout
        self.retry = retry
        self._session = session
        self._close_session = False

    # Capabilities

    @property
    def operations(self) -> frozenset[Operation]:
        """What the configured API can do."""
        return self._flavour.operations

    def supports(self, operation: Operation) -> bool:
        """Whether the configured API can do `operation`."""
        return operation in self._flavour.operations

    @property
    def batch_ceiling(self) -> int:
        """The most recipients one request of the configured API may carry."""
        return self._flavour.batch_ceiling

    @property
    def supported_options(self) -> frozenset[str]:
        """The SendOptions fields the configured API takes."""
        return frozenset({*self._flavour.option_names, "max_message_parts"})

    # Planning, without I/O

    def normalize(self, number: str) -> str:
        """A number as the API wants it, using the default region for national numbers."""
        return normalize_number(number, self.default_region)

    def options_for(self, options: SendOptions | None) -> SendOptions:
        """The default options with `options` over them, checked against the API."""
        merged = self.default_options.merged(options)
        self._flavour.check_options(merged)
        return merged

    def plan(self, text: str, options: SendOptions | None = None) -> MessagePlan:
        """How `text` will travel with these options; refuses or truncates past the maximum."""
        return self._plan(text, self.options_for(options))

    def _plan(self, text: str, merged: SendOptions) -> MessagePlan:
        return plan_message(
            text,
            max_parts=merged.max_message_parts,
            overflow=self.overflow,
            unicode=merged.unicode,
            binary=bool(merged.binary),
        )

    # Operations

    async def send(
        self,
        recipients: Iterable[str],
        text: str,
        options: SendOptions | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> SendResult:
        """Send `text` to every recipient, in as few requests as the batch size allows.

        Numbers are normalized first and every invalid one is refused before
        anything is sent. If a later request fails after earlier ones were
        accepted, the error's `partial_result` holds what went out. `retry`
        replaces the client's policy for this call (each request is retried
        on its own).
        """
        numbers = normalize_numbers(list(recipients), self.default_region)
        if not numbers:
            raise ClickatellInvalidRequestError("No recipients")
        merged = self.options_for(options)
        plan = self._plan(text, merged)
        results: list[MessageResult] = []
        requests = 0
        for start in range(0, len(numbers), self.max_batch_size):
            batch = numbers[start : start + self.max_batch_size]
            try:
                results.extend(await self._send_batch(batch, plan, merged, retry))
            except ClickatellError as error:
                if results:
                    error.partial_result = SendResult(
                        messages=tuple(results),
                        plan=plan,
                        requests=requests,
                        client_message_id=merged.client_message_id,
                    )
                raise
            requests += 1
        return SendResult(
            messages=tuple(results),
            plan=plan,
            requests=requests,
            client_message_id=merged.client_message_id,
        )

    async def send_batch(
        self,
        recipients: Sequence[str],
        text: str,
        options: SendOptions | None = None,
        *,
        retry: RetryPolicy | None = None,
    ) -> SendResult:
        """Send one request to normalized numbers; for callers that batch themselves."""
        if not 1 <= len(recipients) <= self.max_batch_size:
            raise ClickatellInvalidRequestError(
                f"A batch takes 1 to {self.max_batch_size} recipients, not {len(recipients)}"
            )
        merged = self.options_for(options)
        plan = self._plan(text, merged)
        messages = await self._send_batch(list(recipients), plan, merged, retry)
        return SendResult(
            messages=tuple(messages),
            plan=plan,
            requests=1,
            client_message_id=merged.client_message_id,
        )

    async def _send_batch(
        self,
        batch: list[str],
        plan: MessagePlan,
        options: SendOptions,
        retry: RetryPolicy | None,
    ) -> list[MessageResult]:
        return await self._call(
            self._flavour.send_request(batch, plan, options),
            lambda response: self._flavour.parse_send(response, batch),
            read_only=False,
            retry=retry,
        )

    async def balance(self) -> Balance:
        """Credits left on the account."""
        return await self._call(
            self._flavour.balance_request(), self._flavour.parse_balance, read_only=True
        )

    async def coverage(self, number: str) -> Coverage:
        """Whether a number is routable, and the lowest charge of one part.

        Seed 001: not to be called before each message.
        """
        msisdn = self.normalize(number)
        return await self._call(
            self._flavour.coverage_request(msisdn),
            lambda response: self._flavour.parse_coverage(response, msisdn),
            read_only=True,
        )

    async def stop(self, api_message_id: str) -> StopResult:
        """Try to stop a scheduled or queued message."""
        _check_message_id(api_message_id)
        return await self._call(
            self._flavour.stop_request(api_message_id),
            lambda response: self._flavour.parse_stop(response, api_message_id),
            read_only=False,
        )

    async def message_status(self, api_message_id: str) -> DeliveryStatus:
        """A message's status now (the "Query Message" command); a read, safe to repeat.

        Callbacks are Clickatell's preferred way (seed 001 section 7); this is for
        a message whose callback has not come.
        """
        _check_message_id(api_message_id)
        return await self._call(
            self._flavour.status_request(api_message_id),
            lambda response: self._flavour.parse_status(response, api_message_id),
            read_only=True,
        )

    # Transport

    def _redact(self, text: str) -> str:
        for secret in self._credentials.secrets():
            text = text.replace(secret, _REDACTED)
        return text

    async def _call(
        self,
        request: ApiRequest,
        parse: Callable[[ApiResponse], _T],
        *,
        read_only: bool,
        retry: RetryPolicy | None = None,
    ) -> _T:
        """Send a request and read its answer, trying again as the retry policy allows."""
        policy = self.retry if retry is None else retry
        loop = asyncio.get_running_loop()
        deadline = loop.time() + policy.deadline
        retries = 0
        while True:
            try:
                return self._parse(parse, await self._request(request))
            except ClickatellError as error:
                delay = policy.delay(error, retries, read_only=read_only)
                if delay is None or loop.time() + delay > deadline:
                    raise
                _LOGGER.debug("%s; retrying in %.2fs", type(error).__name__, delay)
            await asyncio.sleep(delay)
            retries += 1

    def _parse(self, parse: Callable[[ApiResponse], _T], response: ApiResponse) -> _T:
        """Whatever an answer does to a parser, the caller gets one of our errors."""
        try:
            return parse(response)
        except ClickatellError:
            raise
        except Exception as error:  # noqa: BLE001 - hostile input must not escape the tree
            raise ClickatellInvalidResponseError(
                f"The Clickatell {self.api.value} API answered with something unreadable "
                f"({type(error).__name__})",
                status=response.status,
            ) from None

    async def _request(self, request: ApiRequest) -> ApiResponse:
        """Send one request and read the whole answer; every failure becomes ours."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
            self._close_session = True
        url = self._base_url.with_path(self._base_url.path.rstrip("/") + request.path)
        try:
            async with (
                asyncio.timeout(self._request_timeout),
                self._session.request(
                    request.method,
                    url,
                    params=request.params,
                    data=request.body.encode() if isinstance(request.body, str) else request.body,
                    headers=request.headers,
                    allow_redirects=False,
                ) as response,
            ):
                raw = bytearray()
                async for chunk in response.content.iter_chunked(1 << 16):
                    raw += chunk
                    if len(raw) > MAX_RESPONSE_BYTES:
                        break
                charset = response.charset or "utf-8"
                status = response.status
                content_type = response.content_type.lower()
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        except TimeoutError:
            raise ClickatellTimeoutError(
                f"Timeout after {self._request_timeout:g}s talking to the Clickatell "
                f"{self.api.value} API"
            ) from None
        except aiohttp.ClientConnectorError as error:  # DNS, refused, unreachable, TLS set-up
            raise ClickatellCannotConnectError(
                f"Cannot connect to the Clickatell {self.api.value} API: "
                f"{type(error).__name__}: {self._redact(str(error))}"
            ) from None
        except (aiohttp.ClientError, OSError) as error:  # OSError covers socket.gaierror
            # `from None`: aiohttp's own messages may hold the URL, and the HTTP
            # API's URL holds the password.
            raise ClickatellConnectionError(
                f"Error talking to the Clickatell {self.api.value} API: "
                f"{type(error).__name__}: {self._redact(str(error))}"
            ) from None
        _LOGGER.debug("%s %s -> %s", request.method, url.path, status)
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ClickatellInvalidResponseError(
                f"The Clickatell {self.api.value} API answered with more than "
                f"{MAX_RESPONSE_BYTES} bytes",
                status=status,
            )
        try:
            text = raw.decode(charset)
        except (UnicodeDecodeError, LookupError):
            raise ClickatellInvalidResponseError(
                f"The Clickatell {self.api.value} API answered with undecodable text",
                status=status,
            ) from None
        return ApiResponse(
            status=status, content_type=content_type, text=text, retry_after=retry_after
        )

    # Lifecycle

    async def close(self) -> None:
        """Close the session if the client created it."""
        if self._session is not None and self._close_session:
            await self._session.close()
            self._session = None
            self._close_session = False

    async def __aenter__(self) -> Self:
        """Use the client as an async context manager."""
        return self

    async def __aexit__(self, *_exc_info: object) -> None:
        """Close what the client opened."""
        await self.close()

    def __repr__(self) -> str:
        """Never show the credentials."""
        return f"ClickatellClient(api={self.api.value!r}, base_url={str(self._base_url)!r})"


def _check_message_id(api_message_id: str) -> None:
    """An ID goes into a path or a parameter: letters and digits only."""
    if not api_message_id or not api_message_id.isalnum():
        raise ClickatellInvalidRequestError("A message ID is letters and digits (code 109)")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False
