"""What is wrong with a configuration, each problem (or warning) with its `file:line`."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import voluptuous as vol

from .yaml_positions import Position, position_of

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the configuration, with where it is."""

    message: str
    position: Position | None = None
    source: str = ""

    def __str__(self) -> str:
        """`file:line: message`, as compilers write it."""
        if self.position is None:
            return f"{self.source}: {self.message}" if self.source else self.message
        return f"{self.position.file}:{self.position.line}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; every problem names its line."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        """Keep every problem; the message lists them one per line."""
        self.problems = tuple(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


class Checker:
    """Collects problems by their path in the document, so that all are reported at once.

    Warnings are kept apart: a setting that works but exposes a secret or
    spends without limit is reported, and the configuration is still used.
    """

    def __init__(self, document: object, source: str) -> None:
        """Problems will be placed by walking `document`, read from `source`."""
        self.document = document
        self.source = source
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, path: Sequence[Any], message: str) -> None:
        """A problem at the deepest node of `path` that the file has."""
        self.problems.append(self._at(path, message))

    def warn(self, path: Sequence[Any], message: str) -> None:
        """A warning, placed like a problem."""
        self.warnings.append(self._at(path, f"warning: {message}"))

    def _at(self, path: Sequence[Any], message: str) -> Problem:
        keys = [step.schema if isinstance(step, vol.Marker) else step for step in path]
        # A problem with no place of its own (a key missing from an empty file)
        # is at the top of the file.
        position = position_of(self.document, keys) or Position.top(self.source)
        return Problem(message, position, self.source)

    def raise_if_any(self) -> None:
        """Raise ConfigError with every problem collected so far, if there is one."""
        if self.problems:
            raise ConfigError(self.problems)
