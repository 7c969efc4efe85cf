"""YAML that remembers where every value is, so an error can name its line.

PyYAML's safe loader, with two constructors replaced: mappings and sequences
become `MarkedDict` and `MarkedList`, which keep the position of each value.
Scalars stay plain values: the mapping or list that holds one knows where it is.
Home Assistant's `!secret`, `!env_var` and `!include` are refused, at their
line, with what to write instead (relay.yaml has `${VAR}` and `*_file:`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from collections.abc import Sequence


@dataclass(frozen=True, slots=True)
class Position:
    """Where a value sits in a file, 1-based."""

    file: str
    line: int
    column: int

    @classmethod
    def top(cls, file: str) -> Position:
        """The top of a file: where a problem with no place of its own is reported."""
        return cls(file, 1, 1)


class MarkedDict(dict[Any, Any]):
    """A YAML mapping that remembers where it and each of its values start."""

    position: Position | None = None
    key_positions: dict[Any, Position]


class MarkedList(list[Any]):
    """A YAML sequence that remembers where it and each of its items start."""

    position: Position | None = None
    item_positions: list[Position]


class HomeAssistantTagError(yaml.constructor.ConstructorError):
    """A tag of Home Assistant's YAML (`!secret`, `!env_var`, `!include`); says what to write."""


def _home_assistant_tag(loader: yaml.SafeLoader, node: yaml.Node) -> object:  # noqa: ARG001
    """Refuse a Home Assistant tag with the relay's way of saying the same."""
    words = node.value.split() if isinstance(node, yaml.ScalarNode) else []
    name = words[0] if words and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", words[0]) else "VAR"
    if node.tag == "!secret":
        variable = name.upper()
        advice = (
            f"write ${{{variable}}} and set {variable} in the environment (the unit's "
            "secrets.env), or read a secret from a file with api_key_file: or password_file:"
        )
    elif node.tag == "!env_var":
        advice = f"write ${{{name}}}" + (" (no default: unset is an error)" if words[1:] else "")
    else:
        advice = "keep the configuration in one file (secrets may come from ${VAR} or *_file:)"
    problem = f"Home Assistant's {node.tag} is not read here: {advice}"
    raise HomeAssistantTagError(None, None, problem, node.start_mark)


class _MarkingLoader(yaml.SafeLoader):
    """A safe loader that keeps positions on mappings and sequences."""

    def _position(self, node: yaml.Node) -> Position:
        mark = node.start_mark
        return Position(self.name, mark.line + 1, mark.column + 1)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> MarkedDict:  # noqa: ARG002 - always deep
        """A mapping with positions; duplicate keys are an error, not a silent override."""
        self.flatten_mapping(node)
        result = MarkedDict()
        result.position = self._position(node)
        result.key_positions = {}
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value", key_node.start_mark
                ) from None
            if key in result:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            result[key] = self.construct_object(value_node, deep=True)
            result.key_positions[key] = self._position(value_node)
        return result

    def construct_marked_sequence(self, node: yaml.SequenceNode) -> MarkedList:
        """A sequence with positions."""
        result = MarkedList(self.construct_object(child, deep=True) for child in node.value)
        result.position = self._position(node)
        result.item_positions = [self._position(child) for child in node.value]
        return result


_MarkingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _MarkingLoader.construct_mapping
)
_MarkingLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _MarkingLoader.construct_marked_sequence
)
# Home Assistant users write these by habit; relay.yaml has ${VAR} and *_file: instead.
for _tag in ("!secret", "!env_var", "!include"):
    _MarkingLoader.add_constructor(_tag, _home_assistant_tag)


def load_marked_yaml(text: str, source: str) -> object:
    """One YAML document, safely, with positions (what `yaml.safe_load` does, marked).

    Raises PyYAML's errors, which carry the position of the fault.
    """
    loader = _MarkingLoader(text)
    loader.name = source
    try:
        document: object = loader.get_single_data()
    finally:
        loader.dispose()
    return document


def position_of(document: object, path: Sequence[Any]) -> Position | None:
    """The position of the deepest node on `path` that has one."""
    best = document.position if isinstance(document, MarkedDict | MarkedList) else None
    node: Any = document
    for key in path:
        if isinstance(node, MarkedDict) and key in node:
            best = node.key_positions.get(key, best)
            node = node[key]
        elif isinstance(node, MarkedList) and isinstance(key, int) and 0 <= key < len(node):
            best = node.item_positions[key]
            node = node[key]
        else:
            break
    return best
