"""`init`: put the example configuration, a secrets file and the systemd unit in place.

The wheel ships relay.example.yaml and the unit (package data, `install/`);
`init` writes them where the install guide says, the unit pointing at this
virtualenv's command and the configuration directory given. A file that
exists is kept unless `--force`; secrets.env is made 0600 from the start.
"""

from __future__ import annotations

import os
import sys
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Final

from .exits import Exit

if TYPE_CHECKING:
    import argparse

# The paths the shipped unit names; `init` writes the real ones.
SHIPPED_COMMAND: Final = "/opt/clickatell-relay/venv/bin/clickatell-relay"
SHIPPED_CONFIG_DIR: Final = "/etc/clickatell-relay"
SECRETS_TEMPLATE: Final = """\
# clickatell-relay's secrets: read by systemd (the unit's EnvironmentFile=) and by
# `clickatell-relay check-config --env-file <this file>`. Keep it 0600.
# One NAME=value a line; remove the # of the ones you need.
#CLICKATELL_API_KEY=your-api-key
#RELAY_MQTT_PASSWORD=the-broker-password
"""


def _command() -> str:
    """This installation's `clickatell-relay`, as the unit should start it."""
    script = Path(sys.executable).parent / "clickatell-relay"
    return str(script) if script.exists() else f"{sys.executable} -m clickatell_relay"


def _write(path: Path, text: str, mode: int, *, force: bool) -> str:
    if path.exists() and not force:
        return f"kept {path} (it exists; --force overwrites it)"
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        os.fchmod(file.fileno(), mode)  # whatever the umask, or an older file's mode
        file.write(text)
    return f"wrote {path}"


async def init(args: argparse.Namespace) -> int:
    """Write relay.yaml, secrets.env and the unit; say what to do next."""
    shipped = files("clickatell_relay") / "install"
    config_dir, unit_dir = Path(args.config_dir), Path(args.unit_dir)
    config, secrets = config_dir / "relay.yaml", config_dir / "secrets.env"
    command = _command()
    unit = (
        (shipped / "clickatell-relay.service")
        .read_text(encoding="utf-8")
        .replace(SHIPPED_COMMAND, command)
        .replace(SHIPPED_CONFIG_DIR, str(config_dir))
    )
    done = [
        _write(
            config, (shipped / "relay.example.yaml").read_text("utf-8"), 0o644, force=args.force
        ),
        _write(secrets, SECRETS_TEMPLATE, 0o600, force=args.force),
        _write(unit_dir / "clickatell-relay.service", unit, 0o644, force=args.force),
    ]
    print(  # noqa: T201
        "\n".join(done) + f"\nNext: edit {config} (the broker, contacts, routes) and {secrets} "
        "(CLICKATELL_API_KEY=...), then check them:\n"
        f"  {command} check-config --config {config} --env-file {secrets}\n"
        "  systemctl daemon-reload && systemctl enable --now clickatell-relay"
    )
    return Exit.OK
