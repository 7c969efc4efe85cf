"""The `clickatell-relay` command: run the relay, look after its queue, talk to Clickatell.

`run`, `check-config` and `init` are the relay's; `queue` reads and changes
its queue file (no API secret needed); `send`, `balance`, `coverage` and
`stop` talk to the API directly; `demo` and `simulator` need no account.
Every outcome has its exit status (`exits.py`); credentials come from the
environment, `--env-file`, files or (warned against) options, and are never
printed. One module per room, imported only by the command that runs it
(`run` on a Pi loads neither the simulator nor the API commands):

- `parser.py`: the grammar of every command
- `exits.py`: the exit statuses
- `sources.py`: relay.yaml, --env-file, secrets given as options
- `daemon.py`: run, check-config
- `queue.py`: queue list, retry, purge-dead, send
- `api.py`: send, balance, coverage, stop
- `install.py`: init
- `sandbox.py`: demo, simulator
"""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Callable, Coroutine
from importlib import import_module
from typing import TYPE_CHECKING, Any

from aioclickatell import ClickatellError
from clickatell_relay.config import ConfigError

from .exits import EXIT_CONFIG, EXIT_STATUSES, CommandError, Exit, exit_status
from .parser import build_parser

if TYPE_CHECKING:
    import argparse

Handler = Callable[["argparse.Namespace"], Coroutine[Any, Any, int]]

__all__ = [
    "EXIT_CONFIG",
    "EXIT_STATUSES",
    "CommandError",
    "Exit",
    "build_parser",
    "exit_status",
    "handler_of",
    "main",
]


def handler_of(args: argparse.Namespace) -> Handler:
    """The function that runs the parsed command, its module imported now."""
    module, name = str(args.handler).split(":")
    handler: Handler = getattr(import_module(f"{__name__}.{module}"), name)
    return handler


def main(argv: list[str] | None = None) -> int:
    """Run a command; return its exit status."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as done:  # --help, --version, or a command line argparse refused
        return int(done.code or 0)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return asyncio.run(handler_of(args)(args))
    except CommandError as error:
        _explain(error, args)
        return error.status
    except ConfigError as error:
        print(error, file=sys.stderr)  # noqa: T201
        return Exit.CONFIG
    except ClickatellError as error:
        print(f"error: {error}", file=sys.stderr)  # noqa: T201
        return exit_status(error)
    except KeyboardInterrupt:
        return Exit.INTERRUPTED


def _explain(error: CommandError, args: argparse.Namespace) -> None:
    prefix = "error"
    if error.status is Exit.USAGE:
        args.parser.print_usage(sys.stderr)
        prefix = f"{args.parser.prog}: error"
    lines = [f"{prefix}: {line}" for line in str(error).splitlines()]
    lines.extend(f"hint: {hint}" for hint in error.hints)
    print("\n".join(lines), file=sys.stderr)  # noqa: T201
