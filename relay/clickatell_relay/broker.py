"""A private Mosquitto for the demo and the tests: a free loopback port, persistence in a temp dir.

Not for production (use the system's broker there). It can be stopped and
started again on the same port with its persistence file, so persistent
sessions and their queued QoS 1 messages survive a broker restart.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Final, Self

MOSQUITTO_CANDIDATES: Final = ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto")


class BrokerError(Exception):
    """Mosquitto is missing or would not start."""


def find_mosquitto() -> str:
    """The mosquitto binary: $MOSQUITTO, the PATH, or where Debian puts it."""
    candidates = [os.environ.get("MOSQUITTO"), shutil.which("mosquitto"), *MOSQUITTO_CANDIDATES]
    for candidate in candidates:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise BrokerError("mosquitto is not installed (Debian: apt-get install mosquitto)")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalBroker:
    """Mosquitto on 127.0.0.1 with persistence; `start`, `stop`, `restart`."""

    def __init__(
        self,
        directory: str | Path | None = None,
        port: int | None = None,
        *,
        listener_options: list[str] | None = None,
        options: list[str] | None = None,
    ) -> None:
        """Choose the port, the directory and extra mosquitto.conf lines; nothing runs yet.

        `listener_options` follow the listener line (certfile, keyfile...);
        `options` are global (password_file, allow_anonymous false...).
        """
        self.listener_options = listener_options or []
        self.options = options or []
        self._own_directory = directory is None
        self.directory = Path(directory or tempfile.mkdtemp(prefix="relay-broker-"))
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._process: subprocess.Popen[bytes] | None = None
        self.log_path = self.directory / "mosquitto.log"

    def _write_config(self) -> Path:
        persistence = self.directory / "persistence"
        persistence.mkdir(parents=True, exist_ok=True)
        config = self.directory / "mosquitto.conf"
        config.write_text(
            "\n".join(
                [
                    f"listener {self.port} 127.0.0.1",
                    *self.listener_options,
                    *(self.options or ["allow_anonymous true"]),
                    "persistence true",
                    f"persistence_location {persistence}/",
                    "autosave_interval 1",
                    "max_queued_messages 100000",
                    # Started as root, mosquitto switches to the user "mosquitto", who
                    # could not write our directory: stay who we are.
                    *([f"user {getpass.getuser()}"] if os.geteuid() == 0 else []),
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    f"log_dest file {self.log_path}",
                    "",
                ]
            ),
            encoding="utf-8",
        )
        return config

    def start(self, timeout: float = 10.0) -> None:
        """Start mosquitto and wait until it accepts connections."""
        if self.running:
            return
        binary = find_mosquitto()
        config = self._write_config()
        self._process = subprocess.Popen(  # noqa: S603 - our binary, our config
            [binary, "-c", str(config)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                error = (
                    self._process.stderr.read().decode(errors="replace")
                    if self._process.stderr
                    else ""
                )
                raise BrokerError(f"mosquitto exited: {error.strip() or self._log_tail()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection((self.host, self.port), 0.2),
            ):
                return
            time.sleep(0.05)
        self.stop()
        raise BrokerError(f"mosquitto did not listen on port {self.port} within {timeout:g}s")

    def _log_tail(self) -> str:
        with contextlib.suppress(OSError):
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-500:]
        return ""

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Stop gracefully (SIGTERM: mosquitto saves its persistence file first)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGCONT)  # if paused, or SIGTERM waits for ever
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if process.stderr:
            process.stderr.close()

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP): connections stay open, nothing is answered."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Let a paused broker run again (SIGCONT)."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """Crash the broker (SIGKILL): no goodbye to its clients, no save."""
        process, self._process = self._process, None
        if process is not None:
            process.kill()
            process.wait()
            if process.stderr:
                process.stderr.close()

    def restart(self) -> None:
        """Stop and start again on the same port with the same persistence."""
        self.stop()
        self.start()

    def cleanup(self) -> None:
        """Stop and remove the directory if we made it."""
        self.stop()
        if self._own_directory:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Self:
        """Start on entry."""
        self.start()
        return self

    def __exit__(self, *_exc_info: object) -> None:
        """Stop and clean up on exit."""
        self.cleanup()
