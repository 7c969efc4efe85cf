"""The relay's wheel: every module of the client and the relay, and the command."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = {
    "aioclickatell": REPO / "custom_components" / "clickatell_sms" / "aioclickatell",
    "clickatell_relay": REPO / "relay" / "clickatell_relay",
}


def test_the_wheel_holds_every_module_and_the_command(tmp_path: Path) -> None:
    # Built from a copy: setuptools reuses a checkout's build/ folder, which can
    # hide a package missing from the configuration.
    project = tmp_path / "project"
    for name in ("pyproject.toml", "README.md"):
        project.mkdir(exist_ok=True)
        shutil.copy(REPO / name, project / name)
    ignore = shutil.ignore_patterns("__pycache__")
    for source in SOURCES.values():
        shutil.copytree(source, project / source.relative_to(REPO), ignore=ignore)
    subprocess.run(  # noqa: S603 - our own interpreter and files
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(tmp_path), "."],
        check=True,
        capture_output=True,
        cwd=project,
    )
    (wheel,) = tmp_path.glob("clickatell_relay-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(name for name in names if name.endswith("entry_points.txt"))
        commands = archive.read(entry_points).decode()
    expected = {
        f"{package}/{path.relative_to(source).as_posix()}"
        for package, source in SOURCES.items()
        for path in [*source.rglob("*.py"), *source.rglob("py.typed")]
        if "__pycache__" not in path.parts
    }
    assert expected - names == set()
    assert "clickatell-relay = clickatell_relay.cli:main" in commands
