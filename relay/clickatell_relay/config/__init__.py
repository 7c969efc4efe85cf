"""The relay's configuration: YAML in, voluptuous in the middle, frozen dataclasses out.

Every error names `file:line` of the value at fault: the YAML loader keeps the
position of every key and list item, and a validation error's path is walked
back through the document to the nearest position. Secrets may be written as
`${ENV_VAR}`, read from a file (`api_key_file:`, `password_file:`), or come
from environment variables that override the file (see `ENV_OVERRIDES`).
`RelayConfig.redacted()` is the only view of the configuration that is logged.

- `load.py`: `load_config`/`parse_config`, the stages in order, the checks across fields
- `yaml_positions.py`: the YAML loader that keeps every value's position
- `problems.py`: `Problem`, `ConfigError`, and the checker that places problems
- `schema.py`: the voluptuous schemas and validators
- `secret_sources.py`: `${VAR}`, `*_file:`, the environment overrides, EnvironmentFile syntax
- `risks.py`: the warnings about settings that work but are risky
- `directory.py`: contacts, groups and the allowlist
- `model.py`: the typed result and its redacted view
"""

from clickatell_relay.payload import PAYLOAD_OPTIONS

from .directory import Contact, Directory
from .load import DEFAULT_CONFIG_PATH, load_config, parse_config
from .model import (
    REDACTED,
    AcknowledgeConfig,
    ClickatellConfig,
    DigestConfig,
    LimitsConfig,
    ListenerConfig,
    MqttConfig,
    QueueConfig,
    RelayConfig,
    RouteConfig,
    StatusConfig,
    TlsConfig,
)
from .problems import ConfigError, Problem
from .secret_sources import ENV_OVERRIDES, exposure, read_env_file
from .yaml_positions import Position

__all__ = [
    "DEFAULT_CONFIG_PATH",
    "ENV_OVERRIDES",
    "PAYLOAD_OPTIONS",  # payload.py's; here too because the fault tests import it from here
    "REDACTED",
    "AcknowledgeConfig",
    "ClickatellConfig",
    "ConfigError",
    "Contact",
    "DigestConfig",
    "Directory",
    "LimitsConfig",
    "ListenerConfig",
    "MqttConfig",
    "Position",
    "Problem",
    "QueueConfig",
    "RelayConfig",
    "RouteConfig",
    "StatusConfig",
    "TlsConfig",
    "exposure",
    "load_config",
    "parse_config",
    "read_env_file",
]
