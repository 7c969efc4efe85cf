"""The `clickatell-relay` command: talk to Clickatell, run the simulator (and the relay).

Every API error class has its own exit status, so scripts can tell "fix the
key" from "try again later". Credentials come from options or the
environment and are never printed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from typing import Any

from aioclickatell import (
    ApiFlavour,
    ClickatellAuthenticationError,
    ClickatellClient,
    ClickatellConnectionError,
    ClickatellDestinationError,
    ClickatellError,
    ClickatellInvalidRequestError,
    ClickatellInvalidResponseError,
    ClickatellPaymentRequiredError,
    ClickatellRateLimitError,
    ClickatellServiceUnavailableError,
    ContentFormat,
    HttpMethod,
    Overflow,
    PlatformEndpoint,
    SendOptions,
)

from . import __version__

# Exit statuses, most specific class first (subclasses before their bases).
EXIT_STATUSES: tuple[tuple[type[ClickatellError], int], ...] = (
    (ClickatellAuthenticationError, 3),
    (ClickatellPaymentRequiredError, 4),
    (ClickatellRateLimitError, 5),
    (ClickatellDestinationError, 7),
    (ClickatellInvalidRequestError, 6),
    (ClickatellServiceUnavailableError, 8),
    (ClickatellConnectionError, 9),
    (ClickatellInvalidResponseError, 10),
    (ClickatellError, 1),
)
EXIT_REJECTED = 7  # the API refused at least one recipient

Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def exit_status(error: ClickatellError) -> int:
    """The exit status for an error class."""
    return next(status for kind, status in EXIT_STATUSES if isinstance(error, kind))


def _add_api_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("API")
    group.add_argument(
        "--api",
        choices=[flavour.value for flavour in ApiFlavour],
        default=os.environ.get("CLICKATELL_API", ApiFlavour.PLATFORM.value),
        help="which Clickatell API (default: platform, or $CLICKATELL_API)",
    )
    group.add_argument(
        "--base-url",
        default=os.environ.get("CLICKATELL_BASE_URL"),
        help="API base URL, e.g. the simulator's (default: Clickatell's, or $CLICKATELL_BASE_URL)",
    )
    group.add_argument("--api-key", help="REST/Platform key (default: $CLICKATELL_API_KEY)")
    group.add_argument("--username", help="HTTP API user (default: $CLICKATELL_USERNAME)")
    group.add_argument("--password", help="HTTP API password (default: $CLICKATELL_PASSWORD)")
    group.add_argument("--api-id", help="HTTP API api_id (default: $CLICKATELL_API_ID)")
    group.add_argument(
        "--format", choices=[fmt.value for fmt in ContentFormat], default=ContentFormat.JSON.value
    )
    group.add_argument(
        "--platform-endpoint",
        choices=[endpoint.value for endpoint in PlatformEndpoint],
        default=PlatformEndpoint.ONE_API.value,
    )
    group.add_argument(
        "--http-method", choices=[method.value for method in HttpMethod], default="POST"
    )
    group.add_argument("--region", help="default region for national numbers, e.g. ZA")
    group.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    group.add_argument("--json", action="store_true", help="print results as JSON")


def client_from_args(args: argparse.Namespace, **extra: Any) -> ClickatellClient:  # noqa: ANN401
    """A client configured from the command line and the environment."""
    environ = os.environ
    return ClickatellClient(
        api=ApiFlavour(args.api),
        api_key=args.api_key or environ.get("CLICKATELL_API_KEY"),
        username=args.username or environ.get("CLICKATELL_USERNAME"),
        password=args.password or environ.get("CLICKATELL_PASSWORD"),
        api_id=args.api_id or environ.get("CLICKATELL_API_ID"),
        base_url=args.base_url,
        content_format=ContentFormat(args.format),
        platform_endpoint=PlatformEndpoint(args.platform_endpoint),
        http_method=HttpMethod(args.http_method),
        default_region=args.region,
        request_timeout=args.timeout,
        **extra,
    )


def _print(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, default=str))  # noqa: T201
    else:
        print("\n".join(lines))  # noqa: T201


async def _send(args: argparse.Namespace) -> int:
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
    async with client_from_args(args, overflow=overflow, max_batch_size=args.batch_size) as client:
        result = await client.send(args.to, args.text, options)
    lines = [
        f"{message.to}: "
        + (
            f"accepted, message ID {message.api_message_id}"
            if message.accepted
            else f"rejected, error {message.error_code}: {message.error_description}"
        )
        for message in result.messages
    ]
    lines.append(
        f"{len(result.accepted)} accepted, {len(result.rejected)} rejected; "
        f"{result.plan.parts} part(s) of {result.plan.encoding.value} each; "
        f"{result.requests} request(s)"
    )
    _print(args, result.as_dict(), lines)
    return EXIT_REJECTED if result.rejected else 0


async def _balance(args: argparse.Namespace) -> int:
    async with client_from_args(args) as client:
        balance = await client.balance()
    currency = f" {balance.currency}" if balance.currency else " credits"
    _print(
        args,
        {"balance": balance.balance, "currency": balance.currency},
        [f"{balance.balance:.2f}{currency}"],
    )
    return 0


async def _coverage(args: argparse.Namespace) -> int:
    async with client_from_args(args) as client:
        coverage = await client.coverage(args.number)
    charge = (
        "" if coverage.minimum_charge is None else f", minimum charge {coverage.minimum_charge:g}"
    )
    _print(
        args,
        {
            "destination": coverage.destination,
            "routable": coverage.routable,
            "minimum_charge": coverage.minimum_charge,
        },
        [f"{coverage.destination}: {'routable' if coverage.routable else 'not routable'}{charge}"],
    )
    return 0 if coverage.routable else EXIT_REJECTED


async def _stop(args: argparse.Namespace) -> int:
    async with client_from_args(args) as client:
        result = await client.stop(args.message_id)
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
    return 0 if result.stopped else 1


async def _simulator(args: argparse.Namespace) -> int:
    from .simulator import Account, Simulator, run_forever  # noqa: PLC0415 - only this command

    account = Account(
        api_key=args.api_key or os.environ.get("CLICKATELL_API_KEY") or "simulator-key",
        username=args.username,
        password=args.password or os.environ.get("CLICKATELL_PASSWORD") or "simulator-password",
        api_id=args.api_id,
        balance=args.balance,
    )
    simulator = Simulator(account)
    simulator.messages_per_second = args.messages_per_second
    await run_forever(simulator, args.host, args.port)
    return 0


def _iso_datetime(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-01-01T08:00:00+00:00")
    return when


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="clickatell-relay", description="Clickatell SMS from the command line and from MQTT."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    send = commands.add_parser("send", help="send an SMS directly through the API")
    _add_api_arguments(send)
    send.add_argument("--to", action="append", required=True, help="recipient (repeatable)")
    send.add_argument("--text", required=True)
    send.add_argument("--from", dest="sender", help="sender ID or two-way number")
    send.add_argument("--client-message-id")
    send.add_argument("--schedule", type=_iso_datetime, help="ISO 8601 time, up to 7 days ahead")
    send.add_argument("--validity", type=int, help="minutes the gateway may keep trying")
    send.add_argument("--unicode", action="store_true", default=None, help="force UCS-2")
    send.add_argument("--max-parts", type=int, help="refuse (or truncate) longer texts")
    send.add_argument("--truncate", action="store_true", help="truncate instead of refusing")
    send.add_argument("--priority", type=int, choices=(1, 2, 3), help="delivery queue, 1 first")
    send.add_argument("--batch-size", type=int, default=200, help="recipients per request")
    send.set_defaults(handler=_send)

    balance = commands.add_parser("balance", help="show the account balance")
    _add_api_arguments(balance)
    balance.set_defaults(handler=_balance)

    coverage = commands.add_parser("coverage", help="check whether a number can be reached")
    _add_api_arguments(coverage)
    coverage.add_argument("number")
    coverage.set_defaults(handler=_coverage)

    stop = commands.add_parser("stop", help="stop a scheduled message")
    _add_api_arguments(stop)
    stop.add_argument("message_id")
    stop.set_defaults(handler=_stop)

    simulator = commands.add_parser("simulator", help="run the bundled Clickatell simulator")
    simulator.add_argument("--host", default="127.0.0.1")
    simulator.add_argument("--port", type=int, default=8099)
    simulator.add_argument("--api-key", help="key it accepts (default: $CLICKATELL_API_KEY)")
    simulator.add_argument("--username", default="simulator")
    simulator.add_argument("--password", help="HTTP API password (default: $CLICKATELL_PASSWORD)")
    simulator.add_argument("--api-id", default="1")
    simulator.add_argument("--balance", type=Decimal, default=Decimal(100))
    simulator.add_argument(
        "--messages-per-second", type=float, default=None, help="answer 429 above this rate"
    )
    simulator.set_defaults(handler=_simulator)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run a command; return its exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    handler: Command = args.handler
    try:
        return asyncio.run(handler(args))
    except ClickatellError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return exit_status(error)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
