"""Where a command's settings come from: relay.yaml, the unit's secrets.env, secret options.

`--env-file` reads the same file as the unit's `EnvironmentFile=`, so that an
admin command sees what the service sees; its variables win over the shell's,
as systemd's file wins over `Environment=` (the process's own environment is
left as it is). Secrets are best given in the environment or in files: an
option's value can be read by every user (`ps`).
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from clickatell_relay.config import (
    DEFAULT_CONFIG_PATH,
    exposure,
    load_config,
    read_env_file,
)

from .exits import CommandError, Exit

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

    from clickatell_relay.config import Problem, RelayConfig

DEFAULT_CONFIG = os.environ.get("CLICKATELL_RELAY_CONFIG", DEFAULT_CONFIG_PATH)


def environment(args: argparse.Namespace) -> tuple[Mapping[str, str], list[Problem]]:
    """The environment a command sees, `--env-file`'s variables over the process's.

    And the warnings about the file. Raises ConfigError.
    """
    if args.env_file is None:
        return os.environ, []
    variables, warnings = read_env_file(Path(args.env_file))
    return {**os.environ, **variables}, warnings


def relay_config(args: argparse.Namespace, *, secrets: bool = True) -> RelayConfig:
    """The relay's configuration for a command; without `secrets` for commands that need none.

    Its warnings include those about `--env-file`. Raises ConfigError.
    """
    environ, env_warnings = environment(args)
    config = load_config(args.config, environ, secrets=secrets)
    return replace(config, warnings=(*env_warnings, *config.warnings))


def secret(
    args: argparse.Namespace, name: str, variable: str, environ: Mapping[str, str]
) -> str | None:
    """A secret from `--<name>`, `--<name>-file` or the environment, in that order."""
    option = "--" + name.replace("_", "-")
    given: str | None = getattr(args, name)
    if given:
        print(  # noqa: T201
            f"warning: {option} on the command line can be seen by other users (ps); "
            f"give it in ${variable}, with --env-file or with {option}-file",
            file=sys.stderr,
        )
        return given
    filename: str | None = getattr(args, f"{name}_file")
    if filename is None:
        return environ.get(variable) or None
    path = Path(filename)
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"cannot read {option}-file: {error}", Exit.USAGE) from None
    if (exposed := exposure(path)) is not None:
        print(f"warning: {exposed}", file=sys.stderr)  # noqa: T201
    return value or None
