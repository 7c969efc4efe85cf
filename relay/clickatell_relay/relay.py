"""The supervisor: connect, receive, persist, ack; keep sending; shut down cleanly.

    receive -> validate -> persist -> ack -> batch -> limit -> send -> record

`Relay.run` runs named tasks in a TaskGroup until the stop event is set:
`mqtt` (the connection supervisor: connect, subscribe, announce, receive,
publish; on a broker error back off, capped exponential with jitter, reset
after a successful connect), `dispatch` (the queue to the API, which goes on
while the broker is away) and, when `listener.enabled`, `listener`
(Clickatell's callbacks into the queue, see listener.py; the session
publishes them). Nothing either task raises ends the process: an
error nobody expected (a full card, a locked queue file, a bug) is logged
with its traceback and the task starts again after a backoff. On stop: no
new burst is taken, the burst being committed is committed and acknowledged,
the requests in flight finish (or stay queued), `offline` is published and
the pending acks are flushed before a clean DISCONNECT, each step with a
timeout.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Final, TypeAlias, TypeVar

from aioclickatell import ClickatellClient, InboundMessage, SendOptions

from .acks import Acknowledgements, hint_problem
from .config import Contact, Directory
from .dispatch import (
    ERROR_DETAIL_LIMIT,
    Backoff,
    Dispatcher,
    digest_group_key,
    new_client_message_id,
)
from .mqtt import MAX_RECEIVE_MAXIMUM, IncomingMessage, MqttConnection, MqttError, Will
from .payload import Alert, Reason, Rejection, parse_payload
from .routing import Router
from .status import OFFLINE, ONLINE, Health, discovery_messages, status_payload
from .store import (
    NewDeadLetter,
    NewDigestItem,
    NewSms,
    QueueLock,
    Receipt,
    Store,
    receipt_digest,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    import aiohttp

    from .config import QueueConfig, RelayConfig
    from .listener import CallbackListener

_LOGGER = logging.getLogger(__name__)
STATUS_MIN_INTERVAL: Final = 1.0
DEAD_LETTER_POLL: Final = 5.0
SHUTDOWN_TIMEOUT: Final = 10.0
DEAD_LETTER_TEXT: Final = 500  # characters of a refused payload kept as the dead letter's text
DEAD_LETTERS_LOGGED: Final = 10  # per burst, one line each; the rest are counted
CURRENCY: Final = "currency"  # meta: the balance's currency last announced ("": credits)
LOGGED_EXCERPT: Final = 200  # characters of a topic or a reason's detail in a log line
T = TypeVar("T", bound=BaseException)

# Called once per reply received, after it is committed to the queue: the reply, and
# who sent it (None for a number outside the directory and the allowlist).
InboundHook: TypeAlias = Callable[[InboundMessage, Contact | None], Awaitable[None]]


def build_client(
    config: RelayConfig, session: aiohttp.ClientSession | None = None
) -> ClickatellClient:
    """The shared API client, configured from the relay's configuration."""
    api = config.clickatell
    return ClickatellClient(
        api=api.api,
        api_key=api.api_key,
        username=api.username,
        password=api.password,
        api_id=api.api_id,
        session=session,
        base_url=api.base_url,
        max_batch_size=api.max_batch_size,
        default_region=api.default_region,
        default_options=SendOptions(sender=api.sender) if api.sender else None,
        request_timeout=api.request_timeout,
    )


class _SessionEnded(Exception):  # noqa: N818 - a signal to end a task group, not an error
    """Ends a connection's task group when the relay stops."""


class Relay:
    """One relay process: a store, a client, a dispatcher and an MQTT supervisor."""

    def __init__(
        self, config: RelayConfig, *, session: aiohttp.ClientSession | None = None
    ) -> None:
        """Open the queue and build the client; nothing is sent before `run`."""
        self.config = config
        self._lock = QueueLock(config.queue.path)
        self._lock.acquire()  # before the queue is touched: QueueLockedError
        try:
            self.store = Store(config.queue.path)
        except BaseException:
            self._lock.release()
            raise
        self.health = Health(started_at=time.time())
        self.client = build_client(config, session)
        self.router = Router(config)
        self.directory = Directory(config)
        self._status_dirty = asyncio.Event()
        self._dead_letters_waiting = asyncio.Event()
        self._callbacks_waiting = asyncio.Event()
        # Part of the relay's interface: the acknowledgement logic appends itself here.
        self.inbound_hooks: list[InboundHook] = []
        self.listener: CallbackListener | None = None
        if config.listener.enabled:
            # Imported only then: aiohttp's server is no part of an idle relay's memory.
            from .listener import CallbackListener  # noqa: PLC0415

            self.listener = CallbackListener(
                config,
                store=self.store,
                directory=self.directory,
                hooks=self.inbound_hooks,
                health=self.health,
                on_change=self._callbacks_committed,
            )
        # The store's count of dead letters written when the last look found none unpublished.
        self._dead_letters_looked_at: int | None = None
        self.dispatcher = Dispatcher(
            config=config,
            store=self.store,
            client=self.client,
            health=self.health,
            on_change=self._changed,
        )
        self.acks = Acknowledgements(
            config=config,
            store=self.store,
            on_queued=self._followups_queued,
            on_acknowledged=self._callbacks_committed,
            new_id=new_client_message_id,
        )
        self.inbound_hooks.append(self.acks.on_inbound)
        self.connection: MqttConnection | None = None
        self.connected = asyncio.Event()
        self.bursts = 0
        self._burst: asyncio.Future[None] | None = None
        # The currency of the balance sensor announced to Home Assistant (None: credits).
        self._announced_currency: str | None = None
        self._connection_number = 0  # the store's count of connections (receipts use it)
        # Packet IDs received and not committed yet: a DUP copy of one of them is that
        # new alert again, whatever older receipt has the same ID and content.
        self._fresh_ids: set[int] = set()

    def _followups_queued(self) -> None:
        self.dispatcher.wake()
        self._changed()

    def _callbacks_committed(self) -> None:
        self._callbacks_waiting.set()
        self._changed()

    def _changed(self) -> None:
        self._status_dirty.set()
        if self.store.dead_letters_written != self._dead_letters_looked_at:
            self._dead_letters_waiting.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until `stop` is set."""
        config = self.config
        _LOGGER.info(
            "Starting: broker %s:%d, %s API, %d route(s), %d allowlisted number(s), queue %s",
            config.mqtt.host,
            config.mqtt.port,
            config.clickatell.api.value,
            len(config.routes),
            len(config.allowlist),
            config.queue.path,
        )
        _LOGGER.debug("Configuration: %s", json.dumps(config.redacted(), default=str))
        stats = await self.store.call(self.store.stats)
        if stats.queue_depth or stats.digest_waiting:
            _LOGGER.info(
                "Resuming %d queued SMS and %d digest alert(s) from the last run",
                stats.queue_depth,
                stats.digest_waiting,
            )
        mqtt, limits = config.mqtt, config.limits
        try:
            async with asyncio.TaskGroup() as group:

                def keep_running(
                    name: str, task: Callable[[asyncio.Event], Awaitable[None]], backoff: Backoff
                ) -> None:
                    group.create_task(self._keep_running(name, task, stop, backoff), name=name)

                faults = (limits.backoff_initial, limits.backoff_max)
                keep_running("dispatch", self.dispatcher.run, Backoff(*faults))
                if self.acks.enabled:
                    keep_running("acks", self.acks.run, Backoff(*faults))
                if self.listener is not None:
                    keep_running("listener", self.listener.run, Backoff(*faults))
                reconnects = (mqtt.reconnect_min_delay, mqtt.reconnect_max_delay)
                keep_running("mqtt", self._supervise, Backoff(*reconnects))
        finally:
            await self.client.close()
            await self.store.call(self.store.close)
            self._lock.release()

    async def _keep_running(
        self,
        name: str,
        task: Callable[[asyncio.Event], Awaitable[None]],
        stop: asyncio.Event,
        backoff: Backoff,
    ) -> None:
        """Run `task` until `stop`; whatever it raises is logged and the task starts again.

        No exception from the client, the store or MQTT may end the process: a
        fault the code does not expect (a full card, a locked queue file, a bug)
        is logged with its traceback, and the task is started again after a
        backoff, which starts afresh once the task has run for its maximum.
        """
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            try:
                await task(stop)
            except Exception as error:  # the one place that takes them all
                if loop.time() - started > backoff.maximum:
                    backoff.reset()
                delay = backoff.next()
                _LOGGER.exception("The %s task failed; restarting it in %.1fs", name, delay)
                self.health.error(name, f"{name}: {error!r}"[:ERROR_DETAIL_LIMIT])
                self._changed()
                await _wait(stop, delay)
                if not stop.is_set():
                    continue
            return

    # MQTT supervisor ------------------------------------------------------------------

    async def _supervise(self, stop: asyncio.Event) -> None:
        mqtt = self.config.mqtt
        backoff = Backoff(mqtt.reconnect_min_delay, mqtt.reconnect_max_delay)
        will = Will(topic=mqtt.availability_topic, payload=OFFLINE, qos=1, retain=True)
        # Unacknowledged alerts held in memory: the burst being committed and the
        # next one gathering meanwhile, no more (a backlog stays at the broker).
        in_flight = min(2 * self.config.queue.max_burst, MAX_RECEIVE_MAXIMUM)
        while not stop.is_set():
            connection = MqttConnection(mqtt, will=will, receive_maximum=in_flight)
            try:
                await connection.connect()
            except MqttError as error:
                delay = backoff.next()
                self.health.error("broker", f"broker: {error}")
                _LOGGER.warning("%s; retrying in %.1fs", error, delay)
                await _wait(stop, delay)
                continue
            backoff.reset()
            self.health.clear("broker")
            _LOGGER.info(
                "Connected to %s:%d as %s (session %s)",
                mqtt.host,
                mqtt.port,
                mqtt.client_id,
                "resumed" if connection.session_present else "new",
            )
            self.connection = connection
            try:
                self._connection_number = await self.store.call(
                    self.store.begin_connection, session_present=connection.session_present
                )
                if not connection.session_present:
                    self._fresh_ids.clear()
                # A task of its own: on Python 3.11.0-3.11.2 a TaskGroup that aborts
                # leaves a cancellation request on the task around it, and every
                # later `asyncio.timeout` there raises CancelledError, not
                # TimeoutError: the supervisor would end at its next connect.
                await asyncio.create_task(self._session(connection, stop), name="mqtt-session")
            except MqttError as error:
                self.health.error("broker", f"broker: {error}")
                _LOGGER.warning("Broker connection lost: %s", error)
            finally:
                self.connected.clear()
                self.connection = None
                await self._goodbye(connection, stop)
            if not stop.is_set():
                await _wait(stop, backoff.next())

    async def _goodbye(self, connection: MqttConnection, stop: asyncio.Event) -> None:
        """Let the burst being committed be acknowledged, say offline, disconnect cleanly."""
        if self._burst is not None and not self._burst.done():
            await asyncio.wait({self._burst}, timeout=SHUTDOWN_TIMEOUT)
        if stop.is_set() and connection.is_connected:
            mqtt = self.config.mqtt
            status = json.dumps(await self.status(state=OFFLINE))
            with contextlib.suppress(MqttError):  # the last status agrees with the availability
                connection.publish_nowait(mqtt.status_topic, status, qos=1, retain=True)
                await connection.publish(
                    mqtt.availability_topic, OFFLINE, qos=1, retain=True, timeout=5
                )
        await connection.disconnect(timeout=SHUTDOWN_TIMEOUT)

    async def _session(self, connection: MqttConnection, stop: asyncio.Event) -> None:
        """Subscribe and announce (on every connect), then receive until stop or loss."""
        mqtt = self.config.mqtt
        filters = self.router.subscriptions(mqtt.shared_group)
        # The persistent session keeps the subscriptions of an earlier configuration.
        remembered = await self.store.call(self.store.get_meta, "subscriptions")
        previous: list[str] = json.loads(remembered) if remembered else []
        stale = [item for item in previous if item not in filters]
        if stale:
            _LOGGER.info("Unsubscribing from filters no longer configured: %s", ", ".join(stale))
            await connection.unsubscribe(stale)
        await connection.subscribe(filters, qos=1)
        await self.store.call(self.store.set_meta, "subscriptions", json.dumps(filters))
        # Nothing on the session's way waits for a PUBACK: a broker that answers
        # late is not a broken connection (the keepalive finds those).
        connection.publish_nowait(mqtt.availability_topic, ONLINE, qos=1, retain=True)
        stale = await self._announce(connection) if self.config.status.discovery else []
        self.connected.set()
        self._changed()
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self._receive(connection, stop), name="receive")
                group.create_task(self._publish_status(connection, stop), name="status")
                group.create_task(self._publish_dead_letters(connection, stop), name="dead-letters")
                group.create_task(self._publish_callbacks(connection, stop), name="callbacks")
                if stale:
                    group.create_task(self._remove_entities(connection, stale), name="discovery")
        except ExceptionGroup as errors:
            # Not `except*`: on Python 3.11.0-3.11.3 (Raspberry Pi OS and Debian 12
            # ship 3.11.2) a `raise` inside `except*` comes out wrapped in another
            # ExceptionGroup, and the reconnect loop above would not recognise it.
            _ended, failed = errors.split(_SessionEnded)
            if failed is None:
                return
            lost, other = failed.split(MqttError)
            if other is not None:
                raise other from None  # the supervisor logs it with every traceback
            assert lost is not None  # noqa: S101 - what is neither ended nor other is lost
            raise _first(lost) from None

    async def _announce(self, connection: MqttConnection) -> list[str]:
        """Publish the discovery configs; the topics an earlier configuration announced.

        After the subscriptions: a notify entity appears only once its command
        topic is held for us. The earlier topics stay remembered until their
        removal is acknowledged (`_remove_entities`).
        """
        if self.health.currency is None:  # the last run's, until a balance is read
            self.health.currency = await self.store.call(self.store.get_meta, CURRENCY) or None
        messages = self._publish_discovery(connection)
        announced = [topic for topic, _payload in messages]
        remembered = await self.store.call(self.store.get_meta, "discovery")
        previous: list[str] = json.loads(remembered) if remembered else []
        stale = [topic for topic in previous if topic not in announced]
        await self.store.call(self.store.set_meta, "discovery", json.dumps(announced + stale))
        return stale

    def _publish_discovery(self, connection: MqttConnection) -> list[tuple[str, str]]:
        """Publish the discovery configs, the balance's in the currency last read."""
        self._announced_currency = self.health.currency
        messages = discovery_messages(self.config, self.health.currency)
        for topic, payload in messages:
            connection.publish_nowait(topic, payload, qos=1, retain=True)
        return messages

    async def _announce_currency(self, connection: MqttConnection) -> None:
        """A balance in another currency than announced: announce it, and keep it for next time."""
        if self.config.status.discovery and self.health.currency != self._announced_currency:
            await self.store.call(self.store.set_meta, CURRENCY, self.health.currency or "")
            self._publish_discovery(connection)

    async def _remove_entities(self, connection: MqttConnection, stale: list[str]) -> None:
        """Empty retained configs remove entities from Home Assistant; then they are forgotten.

        A contact no longer opted in, a node ID changed: a removal lost with the
        connection is sent again on the next.
        """
        for topic in stale:
            await connection.publish(topic, "", qos=1, retain=True)
        announced = [topic for topic, _payload in discovery_messages(self.config)]
        await self.store.call(self.store.set_meta, "discovery", json.dumps(announced))

    async def _receive(self, connection: MqttConnection, stop: asyncio.Event) -> None:
        """Take what has arrived (with a linger, what comes within it), commit, ack; again."""
        queue = self.config.queue
        stopping = asyncio.ensure_future(stop.wait())  # one for the session, not per burst
        try:
            while not stop.is_set():
                burst: list[IncomingMessage] | None
                if connection.waiting and not queue.receive_linger:
                    # Already here: taken without waiting, so no race with stop.
                    burst = await connection.next_burst(0.0, queue.max_burst)
                else:
                    burst = await _next_burst_or_stop(connection, queue, stopping)
                    if burst is None:
                        break
                # Not interruptible: commit, then ack, whatever happens meanwhile;
                # `_goodbye` waits for it before disconnecting.
                self._burst = asyncio.ensure_future(self._handle_burst(connection, burst))
                await asyncio.shield(self._burst)
        finally:
            stopping.cancel()
        raise _SessionEnded

    async def _handle_burst(
        self, connection: MqttConnection, burst: Sequence[IncomingMessage]
    ) -> None:
        """Validate, persist and acknowledge one burst."""
        sms: list[NewSms] = []
        digest: list[NewDigestItem] = []
        dead: list[NewDeadLetter] = []
        receipts: list[Receipt] = []
        skip: list[IncomingMessage] = []
        for message in burst:
            if message.retain:
                # Flagged retained: a replay on (re)subscription (3.1.1; MQTT 5 has none
                # with our subscription options), old state, not a new alert.
                _LOGGER.info("Ignoring retained message on %s", message.topic)
                skip.append(message)
                continue
            if self.router.is_own(message.topic):
                # A filter such as `#` hears what the relay publishes itself.
                _LOGGER.debug("Ignoring the relay's own topic %s", message.topic)
                skip.append(message)
                continue
            if message.qos > 0:  # QoS 0 is never redelivered: no receipt
                receipt = Receipt(
                    mid=message.mid, digest=receipt_digest(message.topic, message.payload)
                )
                receipts.append(receipt)
                if await self._is_redelivery(message, receipt):
                    _LOGGER.info("Redelivery of an alert already queued on %s", message.topic)
                    skip.append(message)
                    continue
                self._fresh_ids.add(message.mid)
            self._validate(message, sms, digest, dead)
        result = await self.store.call(
            self.store.commit_burst,
            sms=sms,
            digest=digest,
            dead=dead,
            receipts=receipts,
            received=len(burst) - len(skip),
            connection=self._connection_number,
            max_messages=self.config.queue.max_messages,
        )
        self._fresh_ids.difference_update(receipt.mid for receipt in receipts)
        for message in burst:
            connection.ack(message)
        self.bursts += 1
        self.health.clear("mqtt")
        _log_dead_letters(dead)
        if result.queue_full:
            max_messages = self.config.queue.max_messages
            _LOGGER.warning(
                "%d alert(s) dead-lettered: queue_full (%d SMS queued at most)",
                result.queue_full,
                max_messages,
            )
            self.health.error("queue", f"queue full: {result.queue_full} alert(s) refused")
        else:
            self.health.clear("queue")
        _LOGGER.debug(
            "Burst of %d: %d SMS and %d digest alert(s) queued, %d dead-lettered, %d skipped",
            len(burst),
            result.queued_sms,
            result.queued_digest,
            result.dead_letters,
            len(skip),
        )
        if result.tracked:
            self.acks.schedule_changed()
        self.dispatcher.wake()
        self._changed()

    async def _is_redelivery(self, message: IncomingMessage, receipt: Receipt) -> bool:
        """Whether a message is a copy of one committed and maybe not acknowledged."""
        if not message.dup or message.mid in self._fresh_ids:
            return False
        return await self.store.call(self.store.is_redelivery, receipt, self._connection_number)

    def _validate(
        self,
        message: IncomingMessage,
        sms: list[NewSms],
        digest: list[NewDigestItem],
        dead: list[NewDeadLetter],
    ) -> None:
        route = self.router.route_for(message.topic)
        if route is None:
            dead.append(_dead(message, Rejection(reason=Reason.NO_ROUTE, detail="no route")))
            return
        parsed: Alert | Rejection = parse_payload(
            message.payload,
            topic=message.topic,
            mode=route.payload,
            template=route.template,
            max_parts=route.max_parts,
            max_bytes=self.config.mqtt.max_payload_bytes,
            payload_options=route.payload_options,
        )
        if isinstance(parsed, Rejection):
            dead.append(_dead(message, parsed, route.name))
            return
        routed = self.router.resolve(route, parsed)
        if isinstance(routed, Rejection):
            dead.append(_dead(message, routed, route.name))
            return
        options = {**route.options.to_json(), **parsed.options}
        if route.acknowledge is not None and (
            problem := hint_problem(parsed.text, route.acknowledge.hint, route.max_parts)
        ):
            dead.append(
                _dead(message, Rejection(reason=Reason.TOO_LONG, detail=problem), route.name)
            )
            return
        if route.digest is not None:
            digest.append(
                NewDigestItem(
                    group_key=digest_group_key(route.name, routed.numbers, options),
                    route=route.name,
                    topic=message.topic,
                    recipients=routed.numbers,
                    text=parsed.text,
                    priority=routed.priority,
                    options=options,
                    max_parts=route.max_parts,
                )
            )
            return
        sms.append(
            NewSms(
                client_message_id=new_client_message_id(),
                recipients=routed.numbers,
                text=parsed.text,
                route=route.name,
                topic=message.topic,
                priority=routed.priority,
                options=options,
                max_parts=route.max_parts,
                acknowledge=route.acknowledge,
            )
        )

    # Status and dead letters ---------------------------------------------------------------

    async def status(self, state: str = ONLINE) -> dict[str, Any]:
        """The current status document."""
        stats = await self.store.call(self.store.stats)
        return status_payload(
            stats,
            self.health,
            durable_commits=self.store.durable_commits,
            bookkeeping_commits=self.store.bookkeeping_commits,
            state=state,
        )

    async def _publish_status(self, connection: MqttConnection, stop: asyncio.Event) -> None:
        """Publish the status on change (at most 1/s) and every `status.interval`.

        Never waits for the broker: while the last status is unacknowledged (a
        flood ahead of it, a broker busy elsewhere) no other is queued behind
        it, and the next one, up to date, goes once it is.
        """
        topic = self.config.mqtt.status_topic
        last: asyncio.Future[None] | None = None
        while not stop.is_set():
            if last is None or last.done():
                self._status_dirty.clear()  # a change from now on is published next time
                payload = json.dumps(await self.status())
                last = connection.publish_nowait(topic, payload, qos=1, retain=True)
                await self._announce_currency(connection)
            await _wait(stop, STATUS_MIN_INTERVAL)
            await _wait_any(stop, self._status_dirty, self.config.status.interval)
        raise _SessionEnded

    async def _publish_dead_letters(self, connection: MqttConnection, stop: asyncio.Event) -> None:
        """Publish the unpublished dead letters; look again when this process writes one.

        Every `DEAD_LETTER_POLL` seconds it looks anyway: a command such as
        `queue send` may have written one from another process.
        """
        topic = self.config.mqtt.dead_letter_topic
        while not stop.is_set():
            self._dead_letters_waiting.clear()
            written = self.store.dead_letters_written
            if written != self._dead_letters_looked_at:
                letters = await self.store.call(self.store.unpublished_dead_letters, 100)
                for letter in letters:
                    await connection.publish(topic, json.dumps(letter.to_json()), qos=1)
                if letters:
                    await self.store.call(self.store.mark_published, [item.id for item in letters])
                    continue
                self._dead_letters_looked_at = written
            if not await _wait_any(stop, self._dead_letters_waiting, DEAD_LETTER_POLL):
                self._dead_letters_looked_at = None
        raise _SessionEnded

    async def _publish_callbacks(self, connection: MqttConnection, stop: asyncio.Event) -> None:
        """Publish the statuses and replies committed by the listener; forget each after its PUBACK.

        They wait in the queue while the broker is away (or the relay is
        down) and go, oldest first, once it is back: at least once. Without
        the listener, only what an earlier run left is published.
        """
        prefix = self.config.mqtt.topic_prefix
        while not stop.is_set():
            self._callbacks_waiting.clear()
            items = await self.store.call(self.store.unpublished_callbacks, 100)
            if items:
                for item in items:
                    await connection.publish(f"{prefix}/{item.topic}", item.payload, qos=1)
                await self.store.call(self.store.forget_callbacks, [item.id for item in items])
                continue
            if self.listener is None:
                return  # what a run with the listener left is out; nothing more comes
            await _wait_any(stop, self._callbacks_waiting, DEAD_LETTER_POLL)
        raise _SessionEnded


async def _next_burst_or_stop(
    connection: MqttConnection, queue: QueueConfig, stopping: asyncio.Future[Any]
) -> list[IncomingMessage] | None:
    """The next burst, or None if `stopping` is done first."""
    burst = asyncio.ensure_future(connection.next_burst(queue.receive_linger, queue.max_burst))
    try:
        done, _pending = await asyncio.wait({burst, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        # Also when this task is cancelled (a sibling failed): no burst task
        # may be left behind to fail later with nobody to hear it.
        if not burst.done():
            burst.cancel()  # unacknowledged: the broker keeps those messages
        elif not burst.cancelled():
            burst.exception()  # retrieved; `result()` below raises it
    return burst.result() if burst in done else None


def _first(group: BaseExceptionGroup[T]) -> T:
    """The first leaf exception of a (possibly nested) exception group."""
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def _log_dead_letters(dead: Sequence[NewDeadLetter]) -> None:
    """One line per alert refused on receipt (topic, route, reason), never its payload."""
    for letter in dead[:DEAD_LETTERS_LOGGED]:
        _LOGGER.warning(
            "Alert on %s (route %s) dead-lettered: %s: %s",
            (letter.topic or "")[:LOGGED_EXCERPT],
            letter.route or "none",
            letter.reason,
            letter.detail[:LOGGED_EXCERPT],
        )
    if len(dead) > DEAD_LETTERS_LOGGED:
        _LOGGER.warning(
            "... and %d more alert(s) of that burst dead-lettered (see the dead-letter topic)",
            len(dead) - DEAD_LETTERS_LOGGED,
        )


def _dead(
    message: IncomingMessage, rejection: Rejection, route: str | None = None
) -> NewDeadLetter:
    text = None
    with contextlib.suppress(UnicodeDecodeError):
        # The start only (a payload may be megabytes); an incremental decoder leaves
        # out a character cut at the end instead of refusing it.
        start = message.payload[: 4 * DEAD_LETTER_TEXT]
        text = codecs.getincrementaldecoder("utf-8")().decode(start)[:DEAD_LETTER_TEXT]
    return NewDeadLetter(
        reason=rejection.reason,
        detail=rejection.detail,
        topic=message.topic,
        route=route,
        text=text,
        payload=message.payload,
    )


async def _wait(stop: asyncio.Event, delay: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(delay):
            await stop.wait()


async def _wait_any(stop: asyncio.Event, event: asyncio.Event, delay: float) -> bool:
    """Wait until `stop` or `event` is set, `delay` seconds at most; whether one was."""
    waits = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(event.wait())]
    try:
        done, _pending = await asyncio.wait(
            waits, timeout=delay, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        for waiter in waits:
            waiter.cancel()
    return bool(done)


async def run_relay(config: RelayConfig) -> int:
    """Run the relay until SIGTERM or SIGINT; the process's exit status."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    relay = Relay(config)
    try:
        await relay.run(stop)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)
    _LOGGER.info("Stopped")
    return 0
