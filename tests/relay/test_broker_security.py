"""Credentials and TLS to the broker, against a mosquitto that requires them."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.mqtt import MqttConnection, MqttError
from clickatell_relay.simulator import Simulator

from .conftest import ConfigFactory, mqtt_client, running, until


def _run(*command: str) -> None:
    subprocess.run(command, check=True, capture_output=True, timeout=60)  # noqa: S603


@dataclass
class SecuredBroker:
    broker: LocalBroker
    ca_cert: Path


@pytest.fixture
def secured_broker(tmp_path: Path) -> Iterator[SecuredBroker]:
    """mosquitto over TLS (a CA made here) that wants a username and password."""
    certs = tmp_path / "certs"
    certs.mkdir()
    ca_key, ca_cert = certs / "ca.key", certs / "ca.pem"
    key, csr, cert = certs / "server.key", certs / "server.csr", certs / "server.pem"
    ext = certs / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    _run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=relay-test-ca",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca_cert),
    )
    _run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=127.0.0.1",
        "-keyout",
        str(key),
        "-out",
        str(csr),
    )
    _run(
        "openssl",
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca_cert),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        str(ext),
        "-out",
        str(cert),
    )
    passwords = tmp_path / "passwords"
    _run("mosquitto_passwd", "-b", "-c", str(passwords), "relay", "broker-secret")
    _run("mosquitto_passwd", "-b", str(passwords), "test-client", "broker-secret")
    local = LocalBroker(
        tmp_path / "broker",
        listener_options=[f"cafile {ca_cert}", f"certfile {cert}", f"keyfile {key}"],
        options=["allow_anonymous false", f"password_file {passwords}"],
    )
    local.start()
    yield SecuredBroker(local, ca_cert)
    local.cleanup()


async def test_tls_and_credentials(
    secured_broker: SecuredBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    ca_cert = secured_broker.ca_cert
    make_config.broker = secured_broker.broker
    config = make_config(
        mqtt={
            "username": "relay",
            "password": "broker-secret",
            "tls": {"enabled": True, "ca_certs": str(ca_cert)},
        }
    )
    async with running(config), mqtt_client(config, "test-client") as client:
        await client.publish("alerts/x", "over TLS")
        await until(lambda: len(simulator.messages) == 2)
    # Wrong password: refused, and said so.
    wrong = MqttConnection(replace(config.mqtt, password="nope"), client_id="intruder")
    with pytest.raises(MqttError, match="refused"):
        await wrong.connect(timeout=10)
    # No TLS to a TLS listener: no connection.
    plain = MqttConnection(replace(config.mqtt, tls=replace(config.mqtt.tls, enabled=False)))
    with pytest.raises(MqttError):
        await plain.connect(timeout=5)
