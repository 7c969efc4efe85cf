"""One exception tree for everything that can go wrong talking to Clickatell.

Every error carries the API's code and description where the API gave one, and
never a credential: messages are built by the client, not copied from requests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import SendResult


class ClickatellError(Exception):
    """Base of every error the client raises."""

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        description: str | None = None,
        status: int | None = None,
    ) -> None:
        """Keep the API's code, description and HTTP status beside the message."""
        super().__init__(message)
        self.code = code
        self.description = description
        self.status = status
        # Set by ClickatellClient.send when a later batch fails after earlier
        # batches were accepted, so callers know what already went out.
        self.partial_result: SendResult | None = None


class ClickatellConnectionError(ClickatellError):
    """The API could not be reached, or the connection broke."""


class ClickatellCannotConnectError(ClickatellConnectionError):
    """The connection was never made (refused, unreachable, no such host): nothing was sent."""


class ClickatellTimeoutError(ClickatellConnectionError):
    """The API did not answer within the request timeout."""


class ClickatellAuthenticationError(ClickatellError):
    """The credentials were refused (401, codes 001-005)."""


class ClickatellIpLockdownError(ClickatellAuthenticationError):
    """The account is locked to other IP addresses (code 007)."""


class ClickatellPaymentRequiredError(ClickatellError):
    """The account has no credit left (402, code 301)."""


class ClickatellRateLimitError(ClickatellError):
    """Too many requests (429), or the account's MT limit is reached (code 130)."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        code: str | None = None,
        description: str | None = None,
        status: int | None = None,
    ) -> None:
        """Remember how long the API asked us to wait, when it said."""
        super().__init__(message, code=code, description=description, status=status)
        self.retry_after = retry_after


class ClickatellInvalidRequestError(ClickatellError):
    """The API refused the request as invalid (400 family, codes 100-167)."""


class ClickatellUnsupportedError(ClickatellInvalidRequestError):
    """The configured API flavour cannot do this operation or take this option."""


class ClickatellDestinationError(ClickatellError):
    """A destination cannot receive messages (codes 105, 114, 121, 122, 128, 250; 410)."""


class ClickatellInvalidRecipientError(ClickatellDestinationError):
    """A phone number given to the client is not a valid number."""

    def __init__(self, numbers: list[str]) -> None:
        """Name every number that was refused."""
        listed = ", ".join(repr(number) for number in numbers)
        noun = "is not a valid phone number" if len(numbers) == 1 else "are not valid phone numbers"
        super().__init__(f"{listed} {noun}", code="105", description="Invalid destination address")
        self.numbers = numbers


class ClickatellServiceUnavailableError(ClickatellError):
    """Clickatell has a temporary problem (503, code 901): retry later."""


class ClickatellInvalidResponseError(ClickatellError):
    """The API answered with something the client cannot understand."""


class ClickatellInvalidCallbackError(ClickatellError):
    """A callback (status or reply) that is not what Clickatell sends: answer it 400."""


__all__ = [
    "ClickatellAuthenticationError",
    "ClickatellCannotConnectError",
    "ClickatellConnectionError",
    "ClickatellDestinationError",
    "ClickatellError",
    "ClickatellInvalidCallbackError",
    "ClickatellInvalidRecipientError",
    "ClickatellInvalidRequestError",
    "ClickatellInvalidResponseError",
    "ClickatellIpLockdownError",
    "ClickatellPaymentRequiredError",
    "ClickatellRateLimitError",
    "ClickatellServiceUnavailableError",
    "ClickatellTimeoutError",
    "ClickatellUnsupportedError",
]
