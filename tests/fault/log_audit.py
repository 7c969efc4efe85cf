"""A pytest plugin that fails the run when a credential shows up in a log, a report or a log file.

For the whole session it attaches a DEBUG handler to the root logger and
raises the project's loggers (and aiohttp's) to DEBUG, so every test runs with
debug logging. It scans:

* every log record: the formatted message, the exception and the stack text;
* every test report: the failure's text (`longrepr`: exceptions raised
  through pytest; not the source lines it quotes) and the captured stdout,
  stderr and log sections;
* at the end of the session, every `*.log` file under pytest's base temporary
  directory: the logs of relay subprocesses (`relay-N.log`) and of mosquitto
  that tests write into their `tmp_path`.

What counts as a secret:

* the credentials the test suites use, found without importing anything:
  string constants named like `API_KEY`, `PASSWORD`, `TOKEN`, `SECRET` or
  `API_ID` at module level of any `tests/**/*.py`, and string values given to
  keywords or dict keys named like `api_key`, `password`, `token`,
  `CLICKATELL_API_KEY` (at least `MIN_SECRET_LENGTH` characters; an all-digit
  value, such as an HTTP API ID, only next to its name, as in `api_id=...`);
* anything registered with `register_secret`;
* generic patterns: `Bearer <token>`, `password=<value>`, `api_key=`,
  `apiKey:`, `Authorization: <value>` whose value is not redacted
  (`**REDACTED**`, asterisks, `<...>`, `${VAR}`, null).

At the end it prints a "secret audit" section naming, for each leak, the test
(or `<session>`), the logger or the report section or file, and which secret
it was by its name (never its value), and sets the exit status to 1.

It imports only the standard library and pytest: it runs in the Python 3.11
run and in the Home Assistant (3.14) run alike (`tests/conftest.py` loads it;
`pytest -p fault.log_audit` with `tests/` on the path loads it elsewhere).
"""

from __future__ import annotations

import ast
import logging
import re
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import pytest

if TYPE_CHECKING:
    from collections.abc import Generator, Iterable, Iterator

AUDITED_LOGGERS: Final = (
    "aioclickatell",
    "custom_components.clickatell_sms",
    "clickatell_relay",
    "aiohttp",
)
TESTS_DIR: Final = Path(__file__).resolve().parents[1]
MIN_SECRET_LENGTH: Final = 6
# Credentials defined outside the tests: the simulator's default account, the demo's key.
KNOWN_SECRETS: Final = (
    ("simulator-api-key", "the simulator's default API key"),
    ("simulator-password", "the simulator's default password"),
    ("simulator-key", "the demo's API key"),
)
MAX_FINDINGS_SHOWN: Final = 50
MAX_LOG_FILE_BYTES: Final = 64 << 20
SESSION: Final = "<session>"

# Names whose string value is a credential.
_SECRET_CONSTANT = re.compile(r"(?:^|_)(?:API_KEY|APIKEY|PASSWORD|PASSWD|TOKEN|SECRET|API_ID)$")
_SECRET_KEY = re.compile(
    r"^(?:CLICKATELL_|RELAY_MQTT_)?(?:api_?key|password|passwd|token|secret|api_?id|"
    r"access_token|bearer)$",
    re.IGNORECASE,
)
# A value that is not a secret but stands for one.
_PLACEHOLDER = re.compile(
    r"^(?:\**|\**redacted\**|<[^>]*>?|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|none|null|true|false|"
    r"x+|\.\.\.)$",
    re.IGNORECASE,
)
_VALUE = r"[\"']?(?P<value>[^\s\"'&,;)\]}]*)"
GENERIC_PATTERNS: Final = (
    ("a bearer token", re.compile(r"\bBearer\s+(?P<value>[A-Za-z0-9\-._~+/]+=*)")),
    (
        "an Authorization header",
        re.compile(
            r"\bAuthorization[\"']?\s*[:=]\s*[\"']?(?:(?:Bearer|Basic|Digest|Token)\s+)?" + _VALUE,
            re.IGNORECASE,
        ),
    ),
    (
        "a password=value",
        re.compile(r"(?<![A-Za-z0-9])(?:password|passwd)[\"']?\s*[:=]\s*" + _VALUE, re.IGNORECASE),
    ),
    (
        "an api_key=value",
        re.compile(r"(?<![A-Za-z0-9])api[_-]?key[\"']?\s*[:=]\s*" + _VALUE, re.IGNORECASE),
    ),
)


def _is_placeholder(value: str) -> bool:
    return not value or bool(_PLACEHOLDER.match(value))


@dataclass(frozen=True)
class Secret:
    """A credential to look for, and how to name it in a report."""

    value: str
    label: str

    def pattern(self) -> re.Pattern[str]:
        """Where it counts as leaked: anywhere, or for an all-digit ID next to its name."""
        if self.value.isdigit():
            return re.compile(r"(?i)api_?id\W{0,4}" + re.escape(self.value) + r"(?!\d)")
        return re.compile(re.escape(self.value))


_registered: dict[str, str] = {}
_registered_lock = threading.Lock()


def register_secret(value: str, label: str) -> None:
    """Look for this value too, from now on (tests with credentials of their own)."""
    with _registered_lock:
        _registered[value] = label
    if (plugin := _active) is not None:
        plugin.add_secret(Secret(value, label))


def _secret_value(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        value = node.value.strip()
        if len(value) >= MIN_SECRET_LENGTH and not _is_placeholder(value):
            return value
    return None


def _module_constants(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """(name, value) of module-level string constants named like a credential."""
    for statement in tree.body:
        targets: list[ast.expr]
        value: ast.expr | None
        if isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        elif isinstance(statement, ast.AnnAssign):
            targets, value = [statement.target], statement.value
        else:
            continue
        secret = _secret_value(value)
        for target in targets:
            if secret and isinstance(target, ast.Name) and _SECRET_CONSTANT.search(target.id):
                yield target.id, secret


def _named_values(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """(name, value) of string values given to a keyword or dict key named like a credential."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword):
            pairs: list[tuple[object, ast.expr | None]] = [(node.arg, node.value)]
        elif isinstance(node, ast.Dict):
            pairs = [
                (key.value if isinstance(key, ast.Constant) else None, item)
                for key, item in zip(node.keys, node.values, strict=True)
            ]
        else:
            continue
        for name, item in pairs:
            secret = _secret_value(item)
            if secret is not None and isinstance(name, str) and _SECRET_KEY.match(name):
                yield name, secret


def discover_secrets(root: Path = TESTS_DIR) -> list[Secret]:
    """The credentials the test files define, found by reading (not importing) them."""
    found: dict[str, str] = {}
    for path in sorted(root.rglob("*.py")):
        if "__pycache__" in path.parts or path.resolve() == Path(__file__).resolve():
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        except (SyntaxError, UnicodeDecodeError, OSError):
            continue
        where = f"tests/{path.relative_to(root).as_posix()}"
        for name, value in _module_constants(tree):
            found.setdefault(value, f"{name} of {where}")
        for name, value in _named_values(tree):
            found.setdefault(value, f"{name!r} in {where}")
    return [Secret(value, label) for value, label in found.items()]


_GROUP_PREFIX = re.compile(r"^\s*[|+](?=\s|$)")


def without_source(failure: str) -> str:
    """A failure's text without the source lines its traceback quotes.

    A test's own code may name a credential (`api_key=API_KEY`, a literal
    in a fixture); what leaks is what the code produced at run time:
    messages, `E` lines, locations. Source lines are those pytest prints
    after `>` or four spaces, and those a native traceback (an exception
    group's) indents under its `File ...` lines.
    """
    kept: list[str] = []
    for line in failure.splitlines():
        body = _GROUP_PREFIX.sub("", line, count=1)
        if line.startswith(">") or body.startswith("    "):
            continue
        kept.append(line)
    return "\n".join(kept)


@dataclass(frozen=True, order=True)
class Finding:
    """One leak: in which test, where (logger, report section or file), and what."""

    test: str
    where: str
    what: str

    def __str__(self) -> str:
        """The report line; never the secret itself."""
        return f"{self.test}: {self.where}: {self.what}"


class SecretScanner:
    """Finds secrets in text."""

    def __init__(self, secrets: Iterable[Secret]) -> None:
        """Look for these secrets and the generic patterns."""
        self._secrets: dict[str, tuple[Secret, re.Pattern[str]]] = {}
        for secret in secrets:
            self.add(secret)

    def add(self, secret: Secret) -> None:
        """Look for one more secret."""
        self._secrets.setdefault(secret.value, (secret, secret.pattern()))

    @property
    def secrets(self) -> list[Secret]:
        """The secrets looked for."""
        return [secret for secret, _pattern in self._secrets.values()]

    def scan(self, text: str) -> list[str]:
        """What leaked in `text`, each named by its label or pattern."""
        leaks: list[str] = []
        for secret, pattern in list(self._secrets.values()):
            if secret.value in text and (not secret.value.isdigit() or pattern.search(text)):
                leaks.append(f"the secret {secret.label}")
        for label, generic in GENERIC_PATTERNS:
            for match in generic.finditer(text):
                if not _is_placeholder(match.group("value")):
                    leaks.append(f"{label} that is not redacted")
                    break
        return leaks


class _AuditHandler(logging.Handler):
    """Scans every record that reaches the root logger."""

    def __init__(self, plugin: LogAudit) -> None:
        super().__init__(logging.DEBUG)
        self._plugin = plugin

    def emit(self, record: logging.LogRecord) -> None:
        try:
            try:
                text = record.getMessage()
            except Exception:  # noqa: BLE001 - a bad format string must not hide the text
                text = f"{record.msg!s} {record.args!r}"
            if record.exc_info and record.exc_info[1] is not None:
                text += "\n" + "".join(traceback.format_exception(*record.exc_info))
            elif record.exc_text:
                text += "\n" + record.exc_text
            if record.stack_info:
                text += "\n" + record.stack_info
            self._plugin.check(text, f"logger {record.name}")
        except Exception:  # noqa: BLE001 - logging must never break a test
            self.handleError(record)


class LogAudit:
    """The plugin object: the handler, the findings and the hooks."""

    def __init__(self, config: pytest.Config) -> None:
        """Collect the secrets; nothing is attached before `pytest_sessionstart`."""
        self.config = config
        self.scanner = SecretScanner(
            [*discover_secrets(), *(Secret(value, label) for value, label in KNOWN_SECRETS)]
        )
        with _registered_lock:
            for value, label in _registered.items():
                self.scanner.add(Secret(value, label))
        self.findings: set[Finding] = set()
        self.current = SESSION
        self._lock = threading.Lock()
        self._handler = _AuditHandler(self)
        self._levels: dict[str, int] = {}

    def add_secret(self, secret: Secret) -> None:
        """Look for one more secret."""
        with self._lock:
            self.scanner.add(secret)

    def check(self, text: str, where: str, test: str | None = None) -> None:
        """Record every leak in `text`."""
        leaks = self.scanner.scan(text)
        if leaks:
            with self._lock:
                for what in leaks:
                    self.findings.add(Finding(test or self.current, where, what))

    # Hooks ------------------------------------------------------------------------

    def pytest_sessionstart(self, session: pytest.Session) -> None:  # noqa: ARG002 - hook signature
        """Attach the handler; raise the audited loggers to DEBUG."""
        logging.getLogger().addHandler(self._handler)
        for name in AUDITED_LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.DEBUG)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        """Name the test that is running, for the records it logs."""
        self.current = item.nodeid
        try:
            return (yield)
        finally:
            self.current = SESSION

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Scan a report's failure text and captured output."""
        if report.longrepr is not None:
            failure = without_source(report.longreprtext)
            self.check(failure, f"report of {report.when}", report.nodeid)
        for title, content in report.sections:
            self.check(content, f"report section {title!r}", report.nodeid)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        """Scan a collection error's text."""
        if report.failed and report.longrepr is not None:
            failure = without_source(report.longreprtext)
            self.check(failure, "collection error", report.nodeid or SESSION)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Scan the log files tests left; detach; fail the run on any leak."""
        logging.getLogger().removeHandler(self._handler)
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)
        self._scan_log_files()
        if self.findings:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def _scan_log_files(self) -> None:
        factory = getattr(self.config, "_tmp_path_factory", None)
        base: Path | None = getattr(factory, "_basetemp", None)
        if base is None or not base.is_dir():
            return
        seen: set[Path] = set()
        for path in sorted(base.rglob("*.log")):
            try:
                real = path.resolve()
                if real in seen or not real.is_file() or real.stat().st_size > MAX_LOG_FILE_BYTES:
                    continue
                seen.add(real)
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            self.check(text, "log file", path.relative_to(base).as_posix())

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """The findings, if any: test, where, which secret (by name)."""
        if not self.findings:
            return
        terminalreporter.section("secret audit", sep="=", red=True, bold=True)
        findings = sorted(self.findings)
        for finding in findings[:MAX_FINDINGS_SHOWN]:
            terminalreporter.line(f"LEAK {finding}", red=True)
        if len(findings) > MAX_FINDINGS_SHOWN:
            terminalreporter.line(f"... and {len(findings) - MAX_FINDINGS_SHOWN} more")
        terminalreporter.line(
            f"secret audit: {len(findings)} leak(s) of a credential in logs, reports or log files"
        )


_active: LogAudit | None = None


def pytest_configure(config: pytest.Config) -> None:
    """Register the audit for this session (once, even if loaded twice)."""
    global _active  # noqa: PLW0603 - one audit per process, found by register_secret
    if config.pluginmanager.has_plugin("log-audit"):
        return
    _active = LogAudit(config)
    config.pluginmanager.register(_active, "log-audit")


def pytest_unconfigure(config: pytest.Config) -> None:
    """Forget the audit of a finished session."""
    global _active  # noqa: PLW0603
    if _active is not None and _active.config is config:
        config.pluginmanager.unregister(_active)
        _active = None
