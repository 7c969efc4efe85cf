"""Our MQTT adapter: paho-mqtt 2.x on the asyncio loop. The only module that imports paho.

paho does the protocol; the event loop does the I/O, through paho's socket
callbacks (as Home Assistant's MQTT client does): the loop watches the socket
and calls `loop_read`/`loop_write`, a small task calls `loop_misc` for
keepalives. The blocking `connect` (DNS, TCP, TLS handshake) runs in a worker
thread, so callbacks it triggers are handed to the loop thread-safely.

What the relay needs from MQTT, and nothing more:

* a persistent session: a fixed client ID and, with MQTT 5, `clean_start=False`
  plus a session expiry interval (with 3.1.1, `clean_session=False`), so QoS 1
  alerts published while the relay is away wait for it at the broker;
* `manual_ack=True`: a message is acknowledged only when the relay calls
  `ack()`, after the alert is committed to the queue. An ack for a message
  of an earlier connection is dropped (the broker redelivers that message);
* received messages in bursts (`next_burst`), so a burst is one transaction;
* a last will, TLS and credentials; publishing with QoS 1 that can wait for
  the broker's PUBACK;
* with MQTT 5, the largest packet it accepts (`max_packet_size`): a broker
  does not send it a larger one, so a 60 MiB publication cannot blow the
  relay's memory. MQTT 3.1.1 has no such field: there the broker's own limit
  (mosquitto's `max_packet_size` or `message_size_limit`) is the guard.

One `MqttConnection` is one connection: the supervisor makes a new one for
every attempt, so no state of a dead connection leaks into the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, TypeVar

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode, MQTTProtocolVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

if TYPE_CHECKING:
    from paho.mqtt.reasoncodes import ReasonCode

    from .config import MqttConfig

_LOGGER = logging.getLogger(__name__)
_PAHO_LOGGER = logging.getLogger(f"{__name__}.paho")


class _ReconnectsAreWarnings(logging.Filter):
    """paho logs a broken socket ("Connection reset by peer") as an ERROR.

    The relay handles it (it reconnects, and says so as a WARNING), so nothing
    paho reports is more than a warning here. An exception in one of our
    callbacks is not lost: paho raises it again, and the supervisor logs it.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.WARNING:
            record.levelno = logging.WARNING
            record.levelname = logging.getLevelName(logging.WARNING)
        return True


_PAHO_LOGGER.addFilter(_ReconnectsAreWarnings())
MISC_INTERVAL: Final = 1.0
# Beside the payload a PUBLISH carries its topic (up to 64 KiB), a packet ID and
# properties: room for all of that, so only the payload decides.
PACKET_HEADROOM: Final = 65_536 + 1_024
QUICKACK: Final = getattr(socket, "TCP_QUICKACK", None)  # Linux only
MAX_RECEIVE_MAXIMUM: Final = 65_535  # MQTT 5's largest (and default) Receive Maximum
_CLOSED: Final = object()
T = TypeVar("T")


def max_packet_size(max_payload_bytes: int) -> int:
    """The largest packet the relay accepts from the broker (MQTT 5's Maximum Packet Size).

    Twice the largest payload the relay takes, plus the headroom: a payload
    somewhat over `mqtt.max_payload_bytes` still arrives and is dead-lettered
    (`too_large`, with its topic), and only a far larger one is held back by
    the broker, which drops it for the relay as if delivered (MQTT 5, 3.1.12).
    """
    return 2 * max_payload_bytes + PACKET_HEADROOM


class MqttError(Exception):
    """The broker could not be reached, refused us, or the connection broke."""


@dataclass(frozen=True, slots=True)
class Will:
    """What the broker publishes for us when we vanish."""

    topic: str
    payload: str
    qos: int = 1
    retain: bool = True


@dataclass(frozen=True, slots=True)
class IncomingMessage:
    """A received message; acknowledge it with `MqttConnection.ack` once it is safe."""

    topic: str
    payload: bytes
    qos: int
    mid: int
    dup: bool
    retain: bool
    connection: int  # which connection received it


_connection_ids = iter(range(1, 1 << 62))


class MqttConnection:
    """One connection to the broker, driven by the running event loop."""

    def __init__(
        self,
        config: MqttConfig,
        *,
        will: Will | None = None,
        client_id: str | None = None,
        receive_maximum: int | None = None,
    ) -> None:
        """Prepare the client; nothing touches the network until `connect`.

        `receive_maximum` (MQTT 5): QoS 1 messages the broker may send before
        we acknowledge them; unset, 65,535, as many as the broker holds, all
        in memory while they wait for their commit. (MQTT 3.1.1 has no such
        setting: mosquitto's `max_inflight_messages`, 20 by default, bounds it.)
        """
        self._config = config
        self._receive_maximum = receive_maximum
        self.id = next(_connection_ids)
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._v5 = config.protocol == "5"
        self._client = paho.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id or config.client_id,
            clean_session=None if self._v5 else False,
            protocol=MQTTProtocolVersion.MQTTv5 if self._v5 else MQTTProtocolVersion.MQTTv311,
            reconnect_on_failure=False,
            manual_ack=True,
        )
        self._client.enable_logger(_PAHO_LOGGER)
        if config.username:
            self._client.username_pw_set(config.username, config.password)
        if config.tls.enabled:
            self._client.tls_set(
                ca_certs=config.tls.ca_certs,
                certfile=config.tls.certfile,
                keyfile=config.tls.keyfile,
                cert_reqs=ssl.CERT_NONE if config.tls.insecure else ssl.CERT_REQUIRED,
            )
            self._client.tls_insecure_set(config.tls.insecure)
        if will is not None:
            self._client.will_set(will.topic, will.payload, qos=will.qos, retain=will.retain)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.on_publish = self._on_publish
        self._client.on_socket_open = self._on_socket_open
        self._client.on_socket_close = self._on_socket_close
        self._client.on_socket_register_write = self._on_socket_register_write
        self._client.on_socket_unregister_write = self._on_socket_unregister_write
        self._connected: asyncio.Future[bool] = self._loop.create_future()
        self._closed: asyncio.Future[str] = self._loop.create_future()
        self._messages: asyncio.Queue[IncomingMessage | object] = asyncio.Queue()
        self._subscribes: dict[int, asyncio.Future[list[int]]] = {}
        self._publishes: dict[int, asyncio.Future[None]] = {}
        self._misc_task: asyncio.Task[None] | None = None
        self._socket: socket.socket | None = None
        self.session_present = False

    # Connection -------------------------------------------------------------------

    async def connect(self, timeout: float = 30.0) -> None:  # noqa: ASYNC109 - aborts the socket too
        """Connect and wait for the broker's CONNACK; raise MqttError on failure."""
        config = self._config
        connect: Any
        if self._v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = int(config.session_expiry)
            properties.MaximumPacketSize = max_packet_size(config.max_payload_bytes)
            if self._receive_maximum is not None:
                properties.ReceiveMaximum = self._receive_maximum
            connect = functools.partial(
                self._client.connect,
                config.host,
                config.port,
                int(config.keepalive),
                clean_start=False,
                properties=properties,
            )
        else:
            connect = functools.partial(
                self._client.connect, config.host, config.port, int(config.keepalive)
            )
        try:
            async with asyncio.timeout(timeout):
                await self._loop.run_in_executor(None, connect)
                await self._connected
        except (OSError, ssl.SSLError, ValueError) as error:
            self._abort()
            raise MqttError(f"cannot connect to {config.host}:{config.port}: {error}") from None
        except TimeoutError:
            self._abort()
            raise MqttError(f"no answer from {config.host}:{config.port} in {timeout:g}s") from None
        except MqttError:
            self._abort()
            raise

    def _abort(self) -> None:
        with contextlib.suppress(Exception):
            self._client.disconnect()
        self._cleanup_socket()
        if not self._closed.done():
            self._closed.set_result("connection aborted")

    @property
    def is_connected(self) -> bool:
        """Whether the connection is up."""
        return self._connected.done() and not self._closed.done()

    async def wait_closed(self) -> str:
        """Wait until the connection ends; the reason."""
        return await asyncio.shield(self._closed)

    async def disconnect(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - then aborts
        """Say goodbye cleanly (the broker does not publish the will)."""
        if self._closed.done():
            return
        self._client.disconnect()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                await self.wait_closed()
        self._abort()

    # Subscribing and receiving -----------------------------------------------------------

    async def subscribe(
        self,
        filters: list[str],
        qos: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - a broker error, not a cancellation
        *,
        retained: bool = False,
    ) -> None:
        """Subscribe at `qos`; raise MqttError if the broker refuses a filter.

        With MQTT 5 and `retained` False, retained messages are not replayed
        on subscription: the replayed copy of an alert is old state, and
        resubscribing on every connect would send it again and again. (With
        3.1.1 the replays come flagged retained and the relay skips them; a
        retained alert published while subscribed comes unflagged with either
        protocol, and is an alert.)
        """
        if not filters:
            return
        topics: list[tuple[str, Any]]
        if self._v5:
            handling = (
                SubscribeOptions.RETAIN_SEND_ON_SUBSCRIBE
                if retained
                else SubscribeOptions.RETAIN_DO_NOT_SEND
            )
            options = SubscribeOptions(qos=qos, retainHandling=handling)
            topics = [(item, options) for item in filters]
        else:
            topics = [(item, qos) for item in filters]
        result, mid = self._client.subscribe(topics)
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS or mid is None:
            raise MqttError(f"cannot subscribe: {paho.error_string(result)}")
        future: asyncio.Future[list[int]] = self._loop.create_future()
        self._subscribes[mid] = future
        try:
            async with asyncio.timeout(timeout):
                granted = await self._until_closed(future)
        except TimeoutError:
            raise MqttError("the broker did not answer the subscription") from None
        finally:
            self._subscribes.pop(mid, None)
        refused = [item for item, code in zip(filters, granted, strict=False) if code >= 0x80]  # noqa: PLR2004
        if refused:
            raise MqttError(f"the broker refused the subscription to {', '.join(refused)}")

    async def unsubscribe(self, filters: list[str]) -> None:
        """Drop subscriptions (a persistent session keeps them across connections)."""
        if not filters:
            return
        result, _mid = self._client.unsubscribe(filters)
        if result != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise MqttError(f"cannot unsubscribe: {paho.error_string(result)}")

    async def next_burst(self, linger: float, max_messages: int) -> list[IncomingMessage]:
        """Wait for a message, then take what else has been received, `max_messages` at most.

        With `linger` 0 nothing more is waited for: the burst is what arrived
        while the caller was busy (committing the previous burst: group
        commit), including what sits unread in the socket. With `linger` > 0
        the burst also gathers what arrives within `linger` seconds of the
        first message. Raises MqttError when the connection is lost.
        """
        first = await self._messages.get()
        if first is _CLOSED:
            self._messages.put_nowait(_CLOSED)
            raise MqttError(f"connection lost: {self._closed.result()}")
        assert isinstance(first, IncomingMessage)  # noqa: S101 - the queue holds nothing else
        burst = [first]
        deadline = self._loop.time() + linger
        while len(burst) < max_messages:
            if self._messages.empty() and not self._read_socket():
                remaining = deadline - self._loop.time()
                if remaining <= 0:
                    break
                await asyncio.sleep(min(remaining, 0.005))
                continue
            item = self._messages.get_nowait()
            if item is _CLOSED:
                self._messages.put_nowait(_CLOSED)
                break
            assert isinstance(item, IncomingMessage)  # noqa: S101
            burst.append(item)
        return burst

    @property
    def waiting(self) -> int:
        """Messages received and not yet taken by `next_burst` (and the end, once lost)."""
        return self._messages.qsize()

    def _read_socket(self) -> bool:
        """Let paho read one packet already in the socket, if any; whether a message came of it.

        The event loop reads one packet per turn; reading here, without
        waiting, makes a burst of everything received, not only what the loop
        happened to read (a packet other than a message ends that early).
        """
        if self._socket is None or self._closed.done():
            return False
        self._client.loop_read()
        return not self._messages.empty()

    def ack(self, message: IncomingMessage) -> bool:
        """Acknowledge a QoS 1 message; False if its connection is gone (it will be redelivered)."""
        if message.qos == 0 or message.connection != self.id or not self.is_connected:
            return False
        return self._client.ack(message.mid, message.qos) == MQTTErrorCode.MQTT_ERR_SUCCESS

    # Publishing ------------------------------------------------------------------------------

    def publish_nowait(
        self, topic: str, payload: str | bytes, *, qos: int = 0, retain: bool = False
    ) -> asyncio.Future[None] | None:
        """Queue a publication; a future done on its PUBACK (QoS 0: once written).

        None when not connected. Nothing waits for the broker here: a broker
        that answers late (busy with a flood, or frozen) costs no connection;
        the keepalive is what tells a dead connection from a slow one.
        """
        if not self.is_connected:
            return None
        info = self._client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            return None
        future: asyncio.Future[None] = self._loop.create_future()
        if info.is_published():
            future.set_result(None)
        else:
            self._publishes[info.mid] = future
        return future

    async def publish(
        self,
        topic: str,
        payload: str | bytes,
        *,
        qos: int = 1,
        retain: bool = False,
        timeout: float | None = None,  # noqa: ASYNC109 - a broker error, not a cancellation
    ) -> None:
        """Publish and wait for the broker's PUBACK (QoS 0: until written).

        Raises MqttError when not connected, when the connection is lost first,
        or after `timeout` seconds if one is given. Without one a slow PUBACK is
        waited for as long as the connection lives.
        """
        future = self.publish_nowait(topic, payload, qos=qos, retain=retain)
        if future is None:
            raise MqttError("not connected")
        try:
            async with asyncio.timeout(timeout):
                await self._until_closed(future)
        except TimeoutError:
            raise MqttError(f"no PUBACK for {topic} in {timeout:g}s") from None

    async def _until_closed(self, future: asyncio.Future[T]) -> T:
        closed: asyncio.Future[Any] = asyncio.shield(self._closed)
        waiting: set[asyncio.Future[Any]] = {future, closed}
        done, _pending = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        if future in done:
            return future.result()
        raise MqttError(f"connection lost: {self._closed.result()}")

    # paho callbacks (on the loop thread, except socket ones during connect) ---------------

    def _on_connect(
        self,
        _client: paho.Client,
        _userdata: object,
        flags: paho.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self._connected.done():
            return
        if reason_code.is_failure:
            self._connected.set_exception(MqttError(f"the broker refused us: {reason_code}"))
            return
        self.session_present = bool(flags.session_present)
        self._connected.set_result(True)

    def _on_disconnect(
        self,
        _client: paho.Client,
        _userdata: object,
        _flags: paho.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        reason = str(reason_code)
        if not self._connected.done():
            self._connected.set_exception(MqttError(f"disconnected while connecting: {reason}"))
        if not self._closed.done():
            self._closed.set_result(reason)
        self._messages.put_nowait(_CLOSED)

    def _on_message(
        self, _client: paho.Client, _userdata: object, message: paho.MQTTMessage
    ) -> None:
        self._messages.put_nowait(
            IncomingMessage(
                topic=message.topic,
                payload=bytes(message.payload),
                qos=message.qos,
                mid=message.mid,
                dup=bool(message.dup),
                retain=bool(message.retain),
                connection=self.id,
            )
        )

    def _on_subscribe(
        self,
        _client: paho.Client,
        _userdata: object,
        mid: int,
        reason_codes: list[ReasonCode],
        _properties: Properties | None,
    ) -> None:
        future = self._subscribes.get(mid)
        if future is not None and not future.done():
            future.set_result([code.value for code in reason_codes])

    def _on_publish(
        self,
        _client: paho.Client,
        _userdata: object,
        mid: int,
        _reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        future = self._publishes.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(None)

    def _in_loop(self, callback: Any, *args: Any) -> None:  # noqa: ANN401
        if threading.get_ident() == self._loop_thread:
            callback(*args)
        else:
            self._loop.call_soon_threadsafe(callback, *args)

    def _on_socket_open(self, _client: paho.Client, _userdata: object, sock: Any) -> None:  # noqa: ANN401
        # paho leaves Nagle's algorithm on: a packet written while the previous one
        # is unacknowledged (a PUBACK just sent) waited for the peer's delayed ACK,
        # up to 40 ms on Linux. MQTT packets are whole messages: send each at once.
        with contextlib.suppress(AttributeError, OSError):  # a websocket wrapper, a closed socket
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._in_loop(self._watch_socket, sock)

    def _on_socket_close(self, _client: paho.Client, _userdata: object, _sock: Any) -> None:  # noqa: ANN401
        self._in_loop(self._cleanup_socket)

    def _on_socket_register_write(self, _client: paho.Client, _userdata: object, sock: Any) -> None:  # noqa: ANN401
        self._in_loop(self._watch_writable, sock)

    def _on_socket_unregister_write(
        self,
        _client: paho.Client,
        _userdata: object,
        sock: Any,  # noqa: ANN401
    ) -> None:
        self._in_loop(self._unwatch_writable, sock)

    def _watch_socket(self, sock: socket.socket) -> None:
        if self._closed.done():
            return
        self._socket = sock
        self._loop.add_reader(sock, self._readable, sock)
        if self._misc_task is None:
            self._misc_task = self._loop.create_task(self._misc(), name="mqtt-misc")

    def _readable(self, sock: socket.socket) -> None:
        self._client.loop_read()
        if QUICKACK is not None:
            # Acknowledge what was read now. Brokers leave Nagle's algorithm on
            # (mosquitto's `set_tcp_nodelay false`): after a packet we answer
            # nothing to (a PUBACK, a PINGRESP), the broker held the next alert
            # until our delayed ACK, up to 40 ms later.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, QUICKACK, 1)

    def _watch_writable(self, sock: socket.socket) -> None:
        if self._socket is sock and not self._closed.done():
            self._loop.add_writer(sock, self._client.loop_write)

    def _unwatch_writable(self, sock: socket.socket) -> None:
        with contextlib.suppress(ValueError, OSError):
            self._loop.remove_writer(sock)

    def _cleanup_socket(self) -> None:
        sock, self._socket = self._socket, None
        if sock is not None:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(sock)
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_writer(sock)
        if self._misc_task is not None:
            self._misc_task.cancel()
            self._misc_task = None
        if not self._closed.done() and self._connected.done():
            self._closed.set_result("socket closed")
            self._messages.put_nowait(_CLOSED)

    async def _misc(self) -> None:
        while True:
            await asyncio.sleep(MISC_INTERVAL)
            if self._client.loop_misc() != MQTTErrorCode.MQTT_ERR_SUCCESS:
                return
