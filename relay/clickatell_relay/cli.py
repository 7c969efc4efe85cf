"""The `clickatell-relay` command: run the relay, inspect its queue, talk to Clickatell.

`run`, `check-config`, `queue` and `demo` are the relay; `send`, `balance`,
`coverage` and `stop` talk to the API directly (`send --queue` puts the SMS in
the relay's queue instead); `simulator` runs the bundled Clickatell
simulator. Every API error class has its own exit status, so scripts can tell
"fix the key" from "try again later"; a configuration error exits with 78
(EX_CONFIG), which the systemd unit does not restart on, and `run` on a queue
another relay runs on exits with 75 (EX_TEMPFAIL). Credentials come
from options, the configuration or the environment and are never printed.
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
from .config import DEFAULT_CONFIG_PATH, ConfigError, RelayConfig, load_config

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
EXIT_LOCKED = 75  # sysexits.h EX_TEMPFAIL: another relay runs on this queue; try again later
EXIT_CONFIG = 78  # sysexits.h EX_CONFIG: fix the configuration, restarting will not help
DEFAULT_CONFIG = os.environ.get("CLICKATELL_RELAY_CONFIG", DEFAULT_CONFIG_PATH)

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


def _recipients(values: list[str]) -> list[str]:
    """`--to` is repeatable and takes comma-separated lists too."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


async def _send(args: argparse.Namespace) -> int:
    if args.queue:
        return _send_to_queue(args)
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
        result = await client.send(_recipients(args.to), args.text, options)
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


def _send_to_queue(args: argparse.Namespace) -> int:
    """Put an SMS in the relay's queue: the same checks as an MQTT alert, sent by the relay."""
    from .dispatch import new_client_message_id  # noqa: PLC0415 - relay modules load on demand
    from .payload import Alert, Rejection, parse_payload  # noqa: PLC0415
    from .routing import Router  # noqa: PLC0415
    from .store import NewSms, Store  # noqa: PLC0415

    config = _config_or_exit(args.config)
    router = Router(config)
    route = next((item for item in config.routes if item.name == args.route), None)
    if args.route and route is None:
        print(f"error: no route named {args.route!r}", file=sys.stderr)  # noqa: T201
        return 2
    route = route or config.routes[0]
    parsed = parse_payload(
        args.text.encode(),
        topic=f"cli/{route.name}",
        mode="text",
        max_parts=route.max_parts,
        max_bytes=config.mqtt.max_payload_bytes,
    )
    if isinstance(parsed, Rejection):
        print(f"error: {parsed.reason}: {parsed.detail}", file=sys.stderr)  # noqa: T201
        return 2
    routed = router.resolve(
        route,
        Alert(
            text=parsed.text,
            recipients=tuple(_recipients(args.to)),
            priority=args.priority_level,
        ),
    )
    if isinstance(routed, Rejection):
        print(f"error: {routed.reason}: {routed.detail}", file=sys.stderr)  # noqa: T201
        return 2
    store = Store(config.queue.path)
    try:
        client_message_id = new_client_message_id()
        queued = store.enqueue(
            NewSms(
                client_message_id=client_message_id,
                recipients=routed.numbers,
                text=parsed.text,
                route=route.name,
                topic=f"cli/{route.name}",
                priority=routed.priority,
                options=route.options.to_json(),
                max_parts=route.max_parts,
            ),
            max_messages=config.queue.max_messages,
        )
    finally:
        store.close()
    if not queued:
        print("error: the queue is full", file=sys.stderr)  # noqa: T201
        return 1
    print(  # noqa: T201
        f"Queued {len(routed.numbers)} SMS (clientMessageId {client_message_id}); "
        "the running relay sends them within its poll interval"
    )
    return 0


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


def _config_or_exit(path: str) -> RelayConfig:
    try:
        return load_config(path)
    except ConfigError as error:
        print(error, file=sys.stderr)  # noqa: T201
        raise SystemExit(EXIT_CONFIG) from None


async def _run(args: argparse.Namespace) -> int:
    from .relay import run_relay  # noqa: PLC0415 - needs paho, which `send` does not
    from .store import QueueLockedError  # noqa: PLC0415

    config = _config_or_exit(args.config)
    # The relay logs to stdout; under systemd (JOURNAL_STREAM set) journald adds the time.
    fmt = "%(levelname)s %(name)s: %(message)s"
    if not os.environ.get("JOURNAL_STREAM"):
        fmt = "%(asctime)s " + fmt
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else config.log_level,
        format=fmt,
        stream=sys.stdout,
        force=True,
    )
    try:
        return await run_relay(config)
    except QueueLockedError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return EXIT_LOCKED


async def _check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as error:
        print(error, file=sys.stderr)  # noqa: T201
        return EXIT_CONFIG
    if args.show:
        print(json.dumps(config.redacted(), indent=2, default=str))  # noqa: T201
    print(  # noqa: T201
        f"{args.config}: OK: {len(config.routes)} route(s), {len(config.contacts)} contact(s), "
        f"{len(config.groups)} group(s), {len(config.allowlist)} allowlisted number(s)"
    )
    return 0


async def _queue(args: argparse.Namespace) -> int:
    from .store import Store  # noqa: PLC0415 - relay modules load on demand

    config = _config_or_exit(args.config)
    store = Store(config.queue.path)
    try:
        if args.action == "retry":
            count = store.retry_dead(None if args.all else args.ids)
            print(f"{count} dead SMS queued again")  # noqa: T201
            return 0 if count or not args.ids else 1
        if args.action == "purge-dead":
            print(f"{store.purge_dead()} dead letter(s) purged")  # noqa: T201
            return 0
        stats = store.stats()
        queued = store.messages(state="queued", limit=args.limit)
        dead = store.dead_letters(args.limit)
    finally:
        store.close()
    data = {
        "queue_depth": stats.queue_depth,
        "digest_waiting": stats.digest_waiting,
        "oldest_queued_at": stats.oldest_queued_at,
        "counters": stats.counters,
        "queued": queued,
        "dead_letters": [letter.to_json() for letter in dead],
    }
    counters = ", ".join(f"{key} {value:g}" for key, value in sorted(stats.counters.items()))
    lines = [
        (
            f"{stats.queue_depth} SMS queued, {stats.digest_waiting} alert(s) waiting for a "
            f"digest, {stats.dead_letters} dead letter(s)"
        ),
        f"counters: {counters}",
    ]
    lines.extend(
        f"  queued #{row['id']} p{row['priority']} to {row['recipient']}: {row['text'][:60]!r}"
        + (f" (last error: {row['error']})" if row["error"] else "")
        for row in queued
    )
    lines.extend(
        f"  dead #{letter.id} {letter.reason}{' ' + letter.code if letter.code else ''}: "
        f"{letter.detail}"
        + (f" ({letter.recipient})" if letter.recipient else "")
        + ("" if letter.sms_id is None else " [retryable]")
        for letter in dead
    )
    _print(args, data, lines)
    return 0


async def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo  # noqa: PLC0415 - needs mosquitto and the simulator

    return await run_demo(deadline=args.timeout)


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
    _add_relay_commands(commands)
    _add_api_commands(commands)
    return parser


def _add_relay_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    run = commands.add_parser("run", help="run the relay: MQTT alerts to SMS")
    run.add_argument("--config", default=DEFAULT_CONFIG, help=f"default: {DEFAULT_CONFIG}")
    run.set_defaults(handler=_run)

    check = commands.add_parser("check-config", help="check a configuration file")
    check.add_argument("--config", default=DEFAULT_CONFIG, help=f"default: {DEFAULT_CONFIG}")
    check.add_argument("--show", action="store_true", help="print it, secrets redacted")
    check.set_defaults(handler=_check_config)

    queue = commands.add_parser("queue", help="inspect the queue, retry or purge dead letters")
    queue.add_argument("action", choices=("list", "retry", "purge-dead"))
    queue.add_argument("ids", nargs="*", type=int, help="dead letter IDs to retry")
    queue.add_argument("--all", action="store_true", help="retry every dead SMS")
    queue.add_argument("--config", default=DEFAULT_CONFIG, help=f"default: {DEFAULT_CONFIG}")
    queue.add_argument("--limit", type=int, default=20, help="rows to list")
    queue.add_argument("--json", action="store_true", help="print as JSON")
    queue.set_defaults(handler=_queue)

    demo = commands.add_parser(
        "demo", help="run mosquitto, the simulator and the relay, and show alerts becoming SMS"
    )
    demo.add_argument("--timeout", type=float, default=25.0, help="seconds to wait for the SMS")
    demo.set_defaults(handler=_demo)


def _add_api_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    send = commands.add_parser(
        "send", help="send an SMS through the API, or with --queue through the relay's queue"
    )
    _add_api_arguments(send)
    send.add_argument(
        "--queue",
        action="store_true",
        help="put it in the relay's queue (recipients: contacts, groups or allowlisted numbers)",
    )
    send.add_argument("--config", default=DEFAULT_CONFIG, help="the relay's (with --queue)")
    send.add_argument("--route", help="with --queue: the route whose priority and options apply")
    send.add_argument(
        "--priority-level",
        type=int,
        choices=range(10),
        metavar="0-9",
        help="with --queue: priority in the relay's queue",
    )
    send.add_argument(
        "--to", action="append", required=True, help="recipient(s), comma-separated or repeated"
    )
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
