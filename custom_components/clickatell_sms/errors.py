"""Which translated message names each of the client's errors, and which errors are for now."""

from typing import Final

from .aioclickatell import (
    ApiFlavour,
    ClickatellAuthenticationError,
    ClickatellCannotConnectError,
    ClickatellConnectionError,
    ClickatellDestinationError,
    ClickatellError,
    ClickatellInvalidResponseError,
    ClickatellIpLockdownError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    ClickatellServiceUnavailableError,
    ClickatellTimeoutError,
)
from .aioclickatell.codes import api_error

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
    accepted: the client does not send it again, and the message says so. A
    send that never connected was tried again (SEND_RETRY), and nothing went;
    a read (a poll, stopping a message) is tried once.
    """
    if sending and isinstance(error, ClickatellCannotConnectError):
        return "send_cannot_connect"
    if sending and isinstance(error, ClickatellConnectionError):
        return "send_unconfirmed"
    return next((key for kind, key in _KEYS if isinstance(error, kind)), "api_error")


def worth_retrying(error: ClickatellError) -> bool:
    """Whether a send that failed so may go later, from the outbox.

    Clickatell could not be reached, asked to wait (503 / 901, 429 / 130),
    or its answer was lost: a timeout, a connection broken mid-request or an
    answer nobody can read. The last three may hide an accepted SMS, so
    sending again may text twice; not sending again may lose an alarm, and
    the outbox chooses the duplicate (see docs/home-assistant.md).
    """
    return isinstance(
        error,
        ClickatellConnectionError
        | ClickatellServiceUnavailableError
        | ClickatellRateLimitError
        | ClickatellInvalidResponseError,
    )


def refused_for_now(api: ApiFlavour, code: str | None) -> bool:
    """Whether Clickatell refused one recipient for now (901, 130; the One API's 18, 19, 43).

    The client's own table decides, as it does for a whole request.
    """
    return code is not None and isinstance(
        api_error(api, code=code), ClickatellServiceUnavailableError | ClickatellRateLimitError
    )
