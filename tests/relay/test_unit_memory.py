"""The unit's memory settings do what its comments say, in the relay's own imports.

`FROZENLIST_NO_EXTENSIONS=1`: aiohttp's frozenlist runs in pure Python, so the
C++ runtime (libstdc++, about 1 MiB of RSS) is never mapped. bench/README.md
("Where the memory goes") has the figures.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .test_install_guide import unit_environment

UNIT = Path(__file__).parents[2] / "relay/clickatell_relay/install/clickatell-relay.service"

# What `clickatell-relay run` imports before it reads its configuration.
PROBE = """
import json
import clickatell_relay.cli, clickatell_relay.relay
import frozenlist
maps = open("/proc/self/maps", encoding="utf-8").read()
print(json.dumps({
    "frozenlist": frozenlist.FrozenList.__module__,
    "libstdc++": "libstdc++" in maps,
}))
"""


def test_the_unit_keeps_the_cxx_runtime_out_of_the_relay() -> None:
    environment = {**os.environ, **unit_environment(UNIT)}
    assert environment["FROZENLIST_NO_EXTENSIONS"] == "1"
    result = subprocess.run(  # noqa: S603 - this interpreter, our probe
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, check=True
    )
    found = json.loads(result.stdout)
    assert found == {"frozenlist": "frozenlist", "libstdc++": False}
