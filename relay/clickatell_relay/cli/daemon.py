"""`run` and `check-config`: the relay itself, and the check its unit runs before it."""

from __future__ import annotations

import json
import logging
import os
import sys
from typing import TYPE_CHECKING

from .exits import CommandError, Exit
from .sources import relay_config

if TYPE_CHECKING:
    import argparse

_LOGGER = logging.getLogger(__name__)


async def run(args: argparse.Namespace) -> int:
    """Run the relay until SIGTERM or SIGINT."""
    from clickatell_relay.relay import run_relay  # noqa: PLC0415 - paho, only for this command
    from clickatell_relay.store import QueueLockedError  # noqa: PLC0415 - with run_relay

    config = relay_config(args)
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
    for warning in config.warnings:
        _LOGGER.warning("%s", warning)
    try:
        return await run_relay(config)
    except QueueLockedError as error:
        raise CommandError(str(error), Exit.LOCKED) from None


async def check_config(args: argparse.Namespace) -> int:
    """Print the problems (exit 78) or the warnings and a summary."""
    config = relay_config(args)
    for warning in config.warnings:
        print(warning, file=sys.stderr)  # noqa: T201
    if args.show:
        print(json.dumps(config.redacted(), indent=2, default=str))  # noqa: T201
    print(  # noqa: T201
        f"{args.config}: OK: {len(config.routes)} route(s), {len(config.contacts)} contact(s), "
        f"{len(config.groups)} group(s), {len(config.allowlist)} allowlisted number(s)"
    )
    return Exit.OK
