"""The grammar of every command, and the handler that runs each (named, loaded on use).

One rule throughout: global options (`-v`, `--version`) before the command,
its own options and arguments after it, in any order; anything a command
does not take is refused with its usage.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aioclickatell import ApiFlavour, ContentFormat, HttpMethod, PlatformEndpoint
from clickatell_relay import __version__
from clickatell_relay.payload import PRIORITY_HINT, parse_priority

from .sources import DEFAULT_CONFIG

if TYPE_CHECKING:
    from collections.abc import Sequence

EXIT_STATUSES_HELP = "exit statuses: see 'Exit statuses' in the relay's README"


class _Parser(argparse.ArgumentParser):
    """A command's parser: options and arguments in any order, nothing it does not take.

    argparse takes a command's `ID...` in one run only (`retry 1 --config x 2`
    left the 2 over); its intermixed parsing takes them from anywhere. What is
    left over is refused here, with this command's usage rather than the
    top-level one. Groups of commands (`queue`) parse as usual.
    """

    _intermixing = False

    def parse_known_args(  # type: ignore[override] # typeshed's overloads, one behaviour
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        """Parse intermixed, unless this parser has commands of its own."""
        if self._intermixing or self._subparsers is not None:
            return super().parse_known_args(args, namespace)
        self._intermixing = True  # its intermixed parsing calls this method again
        try:
            parsed, extras = self.parse_known_intermixed_args(args, namespace)
        finally:
            self._intermixing = False
        if extras:
            self.error(f"unrecognized arguments: {' '.join(extras)}")
        return parsed, extras


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every command."""
    parser = argparse.ArgumentParser(
        prog="clickatell-relay",
        description="Clickatell SMS from the command line and from MQTT.",
        epilog=EXIT_STATUSES_HELP,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )
    _add_relay_commands(commands)
    _add_queue_commands(commands)
    _add_api_commands(commands)
    return parser


def _command(commands: Any, name: str, handler: str, **kwargs: Any) -> argparse.ArgumentParser:  # noqa: ANN401 - argparse's private subparsers type
    """A command whose handler is `module:function` in this package, imported when it runs."""
    command: argparse.ArgumentParser = commands.add_parser(
        name, epilog=EXIT_STATUSES_HELP, **kwargs
    )
    command.set_defaults(handler=handler, parser=command)
    return command


def _relay_files() -> argparse.ArgumentParser:
    """--config and --env-file, for every command that reads relay.yaml."""
    options = argparse.ArgumentParser(add_help=False)
    options.add_argument("--config", default=DEFAULT_CONFIG, help=f"default: {DEFAULT_CONFIG}")
    _add_env_file(options)
    return options


def _add_env_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--env-file",
        metavar="FILE",
        help="read variables from FILE first, as the unit's EnvironmentFile= "
        "(e.g. /etc/clickatell-relay/secrets.env)",
    )


def _add_relay_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    files = _relay_files()
    _command(commands, "run", "daemon:run", parents=[files], help="run the relay: MQTT to SMS")
    check = _command(
        commands,
        "check-config",
        "daemon:check_config",
        parents=[files],
        help="check a configuration file; print its problems and warnings",
    )
    check.add_argument("--show", action="store_true", help="print it, secrets redacted")

    init = _command(
        commands,
        "init",
        "install:init",
        help="write relay.yaml, secrets.env and the systemd unit where the install guide says",
    )
    init.add_argument("--config-dir", default="/etc/clickatell-relay", metavar="DIR")
    init.add_argument("--unit-dir", default="/etc/systemd/system", metavar="DIR")
    init.add_argument("--force", action="store_true", help="overwrite files that exist")

    demo = _command(
        commands,
        "demo",
        "sandbox:demo",
        help="run mosquitto, the simulator and the relay, and show alerts becoming SMS",
    )
    demo.add_argument("--timeout", type=float, default=25.0, help="seconds to wait for the SMS")

    simulator = _command(
        commands, "simulator", "sandbox:simulator", help="run the bundled Clickatell simulator"
    )
    simulator.add_argument("--host", default="127.0.0.1", help="default: 127.0.0.1 (this machine)")
    simulator.add_argument("--port", type=int, default=8099)
    simulator.add_argument("--api-key", help="key it accepts (default: $CLICKATELL_API_KEY)")
    simulator.add_argument("--username", default="simulator")
    simulator.add_argument("--password", help="HTTP API password (default: $CLICKATELL_PASSWORD)")
    simulator.add_argument("--api-id", default="1")
    simulator.add_argument("--balance", type=Decimal, default=Decimal(100))
    simulator.add_argument(
        "--messages-per-second", type=float, default=None, help="answer 429 above this rate"
    )


def _dead_letter_id(value: str) -> int:
    if not value.isdigit() or int(value) == 0:
        raise argparse.ArgumentTypeError(f"not a dead letter ID (see `queue list`): {value!r}")
    return int(value)


def _priority(value: str) -> int:
    priority = parse_priority(int(value) if value.isdigit() else value)
    if priority is None:
        raise argparse.ArgumentTypeError(f"{value!r}: give {PRIORITY_HINT}")
    return priority


def _add_queue_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    queue = commands.add_parser(
        "queue", help="the relay's queue: list it, retry or purge dead letters, add an SMS"
    )
    actions = queue.add_subparsers(
        dest="action", required=True, metavar="ACTION", parser_class=_Parser
    )
    files = _relay_files()
    listing = _command(
        actions,
        "list",
        "queue:list_queue",
        parents=[files],
        help="depth, counters, SMS queued and sent (delivery), dead letters",
    )
    listing.add_argument("--limit", type=int, default=20, help="rows of each kind (default 20)")
    listing.add_argument("--json", action="store_true", help="print as JSON")
    for name, handler, verb in (
        ("retry", "queue:retry", "queue again"),
        ("purge-dead", "queue:purge", "forget"),
    ):
        action = _command(
            actions, name, handler, parents=[files], help=f"{verb} the dead letters named, or --all"
        )
        action.add_argument("ids", nargs="*", type=_dead_letter_id, metavar="ID")
        action.add_argument("--all", action="store_true", help=f"{verb} every dead letter")
    send = _command(
        actions,
        "send",
        "queue:send",
        parents=[files],
        help="put an SMS in the queue, checked as an MQTT alert; the running relay sends it",
    )
    _add_recipients_and_text(send, "contacts, groups or allowlisted numbers")
    send.add_argument("--route", help="the route whose priority and options apply (default: first)")
    send.add_argument("--priority", type=_priority, help=f"in the queue: {PRIORITY_HINT}")


def _recipient_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _add_recipients_and_text(parser: argparse.ArgumentParser, recipients: str) -> None:
    parser.add_argument(
        "--to",
        type=_recipient_list,
        action="extend",
        required=True,
        help=f"{recipients}; comma-separated or repeated",
    )
    parser.add_argument("--text", required=True)


def _iso_datetime(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an ISO 8601 time: {value!r}") from None
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError("give a time zone, e.g. 2026-01-01T08:00:00+00:00")
    return when


def _add_api_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("API")
    group.add_argument(
        "--api",
        choices=[flavour.value for flavour in ApiFlavour],
        default=None,
        help="which Clickatell API (default: $CLICKATELL_API, or platform)",
    )
    group.add_argument(
        "--base-url",
        help="API base URL, e.g. the simulator's (default: $CLICKATELL_BASE_URL, or Clickatell's)",
    )
    for name, variable, what in (
        ("api-key", "CLICKATELL_API_KEY", "REST/Platform key"),
        ("password", "CLICKATELL_PASSWORD", "HTTP API password"),
        ("api-id", "CLICKATELL_API_ID", "HTTP API api_id"),
    ):
        secret = group.add_mutually_exclusive_group()
        secret.add_argument(f"--{name}", help=f"{what} (visible in ps: prefer ${variable})")
        secret.add_argument(f"--{name}-file", metavar="FILE", help=f"read the {what} from FILE")
    group.add_argument("--username", help="HTTP API user (default: $CLICKATELL_USERNAME)")
    _add_env_file(parser)
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
    group.add_argument(
        "--retries",
        type=int,
        default=2,
        help="retries of what Clickatell says to retry (503, 901, 429 with a short "
        "Retry-After, no connection), never of a send it may have taken (default 2)",
    )
    group.add_argument("--json", action="store_true", help="print results as JSON")


def _add_api_commands(commands: Any) -> None:  # noqa: ANN401 - argparse's private subparsers type
    send = _command(commands, "send", "api:send", help="send an SMS through the API")
    _add_api_arguments(send)
    _add_recipients_and_text(send, "numbers")
    send.add_argument("--from", dest="sender", help="sender ID or two-way number")
    send.add_argument("--client-message-id")
    send.add_argument("--schedule", type=_iso_datetime, help="ISO 8601 time, up to 7 days ahead")
    send.add_argument("--validity", type=int, help="minutes the gateway may keep trying")
    send.add_argument("--unicode", action="store_true", default=None, help="force UCS-2")
    send.add_argument("--max-parts", type=int, help="refuse (or truncate) longer texts")
    send.add_argument("--truncate", action="store_true", help="truncate instead of refusing")
    send.add_argument("--priority", type=int, choices=(1, 2, 3), help="delivery queue, 1 first")
    send.add_argument("--batch-size", type=int, default=200, help="recipients per request")

    balance = _command(commands, "balance", "api:balance", help="show the account balance")
    _add_api_arguments(balance)

    coverage = _command(
        commands, "coverage", "api:coverage", help="check whether a number can be reached"
    )
    _add_api_arguments(coverage)
    coverage.add_argument("number")

    stop = _command(commands, "stop", "api:stop", help="stop a scheduled message")
    _add_api_arguments(stop)
    stop.add_argument("message_id")
