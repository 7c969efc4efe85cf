"""`demo` and `simulator`: the relay end to end and a local Clickatell, no account needed."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from typing import TYPE_CHECKING

from clickatell_relay.config.risks import is_loopback

from .exits import CommandError

if TYPE_CHECKING:
    import argparse

_LOGGER = logging.getLogger(__name__)


async def demo(args: argparse.Namespace) -> int:
    """mosquitto, the simulator and the relay; alerts published, SMS shown."""
    from clickatell_relay.demo import run_demo  # noqa: PLC0415 - mosquitto and the simulator

    return await run_demo(deadline=args.timeout)


def _credential(given: str | None, variable: str, default: str) -> tuple[str, str]:
    """A credential the simulator accepts, and how to show it (never if from the environment)."""
    if given:
        return given, given
    if value := os.environ.get(variable):
        return value, f"the one in ${variable} (not shown)"
    return default, default


async def simulator(args: argparse.Namespace) -> int:
    """Serve the three APIs and /_sim/ until interrupted."""
    from clickatell_relay.simulator import Account, Simulator, run_forever  # noqa: PLC0415

    api_key, shown_key = _credential(args.api_key, "CLICKATELL_API_KEY", "simulator-key")
    password, shown_password = _credential(
        args.password, "CLICKATELL_PASSWORD", "simulator-password"
    )
    account = Account(
        api_key=api_key,
        username=args.username,
        password=password,
        api_id=args.api_id,
        balance=args.balance,
    )
    print(  # noqa: T201
        f"API key: {shown_key}; HTTP API: user {args.username}, password {shown_password}, "
        f"api_id {args.api_id}",
        flush=True,
    )
    if not is_loopback(args.host):
        _LOGGER.warning(
            "Listening on %s: anyone who can reach this machine can read and change the "
            "simulator through /_sim/ (no authentication); use 127.0.0.1 unless you mean it",
            args.host,
        )
    simulator = Simulator(account)
    simulator.messages_per_second = args.messages_per_second
    # Handlers of our own: a shell's background job inherits SIGINT ignored, and
    # SIGTERM (systemd, docker stop) would otherwise end it without stopping cleanly.
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await run_forever(simulator, args.host, args.port, stop)
    except OSError as error:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {error}") from None
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    return 0
