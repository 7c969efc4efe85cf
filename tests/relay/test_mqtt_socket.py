"""The relay's MQTT socket: no packet waits for an acknowledgement of the one before.

Measured in the delivery benchmark (bench/README.md): with Nagle's algorithm
on both ends, an alert published just after a small packet the other side
does not answer (a PUBACK) waited for the delayed ACK, up to 40 ms on Linux,
in about one alert in ten at 10 alerts/s. The socket options are facts of
the real socket connected to a real mosquitto; nothing is timed.
"""

from __future__ import annotations

import socket

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.mqtt import MqttConnection

from .conftest import ConfigFactory, mqtt_client


def the_socket(connection: MqttConnection) -> socket.socket:
    sock = connection._socket  # the live socket is what is checked
    assert sock is not None
    return sock


async def test_each_packet_is_sent_at_once(broker: LocalBroker, make_config: ConfigFactory) -> None:
    """paho leaves Nagle's algorithm on; the relay turns it off."""
    async with mqtt_client(make_config()) as client:
        sock = the_socket(client.connection)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


@pytest.mark.skipif(not hasattr(socket, "TCP_QUICKACK"), reason="Linux only")
async def test_what_the_broker_sends_is_acknowledged_at_once(
    broker: LocalBroker, make_config: ConfigFactory
) -> None:
    """After a PUBACK it does not answer, the relay's side does not delay its ACK.

    mosquitto leaves Nagle's algorithm on by default (`set_tcp_nodelay
    false`): until that ACK, it holds the next alert for us.
    """
    async with mqtt_client(make_config()) as client:
        for number in range(20):  # enough exchanges for Linux to go "interactive"
            await client.publish("status/of/nothing", f"#{number}")
        sock = the_socket(client.connection)
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK) == 1
