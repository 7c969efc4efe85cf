"""The real mqttwarn daemon, its Apprise service's Clickatell plugin pointed at the simulator.

    .cache/bench/mqttwarn/bin/python bench/mqttwarn_daemon.py NOTIFY_URL CONFIG_FILE

This runs mqttwarn's own command, `mqttwarn --config-file=CONFIG_FILE`, in
mqttwarn's own virtualenv (scripts/bench makes it: mqttwarn 0.36 needs
paho-mqtt < 2 and Apprise < 2, which the project's .venv cannot hold). The
one change: Apprise's Clickatell plugin has Clickatell's endpoint hard-coded
(`NotifyClickatell.notify_url`, https://platform.clickatell.com/messages/http/send),
so it is pointed at the simulator's copy of that endpoint first, as
bench/naive.py does for Apprise. Everything else is mqttwarn as released.
"""

from __future__ import annotations

import sys

from apprise.plugins.clickatell import NotifyClickatell
from mqttwarn.commands import run


def main() -> None:
    """Point the plugin at the simulator, then run mqttwarn."""
    notify_url, config_file = sys.argv[1:]
    NotifyClickatell.notify_url = notify_url
    sys.argv = ["mqttwarn", f"--config-file={config_file}"]
    run()


if __name__ == "__main__":
    main()
