"""Which translated message names each of the client's errors."""

from typing import Final

from .aioclickatell import (
    ClickatellAuthenticationError,
    ClickatellCannotConnectError,
    ClickatellConnectionError,
    ClickatellDestinationError,
    ClickatellError,
    ClickatellIpLockdownError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    ClickatellServiceUnavailableError,
    ClickatellTimeoutError,
)

# The most specific class first: the first match names the error.
_KEYS: Final[tuple[tuple[type[ClickatellError], str], ...]] = (
    (ClickatellIpLockdownError, "ip_lockdown"),
    (ClickatellAuthenticationError, "authentication_failed"),
    (ClickatellPaymentRequiredError, "no_credit"),
    (ClickatellRateLimitError, "rate_limited"),
    (ClickatellServiceUnavailableError, "service_unavailable"),
    (ClickatellDestinationError, "destination_error"),
    (ClickatellCannotConnectError, "cannot_connect"),
    (ClickatellTimeoutError, "timeout"),
    (ClickatellConnectionError, "connection_lost"),
)


def error_key(error: ClickatellError, *, sending: bool = False) -> str:
    """The `exceptions` key of strings.json that says what happened.

    A send that timed out or lost its connection mid-request may have been
    accepted: the client does not send it again, and the message says so.
    """
    if (
        sending
        and isinstance(error, ClickatellConnectionError)
        and not isinstance(error, ClickatellCannotConnectError)
    ):
        return "send_unconfirmed"
    return next((key for kind, key in _KEYS if isinstance(error, kind)), "api_error")
