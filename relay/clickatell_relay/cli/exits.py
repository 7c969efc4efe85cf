"""The exit statuses of every command, and the refusals and failures handlers explain.

relay/README.md has the table ("Exit statuses"); a test holds it to `Exit`.
"""

from __future__ import annotations

from enum import IntEnum
from typing import TYPE_CHECKING

from aioclickatell import (
    ClickatellAuthenticationError,
    ClickatellConnectionError,
    ClickatellDestinationError,
    ClickatellError,
    ClickatellInvalidRequestError,
    ClickatellInvalidResponseError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    ClickatellServiceUnavailableError,
)

if TYPE_CHECKING:
    from collections.abc import Sequence


class Exit(IntEnum):
    """What a command's exit status says; scripts can tell "fix the key" from "try later"."""

    OK = 0
    FAILED = 1  # not all that was asked could be done; stderr says what and why
    USAGE = 2  # the command line is wrong (argparse's own status too)
    AUTHENTICATION = 3  # credentials refused
    NO_CREDIT = 4
    RATE_LIMITED = 5
    INVALID_REQUEST = 6  # refused as invalid before or by the API; nothing was sent
    RECIPIENT_REFUSED = 7  # a recipient was refused; any others were sent
    UNAVAILABLE = 8  # Clickatell's temporary trouble (503, code 901)
    CONNECTION = 9  # no answer; for a send, the request may have been accepted
    BAD_ANSWER = 10  # an answer the client cannot read
    PARTIAL_SEND = 11  # some requests of a send were accepted, then one failed
    LOCKED = 75  # sysexits.h EX_TEMPFAIL: another relay runs on this queue (`run`)
    CONFIG = 78  # sysexits.h EX_CONFIG: restarting will not help (the unit does not)
    INTERRUPTED = 130  # Ctrl-C: 128 + SIGINT


# Most specific class first (subclasses before their bases).
EXIT_STATUSES: tuple[tuple[type[ClickatellError], Exit], ...] = (
    (ClickatellAuthenticationError, Exit.AUTHENTICATION),
    (ClickatellPaymentRequiredError, Exit.NO_CREDIT),
    (ClickatellRateLimitError, Exit.RATE_LIMITED),
    (ClickatellDestinationError, Exit.RECIPIENT_REFUSED),
    (ClickatellInvalidRequestError, Exit.INVALID_REQUEST),
    (ClickatellServiceUnavailableError, Exit.UNAVAILABLE),
    (ClickatellConnectionError, Exit.CONNECTION),
    (ClickatellInvalidResponseError, Exit.BAD_ANSWER),
    (ClickatellError, Exit.FAILED),
)
EXIT_CONFIG = Exit.CONFIG


def exit_status(error: ClickatellError) -> Exit:
    """The exit status for an API error."""
    return next(status for kind, status in EXIT_STATUSES if isinstance(error, kind))


class CommandError(Exception):
    """A refusal or failure a handler explains: printed, then the command exits with `status`.

    One `error:` line per line of the message (one per thing that went wrong),
    then a `hint:` line per hint (what to do about it). With `Exit.USAGE` the
    command's usage comes first, as argparse prints it.
    """

    def __init__(self, message: str, status: Exit = Exit.FAILED, hints: Sequence[str] = ()) -> None:
        """Keep the status and the hints beside the message."""
        super().__init__(message)
        self.status = status
        self.hints = tuple(hints)
