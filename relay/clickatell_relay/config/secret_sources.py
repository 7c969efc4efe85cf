"""Where values come from besides relay.yaml itself: `${VAR}`, `*_file:` and the environment.

So that relay.yaml need hold no secret: a string may name an environment
variable (`api_key: ${CLICKATELL_API_KEY}`, set by systemd's EnvironmentFile),
a secret may be read from a file (`api_key_file:`, `password_file:`, e.g. a
systemd credential), and the variables in `ENV_OVERRIDES` win over the file.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from aioclickatell import ApiFlavour

from .problems import ConfigError, Problem
from .yaml_positions import MarkedDict, MarkedList, Position

if TYPE_CHECKING:
    from collections.abc import Mapping

    from .problems import Checker

# Environment variables that override the file's secrets (and only secrets).
ENV_OVERRIDES: Final = {
    ("clickatell", "api_key"): "CLICKATELL_API_KEY",
    ("clickatell", "username"): "CLICKATELL_USERNAME",
    ("clickatell", "password"): "CLICKATELL_PASSWORD",
    ("clickatell", "api_id"): "CLICKATELL_API_ID",
    ("mqtt", "username"): "RELAY_MQTT_USERNAME",
    ("mqtt", "password"): "RELAY_MQTT_PASSWORD",
    ("listener", "path_secret"): "RELAY_LISTENER_PATH_SECRET",
    ("listener", "password"): "RELAY_LISTENER_PASSWORD",
}
# The secrets that may be read from a file named by `<key>_file`.
SECRET_FILES: Final = (
    ("clickatell", "api_key"),
    ("clickatell", "password"),
    ("mqtt", "password"),
    ("listener", "path_secret"),
    ("listener", "password"),
)

_ENV_REFERENCE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def expand_env(
    node: object, path: tuple[Any, ...], checker: Checker, environ: Mapping[str, str]
) -> object:
    """Replace `${VAR}` in every string; an unset variable is a problem at its line."""
    if isinstance(node, MarkedDict):
        for key in list(node):
            node[key] = expand_env(node[key], (*path, key), checker, environ)
        return node
    if isinstance(node, MarkedList):
        for index, item in enumerate(node):
            node[index] = expand_env(item, (*path, index), checker, environ)
        return node
    if isinstance(node, str) and "$" in node:

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in environ:
                checker.add(path, f"environment variable {name} is not set")
                return ""
            return environ[name]

        return _ENV_REFERENCE.sub(replace, node)
    return node


def read_secrets(
    sections: Mapping[str, dict[str, Any]],
    checker: Checker,
    base: Path,
    environ: Mapping[str, str],
) -> None:
    """Fill in the secrets of `sections` from their `*_file` and from `ENV_OVERRIDES`."""
    for section, key in SECRET_FILES:
        _read_secret_file(sections[section], key, (section,), checker, base)
    for (section, key), variable in ENV_OVERRIDES.items():
        if environ.get(variable):
            sections[section][key] = environ[variable]


def _read_secret_file(
    section: dict[str, Any], key: str, path: tuple[str, ...], checker: Checker, base: Path
) -> None:
    file_key = f"{key}_file"
    filename = section.pop(file_key, None)
    if filename is None:
        return
    if section.get(key):
        checker.add((*path, file_key), f"give {key} or {file_key}, not both")
        return
    secret_path = Path(filename)
    if not secret_path.is_absolute():
        secret_path = base / secret_path
    try:
        section[key] = secret_path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        checker.add((*path, file_key), f"cannot read {file_key}: {error.__class__.__name__}")
        return
    if not section[key]:
        checker.add((*path, file_key), f"{file_key} is empty")
    if (exposed := exposure(secret_path)) is not None:
        checker.warn((*path, file_key), f"{'.'.join(path)}.{file_key} {exposed}")


def exposure(path: Path) -> str | None:
    """What to say of a secret file its group or others may read (as ssh says of a key)."""
    if (mode := open_to_others(path)) is None:
        return None
    return (
        f"{path} can be read by others (mode {mode:04o}); "
        f"like ssh's keys, keep it 0600: chmod 600 {path}"
    )


def open_to_others(path: Path) -> int | None:
    """The permission bits of a file its group or others may use (as ssh minds a key), or None."""
    try:
        mode = path.stat().st_mode & 0o777
    except OSError:
        return None
    return mode if mode & 0o077 else None


def require_credentials(api_data: Mapping[str, Any], checker: Checker) -> None:
    """The chosen API's credentials must have come from somewhere."""
    flavour: ApiFlavour = api_data["api"]
    if flavour is ApiFlavour.HTTP:
        missing = [key for key in ("username", "password", "api_id") if not api_data.get(key)]
    else:
        missing = [] if api_data.get("api_key") else ["api_key"]
    if missing:
        checker.add(
            ("clickatell",),
            f"clickatell: the {flavour.value} API needs {', '.join(missing)} "
            "(in the file, a *_file, or the environment)",
        )


def drop_secrets(document: MarkedDict) -> None:
    """Forget every secret and where it comes from: for commands that need none (`queue`)."""
    for section, key in ENV_OVERRIDES:
        values = document.get(section)
        if isinstance(values, MarkedDict):
            values.pop(key, None)
            values.pop(f"{key}_file", None)


def read_env_file(path: Path) -> tuple[dict[str, str], list[Problem]]:
    """The variables of a systemd EnvironmentFile, and a warning if others may read it.

    The unit's format: `KEY=VALUE` lines, `#` and `;` comments, a value quoted
    whole in '...' or "..." (shell escapes). A line that is none of these is a
    problem at its line (systemd would skip it with a warning in its journal).
    """
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        problem = Problem(f"cannot read the environment file: {error}", None, source)
        raise ConfigError([problem]) from None
    variables: dict[str, str] = {}
    problems: list[Problem] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        name, equals, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if value[:1] in {"'", '"'}:
            try:
                words = shlex.split(value)
            except ValueError:
                words = []
            value = words[0] if len(words) == 1 else ""
            equals = equals if len(words) == 1 else ""
        if not equals or not _ENV_NAME.fullmatch(name):
            problems.append(
                Problem("not NAME=value (a value may be quoted whole)", Position(source, number, 1))
            )
            continue
        variables[name] = value
    if problems:
        raise ConfigError(problems)
    exposed = exposure(path)
    return variables, [] if exposed is None else [Problem(f"warning: {exposed}")]
