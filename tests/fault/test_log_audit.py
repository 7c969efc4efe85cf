"""The secret audit (tests/fault/log_audit.py) catches leaks, and the committed snapshots hold none.

The audit runs over the whole suite from tests/conftest.py. Here: a pytest
run in a subprocess, with the audit and a tiny test file that leaks on
purpose, must fail and name each leak by test and logger (never by value);
the same run without leaks passes. And the Home Assistant snapshot files
(diagnostics among them) are scanned for the test suites' credentials.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Final

import pytest

from .log_audit import KNOWN_SECRETS, Secret, SecretScanner, discover_secrets, without_source

TESTS: Final = Path(__file__).resolve().parents[1]


def _secret(label_start: str) -> str:
    return next(s.value for s in discover_secrets() if s.label.startswith(label_start))


def _scanner() -> SecretScanner:
    return SecretScanner(
        [*discover_secrets(), *(Secret(value, label) for value, label in KNOWN_SECRETS)]
    )


def _run_pytest(directory: Path, source: str) -> subprocess.CompletedProcess[str]:
    """pytest with only the audit as a plugin, on one test file, in a fresh process."""
    directory.mkdir()
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    (directory / "test_inner.py").write_text(textwrap.dedent(source), encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
    }
    return subprocess.run(  # noqa: S603 - our interpreter, our test file
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "fault.log_audit",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--basetemp={directory / 'tmp'}",
            str(directory / "test_inner.py"),
        ],
        cwd=directory,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _audit_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("LEAK ")]


def test_the_audit_fails_a_run_that_leaks_and_names_test_and_logger(tmp_path: Path) -> None:
    key = _secret("API_KEY of tests/relay/conftest.py")
    password = _secret("PASSWORD of tests/client/conftest.py")
    inner = tmp_path / "inner"
    try:
        result = _run_pytest(
            inner,
            f"""
            import logging

            KEY = {key!r}
            PASSWORD = {password!r}


            def test_logs_the_key():
                logging.getLogger("clickatell_relay.dispatch").debug("sending with %s", KEY)


            def test_logs_a_bearer_token():
                logging.getLogger("aiohttp.client").debug("Authorization: Bearer abcdef123456")


            def test_logs_an_exception_holding_the_password():
                try:
                    raise RuntimeError("refused: " + PASSWORD)
                except RuntimeError:
                    logging.getLogger("aioclickatell.client").exception("request failed")


            def test_fails_with_a_password_in_the_exception():
                raise ValueError("url?user=u&password=" + "hunter2hunter2")


            def test_writes_a_relay_log_with_the_key(tmp_path):
                (tmp_path / "relay-0.log").write_text("INFO api_key=" + KEY + "\\n")


            def test_logs_only_redacted_values():
                logging.getLogger("clickatell_relay.relay").debug(
                    'Configuration: {{"api_key": "**REDACTED**", "password": null}}'
                )
            """,
        )
    finally:
        for log in inner.rglob("*.log"):
            log.unlink()  # the outer audit scans this run's temporary files too
    output = result.stdout + result.stderr
    leaks = _audit_lines(output)
    shown = "\n".join(leaks) or output[-3000:].replace(key, "<KEY>").replace(password, "<PW>")
    assert result.returncode == 1, shown
    assert "1 failed, 5 passed" in output, shown
    for expected in [
        (
            "test_inner.py::test_logs_the_key: logger clickatell_relay.dispatch: "
            "the secret API_KEY of tests/relay/conftest.py"
        ),
        "test_inner.py::test_logs_a_bearer_token: logger aiohttp.client: a bearer token",
        (
            "test_inner.py::test_logs_an_exception_holding_the_password: logger "
            "aioclickatell.client: the secret PASSWORD of tests/client/conftest.py"
        ),
        (
            "test_inner.py::test_fails_with_a_password_in_the_exception: report of call: "
            "a password=value"
        ),
        "relay-0.log: log file: the secret API_KEY of tests/relay/conftest.py",
    ]:
        assert any(expected in line for line in leaks), f"{expected!r} missing from\n{shown}"
    assert not any("test_logs_only_redacted_values" in line for line in leaks), shown
    for line in leaks:  # the audit names secrets, never shows them
        assert key not in line
        assert password not in line
        assert "hunter2" not in line


def test_the_audit_passes_a_clean_run(tmp_path: Path) -> None:
    result = _run_pytest(
        tmp_path / "inner",
        """
        import logging


        def test_logs_without_secrets():
            logging.getLogger("clickatell_relay.relay").debug("api_key=%s", "**REDACTED**")
            logging.getLogger("aiohttp.client").debug("Authorization: <redacted>")
        """,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert not _audit_lines(result.stdout)


@pytest.mark.parametrize(
    ("text", "leaks"),
    [
        ("password=**REDACTED**", False),
        ('"password": null', False),
        ("api_key: ${CLICKATELL_API_KEY}", False),
        ("Authorization: Bearer <token>", False),
        ("api_key_file: /run/credentials/api-key", False),
        ("password=s3cr3t-value", True),
        ("'apiKey': 'abcdef'", True),
        ("Authorization: Basic dXNlcjpwYXNz", True),
        ("api_id=3456789", True),  # a digit-only ID of the tests, next to its name
        ("took 0.03456789s", False),  # the same digits elsewhere are not that ID
    ],
)
def test_generic_patterns_and_placeholders(text: str, leaks: bool) -> None:
    assert bool(_scanner().scan(text)) is leaks


def test_a_failure_is_scanned_without_the_source_lines_it_quotes() -> None:
    failure = textwrap.dedent(
        """\
        async def test_x(simulator):
            client = make(api_key=API_KEY, password="literal-in-source")
        >       await client.send()
        E       ClickatellError: refused, password=hunter2hunter2

        tests/x.py:12: ClickatellError
          + Exception Group Traceback (most recent call last):
          |   File "tests/x.py", line 3, in test_y
          |     connect(api_key=API_KEY)
          | ValueError: Authorization: Basic dXNlcjpwYXNz
        """
    )
    kept = without_source(failure)
    assert "literal-in-source" not in kept
    assert "API_KEY" not in kept
    assert "password=hunter2hunter2" in kept
    assert "Authorization: Basic dXNlcjpwYXNz" in kept
    assert len(_scanner().scan(kept)) == 2


def test_the_suites_credentials_are_known_to_the_audit() -> None:
    labels = {secret.label for secret in discover_secrets()}
    for conftest in ["client", "relay", "simulator", "components/clickatell_sms"]:
        assert any(label.endswith(f"tests/{conftest}/conftest.py") for label in labels), conftest


def test_home_assistant_snapshots_hold_no_secret() -> None:
    """The diagnostics (and every other) snapshot the integration's tests compare against."""
    snapshots = sorted((TESTS / "components").rglob("*.ambr"))
    if not snapshots:
        pytest.skip("no Home Assistant snapshot committed yet")
    scanner = _scanner()
    found = {
        path.relative_to(TESTS).as_posix(): leaks
        for path in snapshots
        if (leaks := scanner.scan(path.read_text(encoding="utf-8")))
    }
    assert not found
