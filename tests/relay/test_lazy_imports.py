"""`clickatell-relay run` leaves out what its hot path never needs (bench/README.md, memory).

Each of these costs RSS on a Pi for nothing when unused; an import added at the top of a
module on the run path would bring it back silently. A fresh interpreter imports the run
path as the console script does and lists what got in.
"""

from __future__ import annotations

import subprocess
import sys

NOT_ON_THE_RUN_PATH = (
    "clickatell_relay.simulator",  # only for `simulator`, `demo` and tests
    "clickatell_relay.demo",
    "clickatell_relay.cli.api",  # send, balance, coverage, stop
    "clickatell_relay.listener",  # only when listener.enabled
    "aiohttp.web",  # the listener's and the simulator's server side
    "xml.etree.ElementTree",  # only for flavours answering XML
    "defusedxml",
)

PROBE = """
import sys
import clickatell_relay.cli, clickatell_relay.cli.daemon, clickatell_relay.relay
print("\\n".join(name for name in sys.argv[1:] if name in sys.modules))
"""


def test_the_run_path_imports_nothing_it_does_not_use() -> None:
    loaded = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", PROBE, *NOT_ON_THE_RUN_PATH],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert loaded == []


def test_the_probe_sees_an_import() -> None:
    """The same probe does see a module once it is imported (so the test above can fail)."""
    loaded = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", "import clickatell_relay.listener\n" + PROBE, "aiohttp.web"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert loaded == ["aiohttp.web"]
