"""The relay's wheel: every module of the client and the relay, its data, and the command."""

from __future__ import annotations

import zipfile
from pathlib import Path

from .conftest import WHEEL_SOURCES


def test_the_wheel_holds_every_module_its_data_and_the_command(relay_wheel: Path) -> None:
    with zipfile.ZipFile(relay_wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(name for name in names if name.endswith("entry_points.txt"))
        commands = archive.read(entry_points).decode()
    expected = {
        f"{package}/{path.relative_to(source).as_posix()}"
        for package, source in WHEEL_SOURCES.items()
        for path in [*source.rglob("*.py"), *source.rglob("py.typed")]
        if "__pycache__" not in path.parts
    }
    expected |= {
        "clickatell_relay/install/relay.example.yaml",
        "clickatell_relay/install/clickatell-relay.service",
    }
    assert expected - names == set()
    assert "clickatell-relay = clickatell_relay.cli:main" in commands
