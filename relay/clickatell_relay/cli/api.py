"""`send`, `balance`, `coverage` and `stop`: straight to Clickatell, no relay and no queue.

A send retries only what Clickatell says to retry (the client's
`RetryPolicy`), never a request it may have taken. When a later request of
a send fails after earlier ones were accepted, what was accepted is printed
first (message IDs), and the exit status says "partial": sending again
would text those people twice. Every error says what to do where the
command line can say it (`--region`, which API has `coverage`).
"""

from __future__ import annotations

import json
import os
import sys
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

from aioclickatell import (
    ApiFlavour,
    ClickatellCannotConnectError,
    ClickatellClient,
    ClickatellConnectionError,
    ClickatellError,
    ClickatellInvalidRecipientError,
    ClickatellUnsupportedError,
    ContentFormat,
    HttpMethod,
    Operation,
    Overflow,
    PlatformEndpoint,
    RetryPolicy,
    SendOptions,
    normalize_numbers,
)
from aioclickatell.flavours import Credentials, flavour_for

from .exits import CommandError, Exit, exit_status
from .sources import environment, secret

if TYPE_CHECKING:
    import argparse
    from collections.abc import Awaitable, Callable, Mapping

    from aioclickatell import SendResult

_T = TypeVar("_T")


# Commands for what not every Clickatell API can do.
_NOT_EVERYWHERE = frozenset({Operation.COVERAGE.value, Operation.STOP.value})


def _operations(api: ApiFlavour) -> frozenset[Operation]:
    return flavour_for(api, Credentials()).operations


def _api(args: argparse.Namespace, environ: Mapping[str, str]) -> ApiFlavour:
    return ApiFlavour(args.api or environ.get("CLICKATELL_API") or ApiFlavour.PLATFORM)


def client_from_args(args: argparse.Namespace, **extra: Any) -> ClickatellClient:  # noqa: ANN401
    """A client configured from the command line, `--env-file` and the environment."""
    environ, warnings = environment(args)
    for warning in warnings:
        print(warning, file=sys.stderr)  # noqa: T201
    return ClickatellClient(
        api=_api(args, environ),
        api_key=secret(args, "api_key", "CLICKATELL_API_KEY", environ),
        username=args.username or environ.get("CLICKATELL_USERNAME"),
        password=secret(args, "password", "CLICKATELL_PASSWORD", environ),
        api_id=secret(args, "api_id", "CLICKATELL_API_ID", environ),
        base_url=args.base_url or environ.get("CLICKATELL_BASE_URL"),
        content_format=ContentFormat(args.format),
        platform_endpoint=PlatformEndpoint(args.platform_endpoint),
        http_method=HttpMethod(args.http_method),
        default_region=args.region,
        request_timeout=args.timeout,
        retry=RetryPolicy(attempts=max(args.retries, 0)),
        **extra,
    )


def _print(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, default=str))  # noqa: T201
    else:
        print("\n".join(lines))  # noqa: T201


def explained(error: ClickatellError, args: argparse.Namespace) -> CommandError:
    """The error with what the user can do about it, and its exit status."""
    hints: list[str] = []
    if (
        isinstance(error, ClickatellInvalidRecipientError)
        and not args.region
        and any(not number.startswith(("+", "00")) for number in error.numbers)
    ):
        hints.append(
            "a national number needs --region (e.g. --region ZA), "
            "or write it in international format (+27...)"
        )
    if isinstance(error, ClickatellUnsupportedError) and args.command in _NOT_EVERYWHERE:
        operation = Operation(args.command)
        having = [api for api in ApiFlavour if operation in _operations(api)]
        if _api(args, os.environ) not in having:
            apis = " or ".join(f"--api {api.value}" for api in having)
            hints.append(f"{apis} can {operation.value}, with that API's credentials")
    if (
        isinstance(error, ClickatellConnectionError)
        and not isinstance(error, ClickatellCannotConnectError)
        and args.command == "send"
    ):
        hints.append(
            "the request may have been accepted, so it was not retried: "
            "check (the balance, Clickatell's reports) before sending again"
        )
    return CommandError(str(error), exit_status(error), hints)


class Progress:
    """`sent 200/450 recipients` on a terminal, rewritten in place; silent on a pipe."""

    def __init__(self, stream: TextIO) -> None:
        """Write to `stream` if it is a terminal."""
        self._stream = stream if stream.isatty() else None
        self._shown = False

    def __call__(self, done: int, total: int) -> None:
        """After each request: recipients answered so far."""
        if self._stream is not None and done < total:
            self._stream.write(f"\rsent {done}/{total} recipients")
            self._stream.flush()
            self._shown = True

    def clear(self) -> None:
        """Leave the line clean for what follows."""
        if self._stream is not None and self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()


def _result_lines(result: SendResult) -> list[str]:
    return [
        f"{message.to}: "
        + (
            f"accepted, message ID {message.api_message_id}"
            if message.accepted
            else f"rejected, error {message.error_code}: {message.error_description}"
        )
        for message in result.messages
    ]


async def send(args: argparse.Namespace) -> int:
    """Send one text to every recipient; a line per recipient, then a summary."""
    options = SendOptions(
        sender=args.sender,
        client_message_id=args.client_message_id,
        scheduled_delivery_time=args.schedule,
        validity_period=args.validity,
        unicode=args.unicode,
        max_message_parts=args.max_parts,
        user_priority_queue=args.priority,
    )
    overflow = Overflow.TRUNCATE if args.truncate else Overflow.REFUSE
    progress = Progress(sys.stderr)
    try:
        async with client_from_args(
            args, overflow=overflow, max_batch_size=args.batch_size
        ) as client:
            result = await client.send(args.to, args.text, options, progress=progress)
    except ClickatellError as error:
        progress.clear()
        if error.partial_result is None:
            raise explained(error, args) from None
        raise _partial(args, error, error.partial_result) from None
    progress.clear()
    lines = _result_lines(result)
    lines.append(
        f"{len(result.accepted)} accepted, {len(result.rejected)} rejected; "
        f"{result.plan.parts} part(s) of {result.plan.encoding.value} each; "
        f"{result.requests} request(s)"
    )
    _print(args, result.as_dict(), lines)
    return Exit.RECIPIENT_REFUSED if result.rejected else Exit.OK


def _partial(args: argparse.Namespace, error: ClickatellError, partial: SendResult) -> CommandError:
    """Print what went out and what did not; the error that says why."""
    answered = {message.to for message in partial.messages}
    unsent = [
        number for number in normalize_numbers(args.to, args.region) if number not in answered
    ]
    lines = _result_lines(partial)
    lines.extend(f"{number}: not sent" for number in unsent)
    _print(args, {**partial.as_dict(), "not_sent": unsent, "error": str(error)}, lines)
    return CommandError(
        f"{len(partial.accepted)} of {len(answered) + len(unsent)} recipient(s) accepted "
        f"(their message IDs are above), {len(unsent)} not sent: {error}",
        Exit.PARTIAL_SEND,
        [
            (
                "do not simply send again, which would text the accepted ones twice: "
                "send to those not sent"
            )
        ],
    )


async def _call(args: argparse.Namespace, call: Callable[[ClickatellClient], Awaitable[_T]]) -> _T:
    """One call through a client made for the command, its error explained."""
    try:
        async with client_from_args(args) as client:
            return await call(client)
    except ClickatellError as error:
        raise explained(error, args) from None


async def balance(args: argparse.Namespace) -> int:
    """The account's credit."""
    result = await _call(args, lambda client: client.balance())
    currency = f" {result.currency}" if result.currency else " credits"
    _print(
        args,
        {"balance": result.balance, "currency": result.currency},
        [f"{result.balance:.2f}{currency}"],
    )
    return Exit.OK


async def coverage(args: argparse.Namespace) -> int:
    """Whether a number can be reached (exit 7 when not)."""
    result = await _call(args, lambda client: client.coverage(args.number))
    charge = "" if result.minimum_charge is None else f", minimum charge {result.minimum_charge:g}"
    routable = "routable" if result.routable else "not routable"
    _print(
        args,
        {
            "destination": result.destination,
            "routable": result.routable,
            "minimum_charge": result.minimum_charge,
        },
        [f"{result.destination}: {routable}{charge}"],
    )
    return Exit.OK if result.routable else Exit.RECIPIENT_REFUSED


async def stop(args: argparse.Namespace) -> int:
    """Stop a scheduled message (exit 1 when it could not be stopped)."""
    result = await _call(args, lambda client: client.stop(args.message_id))
    _print(
        args,
        {
            "api_message_id": result.api_message_id,
            "status": result.status,
            "description": result.description,
            "stopped": result.stopped,
        },
        [f"{result.api_message_id}: status {result.status} {result.description or ''}".rstrip()],
    )
    return Exit.OK if result.stopped else Exit.FAILED
