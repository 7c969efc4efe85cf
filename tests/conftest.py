"""Root conftest for both test runs (Python 3.11, and Home Assistant's 3.14).

It loads the secret audit, `tests/fault/log_audit.py`: debug logging for the
whole session, and a failed run if a credential shows up in a log line, a
test report or a relay log file. It must import nothing the Home Assistant
environment lacks (no paho, voluptuous or yaml): the audit needs only pytest.
"""

pytest_plugins = ("fault.log_audit",)
