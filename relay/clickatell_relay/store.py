"""The durable queue: SQLite in WAL mode, written with as few fsyncs as the promises allow.

Durability, and what a power cut can do:

* Every burst of received alerts (all messages the receive loop collected in
  one go, up to `queue.max_burst`) is committed in ONE transaction with
  `PRAGMA synchronous=FULL` BEFORE the broker gets its PUBACKs. In WAL mode
  FULL syncs the write-ahead log at each commit: one fsync per burst. Once an
  alert is acknowledged to the broker it is on the card; a power cut before
  the commit leaves it unacknowledged, and the broker delivers it again.
* Delivery bookkeeping ("sent", retries, dead letters, digests folded) is
  committed with `synchronous=NORMAL`: no fsync at commit, the WAL is synced
  at checkpoints (and by the next FULL commit, which syncs everything before
  it). A power cut can forget the latest "sent" marks, and then those SMS are
  sent again after the restart: a duplicate, never a loss. A process crash
  (kill -9) loses nothing committed at either level: the WAL is in the OS's
  page cache.
* Nothing marks a row "in flight" on disk: a claimed batch lives in memory
  until its result is recorded, so a crash leaves it queued and it is sent
  again on restart. Duplicates after a crash are limited to the requests that
  were in flight, which the API may or may not have accepted.
* A redelivered message (DUP flag) whose packet ID and content match a
  receipt of one we committed but may not have acknowledged is not queued a
  second time; a receipt lives only as long as the broker may redeliver that
  very packet (see `Store.begin_connection`).

Bounded size: at most `queue.max_messages` SMS wait at once, counting an
alert waiting for its digest once per recipient (folding makes one SMS for
each). An alert that would pass the bound is refused whole, dead-lettered
with reason `queue_full` and counted; what is already queued is never
evicted. Sent rows are kept for `queue.retention` (the per-recipient caps
count them), dead letters until purged, at most `MAX_DEAD_LETTERS` published
ones, and a dead SMS as long as its dead letter.

All methods are synchronous and meant to run on one thread: the relay calls
them through `Store.call`, which uses the store's own single worker thread,
so the event loop never waits on the card.

The queue holds alerts' texts and numbers: a directory the store creates is
0700, a queue file it creates 0600 (SQLite gives its -wal and -shm files the
queue file's mode). One relay at a time runs on a queue file: `QueueLock`.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import hashlib
import json
import os
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

from aioclickatell import MessageStatus

from .acks import Reply, ack_document, ack_topic, new_reference, with_hint

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator, Sequence

    from .config import AcknowledgeConfig

SCHEMA_VERSION: Final = 3
MAX_DEAD_LETTERS: Final = 10000
MAX_STORED_PAYLOAD: Final = 4096
# Clickatell retries a callback for up to 3 days and a bit: a replay is known for longer.
CALLBACKS_REMEMBERED: Final = 7 * 86400.0

QUEUED: Final = "queued"
SENT: Final = "sent"
DEAD: Final = "dead"

P = ParamSpec("P")
R = TypeVar("R")

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sms (
    id INTEGER PRIMARY KEY,
    client_message_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    text TEXT NOT NULL,
    route TEXT NOT NULL,
    topic TEXT NOT NULL,
    priority INTEGER NOT NULL,
    options TEXT NOT NULL,
    max_parts INTEGER NOT NULL,
    state TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    unknown_outcomes INTEGER NOT NULL DEFAULT 0,
    not_before REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    api_message_id TEXT,
    error_code TEXT,
    error TEXT,
    delivery TEXT,
    delivery_code TEXT,
    delivery_at REAL
);
CREATE INDEX IF NOT EXISTS sms_queue ON sms (priority DESC, id) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS sms_message ON sms (client_message_id);
CREATE INDEX IF NOT EXISTS sms_recipient_sent ON sms (recipient, updated_at) WHERE state = 'sent';
CREATE INDEX IF NOT EXISTS sms_updated ON sms (updated_at) WHERE state = 'sent';
CREATE INDEX IF NOT EXISTS sms_dead ON sms (id) WHERE state = 'dead';
CREATE INDEX IF NOT EXISTS sms_api_message ON sms (api_message_id)
    WHERE api_message_id IS NOT NULL;
CREATE TABLE IF NOT EXISTS digest (
    id INTEGER PRIMARY KEY,
    group_key TEXT NOT NULL,
    route TEXT NOT NULL,
    topic TEXT NOT NULL,
    recipients TEXT NOT NULL,
    text TEXT NOT NULL,
    priority INTEGER NOT NULL,
    options TEXT NOT NULL,
    max_parts INTEGER NOT NULL,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS digest_group ON digest (group_key, id);
CREATE TABLE IF NOT EXISTS digest_groups (
    group_key TEXT PRIMARY KEY, last_flush REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT NOT NULL,
    code TEXT,
    topic TEXT,
    route TEXT,
    recipient TEXT,
    text TEXT,
    payload BLOB,
    sms_id INTEGER,
    client_message_id TEXT,
    published INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS dead_unpublished ON dead_letters (id) WHERE published = 0;
CREATE TABLE IF NOT EXISTS receipts (
    mid INTEGER PRIMARY KEY, digest BLOB NOT NULL, connection INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS callbacks_seen (key TEXT PRIMARY KEY, at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS callback_outbox (
    id INTEGER PRIMARY KEY, topic TEXT NOT NULL, payload TEXT NOT NULL, created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS ack_alerts (
    reference TEXT PRIMARY KEY,
    route TEXT NOT NULL,
    topic TEXT NOT NULL,
    text TEXT NOT NULL,
    sms_text TEXT NOT NULL,
    recipients TEXT NOT NULL,
    numbers TEXT NOT NULL,
    priority INTEGER NOT NULL,
    options TEXT NOT NULL,
    max_parts INTEGER NOT NULL,
    message_ids TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_sent_at REAL NOT NULL,
    reply_window REAL NOT NULL,
    repeat_every REAL,
    repeats_left INTEGER NOT NULL DEFAULT 0,
    repeats_sent INTEGER NOT NULL DEFAULT 0,
    next_repeat_at REAL,
    escalate_to TEXT NOT NULL DEFAULT '[]',
    escalate_at REAL,
    escalated INTEGER NOT NULL DEFAULT 0,
    acked_at REAL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS unknown_sends (recipient TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS unknown_sends_recipient ON unknown_sends (recipient, at);
"""


def receipt_digest(topic: str, payload: bytes) -> bytes:
    """A short fingerprint of a message, to recognise its redelivery."""
    fingerprint = hashlib.blake2b(topic.encode(), digest_size=16)
    fingerprint.update(b"\x00")
    fingerprint.update(payload)  # no copy of a large payload
    return fingerprint.digest()


def utc_day(now: float) -> str:
    """The UTC date of a timestamp, as the daily budget counts it."""
    return datetime.fromtimestamp(now, UTC).date().isoformat()


@dataclass(frozen=True, kw_only=True)
class NewSms:
    """One alert to queue: one text for several recipients under one client message ID."""

    client_message_id: str
    recipients: tuple[str, ...]
    text: str
    route: str
    topic: str
    priority: int
    options: dict[str, Any]
    max_parts: int
    # The route's acknowledgement settings: the SMS gets a reference and a schedule.
    acknowledge: AcknowledgeConfig | None = None


@dataclass(frozen=True, kw_only=True)
class NewDigestItem:
    """One alert waiting in a digest group."""

    group_key: str
    route: str
    topic: str
    recipients: tuple[str, ...]
    text: str
    priority: int
    options: dict[str, Any]
    max_parts: int


@dataclass(frozen=True, kw_only=True)
class NewDeadLetter:
    """A refused alert or a given-up SMS, for the dead-letter topic and `queue list`."""

    reason: str
    detail: str
    code: str | None = None
    topic: str | None = None
    route: str | None = None
    recipient: str | None = None
    text: str | None = None
    payload: bytes | None = None
    client_message_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class Receipt:
    """A received QoS 1 message (its packet ID and fingerprint), to recognise its redelivery."""

    mid: int
    digest: bytes


@dataclass(frozen=True, kw_only=True)
class BurstResult:
    """What became of a committed burst."""

    queued_sms: int
    queued_digest: int
    dead_letters: int
    queue_full: int
    tracked: int = 0  # alerts awaiting an acknowledgement


@dataclass(frozen=True, kw_only=True)
class Batch:
    """Queued SMS with one text and one client message ID, claimed for one request."""

    ids: tuple[int, ...]
    recipients: tuple[str, ...]
    client_message_id: str
    text: str
    route: str
    topic: str
    priority: int
    options: dict[str, Any]
    max_parts: int
    created_at: float
    attempts: int
    unknown_outcomes: tuple[int, ...]  # per row: requests whose outcome stayed unknown

    def only(self, ids: Collection[int]) -> Batch:
        """The same batch with only the rows `ids`."""
        keep = [index for index, row_id in enumerate(self.ids) if row_id in ids]
        return replace(
            self,
            ids=tuple(self.ids[index] for index in keep),
            recipients=tuple(self.recipients[index] for index in keep),
            unknown_outcomes=tuple(self.unknown_outcomes[index] for index in keep),
        )

    def dead_letter(
        self, recipient: str, reason: str, detail: str, code: str | None = None
    ) -> NewDeadLetter:
        """The dead letter for one of the batch's recipients."""
        return NewDeadLetter(
            reason=reason,
            detail=detail,
            code=code,
            topic=self.topic,
            route=self.route,
            recipient=recipient,
            text=self.text,
            client_message_id=self.client_message_id,
        )


@dataclass(frozen=True, kw_only=True)
class DigestItem:
    """An alert waiting in a digest group."""

    id: int
    group_key: str
    route: str
    topic: str
    recipients: tuple[str, ...]
    text: str
    priority: int
    options: dict[str, Any]
    max_parts: int
    created_at: float


@dataclass(frozen=True, kw_only=True)
class DigestGroup:
    """A digest group with waiting alerts."""

    group_key: str
    route: str
    first_at: float
    last_flush: float | None
    count: int


@dataclass(frozen=True, kw_only=True)
class DeadLetter:
    """A stored dead letter."""

    id: int
    created_at: float
    reason: str
    detail: str
    code: str | None
    topic: str | None
    route: str | None
    recipient: str | None
    text: str | None
    payload: bytes | None
    sms_id: int | None
    client_message_id: str | None
    published: bool

    def to_json(self) -> dict[str, Any]:
        """The dead letter as published on the dead-letter topic."""
        payload = None
        if self.payload is not None:
            payload = self.payload.decode("utf-8", errors="replace")
        return {
            "id": self.id,
            "time": datetime.fromtimestamp(self.created_at, UTC).isoformat(),
            "reason": self.reason,
            "detail": self.detail,
            "code": self.code,
            "topic": self.topic,
            "route": self.route,
            "recipient": self.recipient,
            "text": self.text,
            "payload": payload,
            "client_message_id": self.client_message_id,
        }


@dataclass(frozen=True, kw_only=True)
class SentSms:
    """The SMS a delivery status is about (one row: one recipient)."""

    id: int
    client_message_id: str
    api_message_id: str | None
    recipient: str
    text: str
    route: str
    topic: str


class NotYetKnown(Enum):
    """A status of our message (its client message ID) before its API message ID is recorded."""

    PENDING = "pending"  # answered 503: Clickatell's retry finds it recorded


@dataclass(frozen=True, kw_only=True)
class NewCallback:
    """What one status or reply adds to the queue, committed once whatever the replays.

    `key` names the event (a replay has the same); `topic` is under the
    relay's prefix, the publisher adds it (None: remembered, not published).
    A status also updates its SMS
    (`sms_id`, `delivery`: a MessageStatus value, `final`) and may carry
    its dead letter.
    """

    key: str
    topic: str | None
    payload: str = ""
    sms_id: int | None = None
    delivery: str | None = None
    delivery_code: str | None = None
    final: bool = False
    counter: str | None = None
    dead: NewDeadLetter | None = None


@dataclass(frozen=True, kw_only=True)
class OutboxItem:
    """A status or reply committed and not yet acknowledged by the broker."""

    id: int
    topic: str
    payload: str


@dataclass(frozen=True, kw_only=True)
class Stats:
    """The queue at a glance, for the status topic and `queue list`."""

    queue_depth: int
    oldest_queued_at: float | None
    digest_waiting: int
    dead_letters: int
    credits_today: float = 0.0  # UTC day, the relay's estimate (unknown outcomes included)
    awaiting_ack: int = 0  # alerts not acknowledged, within their reply window
    counters: dict[str, float] = field(default_factory=dict)


class QueueLockedError(Exception):
    """Another relay runs on this queue file."""


class QueueLock:
    """An exclusive lock on a queue file, held while one relay runs on it.

    A second relay on the same queue would take over the first one's MQTT
    session (same client ID) and share its queue; it refuses to start instead.
    The lock is `flock` on `<queue>.lock`, which holds the owner's PID: the
    kernel drops it when the process ends, however it ends. Commands that only
    read the queue or add to it (`queue list`, `queue send`) do not take it.
    """

    def __init__(self, queue_path: str | Path) -> None:
        """Name the lock; nothing is taken before `acquire`."""
        self.path = Path(f"{queue_path}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock; raise QueueLockedError naming the relay that holds it."""
        private_directory(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            queue = str(self.path)[: -len(".lock")]
            raise QueueLockedError(
                f"another relay (PID {owner}) is running on the queue {queue}; "
                "stop it first, or give this one its own queue.path and mqtt.client_id"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Let the next relay in."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)  # closing drops the flock


def private_directory(path: Path) -> None:
    """Create `path` (mode 0700) if it is missing; an existing one is left as it is."""
    with contextlib.suppress(FileExistsError):
        path.mkdir(mode=0o700, parents=True)


class Store:
    """The relay's SQLite queue."""

    def __init__(self, path: str | Path) -> None:
        """Open (or create) the queue file; nothing is lost from an earlier run."""
        self.path = str(path)
        if self.path != ":memory:":
            private_directory(Path(self.path).parent)
            with contextlib.suppress(FileExistsError):  # created private, then SQLite's
                os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store")
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA busy_timeout = 10000")
        mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        if mode.lower() != "wal" and self.path != ":memory:":
            raise sqlite3.OperationalError(f"cannot use WAL mode on {self.path}: {mode}")
        self._db.execute("PRAGMA synchronous = NORMAL")
        self._synchronous = "NORMAL"
        # Keep the WAL file from growing without bound between checkpoints.
        self._db.execute("PRAGMA journal_size_limit = 4194304")
        self._db.execute("PRAGMA foreign_keys = OFF")
        # 512 KiB of page cache rather than SQLite's 2 MiB: the queue's hot pages (the
        # index ends new rows go to, the queued rows) fit, the OS caches the rest, and
        # the relay's peak memory is 1.5 MiB lower with no measurable cost in ingest.
        self._db.execute("PRAGMA cache_size = -512")
        self._migrate()
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('schema', ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
        self.durable_commits = 0  # one fsync of the WAL each
        self.bookkeeping_commits = 0  # no fsync at commit
        # Rows this process has written, so that readers look only when there is news.
        self.dead_letters_written = 0
        self.digest_items_written = 0

    def _columns(self, table: str) -> set[str]:
        return {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}

    def _migrate(self) -> None:
        """Bring a queue file of an earlier release to this schema; nothing queued is lost."""
        if "received_at" in self._columns("receipts"):
            # Schema 1 kept receipts for a week, keyed by (packet ID, content): they
            # cannot say which connection they belong to, and are not needed once
            # their PUBACKs are through. Dropping them risks a duplicate, never a loss.
            self._db.execute("DROP TABLE receipts")
        if "state" in (columns := self._columns("sms")) and "unknown_outcomes" not in columns:
            self._db.execute(
                "ALTER TABLE sms ADD COLUMN unknown_outcomes INTEGER NOT NULL DEFAULT 0"
            )
        if "state" in columns and "delivery" not in columns:  # schema 2: no delivery status
            for column in ("delivery TEXT", "delivery_code TEXT", "delivery_at REAL"):
                self._db.execute(f"ALTER TABLE sms ADD COLUMN {column}")

    # Threading -------------------------------------------------------------------

    async def call(self, function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Run a store method on the store's thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(function, *args, **kwargs)
        )

    def close(self) -> None:
        """Checkpoint and close."""
        try:
            self._db.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            self._db.close()
            self._executor.shutdown(wait=False)

    def in_one_transaction(self, writes: Sequence[Callable[[], object]]) -> list[Exception | None]:
        """Run bookkeeping writes in one transaction: one commit for the group.

        Each write runs in a savepoint of its own: one that fails is undone
        alone, and its error is returned in its place (None for a success).
        """
        errors: list[Exception | None] = []
        with self._transaction(durable=False):
            for write in writes:
                try:
                    with self._savepoint():
                        write()
                except Exception as error:  # noqa: BLE001 - handed back to its caller
                    errors.append(error)
                else:
                    errors.append(None)
        return errors

    @contextmanager
    def _transaction(self, *, durable: bool) -> Iterator[sqlite3.Connection]:
        if self._db.in_transaction:  # a write of `in_one_transaction`, in its savepoint
            if durable:
                raise RuntimeError("a durable commit cannot join a bookkeeping transaction")
            yield self._db
            return
        level = "FULL" if durable else "NORMAL"
        if level != self._synchronous:
            self._db.execute(f"PRAGMA synchronous = {level}")
            self._synchronous = level
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        if durable:
            self.durable_commits += 1
        else:
            self.bookkeeping_commits += 1

    @contextmanager
    def _savepoint(self) -> Iterator[None]:
        self._db.execute("SAVEPOINT part")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK TO part")
            self._db.execute("RELEASE part")
            raise
        self._db.execute("RELEASE part")

    @staticmethod
    def _count(db: sqlite3.Connection, name: str, amount: float = 1) -> None:
        if amount:
            db.execute(
                "INSERT INTO counters (name, value) VALUES (?, ?) "
                "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value",
                (name, amount),
            )

    # Settings that outlive a run -------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A remembered value (for example the filters the session is subscribed to)."""
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Remember a value."""
        with self._transaction(durable=False) as db:
            db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # Receiving ------------------------------------------------------------------------

    def begin_connection(self, *, session_present: bool) -> int:
        """Number a new connection to the broker and end the receipts it makes worthless.

        The relay commits a burst, then sends its PUBACKs. Between the two (a
        kill, a power cut, a connection lost) the broker still holds those
        messages unacknowledged and delivers them again, flagged DUP, when the
        relay's session resumes (MQTT does not redeliver at any other time).
        The receipts committed with the burst, (packet ID, fingerprint of topic
        and payload), let the relay recognise them: exactly once, across a
        crash between commit and PUBACK.

        A receipt is worth something only while the broker may still redeliver
        that very packet. The broker frees a packet ID when it has processed our
        PUBACK, and reuses it for a new alert: after 65,535 others (mosquitto
        numbers in sequence), or from 1 again when it lost our session (a
        restart without persistence) or went back to an older save (its
        session, and its numbering, from before the receipts). A new alert
        comes first without DUP; but if the relay dies before committing it, it
        comes again with DUP, and matching a stale receipt with the same
        content would skip it: a loss. So a receipt ends:

        * when the session is new (`session_present` false): nothing can be
          redelivered, every receipt goes;
        * when its connection is older than the previous one: the broker
          redelivers what it holds unacknowledged as soon as the relay's
          session resumes, so a receipt serves on the connection after its
          own and not later. After a restored save, the broker's redeliveries
          and its new numbering start on the first connection after the
          restore, and a relay that dies there before committing finds, on the
          next, receipts two connections old: not a match;
        * when its packet ID arrives again without DUP: the commit of that
          message replaces the receipt (one per packet ID), and until it
          commits the relay remembers the ID in memory (`Relay._fresh_ids`);
        * a DUP message matching a receipt is acknowledged again and its
          receipt moves to the current connection, in case that PUBACK is
          lost too.

        A receipt is not dropped when its PUBACK is sent: the broker may not
        have read it when it stops, saves and comes back (the PUBACKs of the
        last bursts sit in its socket), and it then redelivers alerts already
        queued. What is left: a duplicate when the relay reconnects twice
        before the broker redelivers; and a loss only if the broker reuses a
        packet ID on the same connection while the earlier alert's receipt is
        kept, the relay dies in the milliseconds between reading the new alert
        and committing it, and both alerts have the same topic and payload
        (with mosquitto that takes 65,535 alerts on one connection first).

        One durable commit per connection; nothing is added per alert.
        """
        with self._transaction(durable=True) as db:
            row = db.execute("SELECT value FROM meta WHERE key = 'connection'").fetchone()
            number = (0 if row is None else int(row[0])) + 1
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('connection', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(number),),
            )
            if session_present:
                db.execute("DELETE FROM receipts WHERE connection < ?", (number - 1,))
            else:
                db.execute("DELETE FROM receipts")
        return number

    def is_redelivery(self, receipt: Receipt, connection: int) -> bool:
        """Whether a message flagged DUP on `connection` was committed and may be unacknowledged."""
        row = self._db.execute(
            "SELECT 1 FROM receipts WHERE mid = ? AND digest = ? AND connection >= ?",
            (receipt.mid, receipt.digest, connection - 1),
        ).fetchone()
        return row is not None

    def commit_burst(
        self,
        *,
        sms: Sequence[NewSms],
        digest: Sequence[NewDigestItem],
        dead: Sequence[NewDeadLetter],
        receipts: Sequence[Receipt],
        max_messages: int,
        received: int = 0,
        connection: int | None = None,
        now: float | None = None,
    ) -> BurstResult:
        """Commit a burst in one durable transaction; alerts past the bound are dead letters.

        `received` counts the burst's new messages; `receipts` (new messages and
        redeliveries acknowledged again) are kept under `connection`, replacing
        any earlier receipt of the same packet ID (see `begin_connection`).
        """
        now = time.time() if now is None else now
        queued_sms = queued_digest = queue_full = tracked = 0
        dead_letters = list(dead)
        references: set[str] | None = None  # read once, for the first alert that needs one
        with self._transaction(durable=True) as db:
            depth = self._depth(db)
            for item in digest:
                if depth + len(item.recipients) > max_messages:
                    queue_full += 1
                    dead_letters.append(_full(item.topic, item.route, item.text, max_messages))
                    continue
                depth += len(item.recipients)
                queued_digest += 1
                self.digest_items_written += 1
                db.execute(
                    "INSERT INTO digest (group_key, route, topic, recipients, text, priority,"
                    " options, max_parts, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        item.group_key,
                        item.route,
                        item.topic,
                        json.dumps(item.recipients),
                        item.text,
                        item.priority,
                        json.dumps(item.options, default=str),
                        item.max_parts,
                        now,
                    ),
                )
            for alert in sms:
                if depth + len(alert.recipients) > max_messages:
                    queue_full += 1
                    dead_letters.append(_full(alert.topic, alert.route, alert.text, max_messages))
                    continue
                depth += len(alert.recipients)
                queued_sms += len(alert.recipients)
                if alert.acknowledge is not None:
                    if references is None:
                        references = {
                            row[0] for row in db.execute("SELECT reference FROM ack_alerts")
                        }
                    tracked += 1
                    # The SMS gets the alert's reference in its hint.
                    self._insert_sms(db, self._track(db, alert, references, now), now)
                else:
                    self._insert_sms(db, alert, now)
            for letter in dead_letters:
                self._insert_dead(db, letter, now)
            if connection is not None:
                db.executemany(
                    "INSERT OR REPLACE INTO receipts (mid, digest, connection) VALUES (?, ?, ?)",
                    [(receipt.mid, receipt.digest, connection) for receipt in receipts],
                )
            self._count(db, "received", received)
            self._count(db, "dead_lettered", len(dead_letters))
        return BurstResult(
            queued_sms=queued_sms,
            queued_digest=queued_digest,
            dead_letters=len(dead_letters),
            queue_full=queue_full,
            tracked=tracked,
        )

    def enqueue(self, alert: NewSms, *, max_messages: int, now: float | None = None) -> bool:
        """Queue one alert from outside MQTT (`clickatell-relay queue send`)."""
        result = self.commit_burst(
            sms=[alert], digest=[], dead=[], receipts=[], max_messages=max_messages, now=now
        )
        return result.queued_sms > 0

    @staticmethod
    def _depth(db: sqlite3.Connection) -> int:
        """SMS queued, and SMS the digests will make (folding makes one per recipient)."""
        sms = db.execute("SELECT count(*) FROM sms WHERE state = 'queued'").fetchone()[0]
        waiting = db.execute("SELECT total(json_array_length(recipients)) FROM digest").fetchone()
        return int(sms) + int(waiting[0])

    @staticmethod
    def _insert_sms(db: sqlite3.Connection, alert: NewSms, now: float) -> None:
        options = json.dumps(alert.options, default=str)
        db.executemany(
            "INSERT INTO sms (client_message_id, recipient, text, route, topic, priority,"
            " options, max_parts, state, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
            [
                (
                    alert.client_message_id,
                    recipient,
                    alert.text,
                    alert.route,
                    alert.topic,
                    alert.priority,
                    options,
                    alert.max_parts,
                    now,
                    now,
                )
                for recipient in alert.recipients
            ],
        )

    def _insert_dead(
        self,
        db: sqlite3.Connection,
        letter: NewDeadLetter,
        now: float,
        sms_id: int | None = None,
    ) -> None:
        self.dead_letters_written += 1
        payload = None if letter.payload is None else letter.payload[:MAX_STORED_PAYLOAD]
        db.execute(
            "INSERT INTO dead_letters (created_at, reason, detail, code, topic, route, recipient,"
            " text, payload, sms_id, client_message_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                now,
                letter.reason,
                letter.detail,
                letter.code,
                letter.topic,
                letter.route,
                letter.recipient,
                letter.text,
                payload,
                sms_id,
                letter.client_message_id,
            ),
        )

    # Acknowledgements, repeats and escalations ---------------------------------------------

    @staticmethod
    def _track(
        db: sqlite3.Connection,
        alert: NewSms,
        references: set[str],
        now: float,
    ) -> NewSms:
        """Give an alert its reference and schedule; the SMS to queue, hint appended."""
        settings = alert.acknowledge
        assert settings is not None  # noqa: S101 - only tracked alerts come here
        reference = new_reference(references)
        references.add(reference)
        sms = replace(alert, text=with_hint(alert.text, settings.hint, reference))
        every = settings.repeat_every
        after = settings.escalate_after
        db.execute(
            "INSERT INTO ack_alerts (reference, route, topic, text, sms_text, recipients, numbers,"
            " priority, options, max_parts, message_ids, created_at, last_sent_at, reply_window,"
            " repeat_every, repeats_left, next_repeat_at, escalate_to, escalate_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                reference,
                alert.route,
                alert.topic,
                alert.text,
                sms.text,
                json.dumps(alert.recipients),
                json.dumps(alert.recipients),
                alert.priority,
                json.dumps(alert.options, default=str),
                alert.max_parts,
                json.dumps([alert.client_message_id]),
                now,
                now,
                settings.window,
                every,
                settings.repeat_max if every is not None else 0,
                None if every is None else now + every,
                json.dumps(settings.escalate_to),
                None if after is None or not settings.escalate_to else now + after,
            ),
        )
        return sms

    def queue_followups(
        self,
        *,
        allowlist: Collection[str],
        max_messages: int,
        new_id: Callable[[], str],
        now: float | None = None,
    ) -> tuple[int, float | None]:
        """Queue the repeats and escalations due; how many SMS, and when the next is due.

        One durable commit queues them and moves their schedules on: a restart
        neither loses nor doubles one. None: no follow-up waits. Numbers no
        longer on `allowlist` are left out. A follow-up that would pass the
        queue's bound is dead-lettered (`queue_full`), and its schedule moves on.
        """
        now = time.time() if now is None else now
        queued = 0
        due_now = (
            "SELECT * FROM ack_alerts WHERE acked_at IS NULL AND (next_repeat_at <= ?"
            " OR (escalate_at <= ? AND escalated = 0))"
        )
        if self._db.execute(due_now, (now, now)).fetchone() is None:
            return 0, self._next_followup()  # a read: no commit, no fsync, when nothing is due
        with self._transaction(durable=True) as db:
            due = db.execute(due_now, (now, now)).fetchall()  # again, inside the transaction
            depth = self._depth(db)
            for row in due:
                message_ids: list[str] = json.loads(row["message_ids"])
                sent_before = len(message_ids)
                numbers: list[str] = json.loads(row["numbers"])
                followups: list[tuple[str, ...]] = []
                if row["next_repeat_at"] is not None and row["next_repeat_at"] <= now:
                    followups.append(tuple(json.loads(row["recipients"])))
                    left = row["repeats_left"] - 1
                    db.execute(
                        "UPDATE ack_alerts SET repeats_left = ?, repeats_sent = repeats_sent + 1,"
                        " next_repeat_at = ? WHERE reference = ?",
                        (left, now + row["repeat_every"] if left > 0 else None, row["reference"]),
                    )
                if row["escalate_at"] is not None and row["escalate_at"] <= now:
                    escalation = tuple(json.loads(row["escalate_to"]))
                    followups.append(escalation)
                    numbers.extend(number for number in escalation if number not in numbers)
                    db.execute(
                        "UPDATE ack_alerts SET escalated = 1, escalate_at = NULL"
                        " WHERE reference = ?",
                        (row["reference"],),
                    )
                for recipients in followups:
                    allowed = tuple(number for number in recipients if number in allowlist)
                    if not allowed:
                        continue
                    sms = NewSms(
                        client_message_id=new_id(),
                        recipients=allowed,
                        text=row["sms_text"],
                        route=row["route"],
                        topic=row["topic"],
                        priority=row["priority"],
                        options=json.loads(row["options"]),
                        max_parts=row["max_parts"],
                    )
                    if depth + len(allowed) > max_messages:
                        letter = _full(sms.topic, sms.route, row["text"], max_messages)
                        self._insert_dead(db, letter, now)
                        self._count(db, "dead_lettered")
                        continue
                    depth += len(allowed)
                    queued += len(allowed)
                    self._insert_sms(db, sms, now)
                    message_ids.append(sms.client_message_id)
                last_sent = now if len(message_ids) > sent_before else row["last_sent_at"]
                db.execute(
                    "UPDATE ack_alerts SET message_ids = ?, numbers = ?, last_sent_at = ?"
                    " WHERE reference = ?",
                    (json.dumps(message_ids), json.dumps(numbers), last_sent, row["reference"]),
                )
            self._count(db, "followups", queued)
        return queued, self._next_followup()

    def _next_followup(self) -> float | None:
        """When the next repeat or escalation is due; None when none waits."""
        due = self._db.execute(
            "SELECT min(min(coalesce(next_repeat_at, 1e300), coalesce(escalate_at, 1e300)))"
            " FROM ack_alerts WHERE acked_at IS NULL"
            " AND (next_repeat_at IS NOT NULL OR escalate_at IS NOT NULL)"
        ).fetchone()[0]
        return None if due is None else float(due)

    def acknowledge(
        self,
        reply: Reply,
        *,
        asked: str | None,
        related: str | None = None,
        now: float | None = None,
    ) -> tuple[str, bool] | None:
        """Acknowledge the alert a reply answers; its reference, and whether this was the first.

        None: the reply answers no alert. One durable commit. The alert is the
        one `asked` names, if one has that reference; else the one whose SMS
        has the API message ID `related` (the message the API says the reply
        answers); else the one with the latest SMS (first, repeat or
        escalation) among those sent to the reply's number, within its reply
        window. The first acknowledgement ends the schedule and drops the
        follow-ups still queued; every one waits in the outbox
        (`unpublished_callbacks`) for `<prefix>/ack/<route>`.
        """
        now = time.time() if now is None else now
        with self._transaction(durable=True) as db:
            row = None
            matched_by = "reference"
            if asked is not None:
                row = db.execute(
                    "SELECT * FROM ack_alerts WHERE reference = ?", (asked,)
                ).fetchone()
            if row is None and related is not None:
                matched_by = "related"
                row = db.execute(
                    "SELECT a.* FROM ack_alerts a, json_each(a.message_ids) m"
                    " WHERE m.value IN (SELECT client_message_id FROM sms"
                    " WHERE api_message_id = ?) LIMIT 1",
                    (related,),
                ).fetchone()
            if row is None:
                matched_by = "latest"
                row = db.execute(
                    "SELECT a.* FROM ack_alerts a, json_each(a.numbers) n WHERE n.value = ?"
                    " AND a.last_sent_at + a.reply_window >= ?"
                    " ORDER BY a.last_sent_at DESC, a.created_at DESC LIMIT 1",
                    (reply.number, now),
                ).fetchone()
            if row is None:
                return None
            alert = dict(row)
            alert["message_ids"] = json.loads(row["message_ids"])
            first = row["acked_at"] is None
            if first:
                db.execute(
                    "UPDATE ack_alerts SET acked_at = ?, next_repeat_at = NULL, escalate_at = NULL"
                    " WHERE reference = ?",
                    (now, row["reference"]),
                )
                # The follow-ups not sent yet (the first SMS is the alert itself).
                dropped = db.execute(
                    "DELETE FROM sms WHERE state = 'queued' AND client_message_id IN"
                    " (SELECT value FROM json_each(?))",
                    (json.dumps(alert["message_ids"][1:]),),
                ).rowcount
                self._count(db, "acknowledged")
                self._count(db, "followups_dropped", dropped)
                alert["acked_at"] = now
            document = ack_document(alert, reply, matched_by=matched_by, first=first)
            db.execute(
                "INSERT INTO callback_outbox (topic, payload, created_at) VALUES (?, ?, ?)",
                (ack_topic(row["route"]), document, now),
            )
        return str(row["reference"]), first

    def ack_alerts(self) -> list[dict[str, Any]]:
        """Every tracked alert, newest first (for inspection and tests)."""
        rows = self._db.execute("SELECT * FROM ack_alerts ORDER BY created_at DESC").fetchall()
        return [dict(row) for row in rows]

    # Sending ------------------------------------------------------------------------------

    def claim(
        self, *, limit: int, exclude: Collection[int] = (), now: float | None = None
    ) -> Batch | None:
        """The next batch: highest priority first, then oldest; one text, one message ID.

        `exclude` holds the rows already in flight. Nothing is written.
        """
        now = time.time() if now is None else now
        excluded = json.dumps(sorted(exclude))
        head = self._db.execute(
            "SELECT client_message_id FROM sms WHERE state = 'queued' AND not_before <= ?"
            " AND id NOT IN (SELECT value FROM json_each(?))"
            " ORDER BY priority DESC, id LIMIT 1",
            (now, excluded),
        ).fetchone()
        if head is None:
            return None
        rows = self._db.execute(
            "SELECT * FROM sms WHERE client_message_id = ? AND state = 'queued'"
            " AND not_before <= ? AND id NOT IN (SELECT value FROM json_each(?))"
            " ORDER BY id LIMIT ?",
            (head[0], now, excluded, limit),
        ).fetchall()
        first = rows[0]
        return Batch(
            ids=tuple(row["id"] for row in rows),
            recipients=tuple(row["recipient"] for row in rows),
            client_message_id=first["client_message_id"],
            text=first["text"],
            route=first["route"],
            topic=first["topic"],
            priority=first["priority"],
            options=json.loads(first["options"]),
            max_parts=first["max_parts"],
            created_at=min(row["created_at"] for row in rows),
            attempts=max(row["attempts"] for row in rows),
            unknown_outcomes=tuple(row["unknown_outcomes"] for row in rows),
        )

    def next_due(self, *, exclude: Collection[int] = ()) -> float | None:
        """When the earliest held row becomes due (None when nothing is queued)."""
        row = self._db.execute(
            "SELECT min(not_before) FROM sms WHERE state = 'queued'"
            " AND id NOT IN (SELECT value FROM json_each(?))",
            (json.dumps(sorted(exclude)),),
        ).fetchone()
        return None if row[0] is None else float(row[0])

    def record_results(
        self,
        *,
        sent: Sequence[tuple[int, str | None]] = (),
        dead: Sequence[tuple[int, NewDeadLetter]] = (),
        retry: Sequence[int] = (),
        retry_at: float = 0.0,
        error: str | None = None,
        credits_used: float = 0.0,
        failed: int = 0,
        unknown: Sequence[int] = (),
        possibly_sent: Sequence[str] = (),
        now: float | None = None,
    ) -> None:
        """Record what became of a batch in one bookkeeping transaction.

        `unknown` rows got no answer the relay could read (they may have been
        sent); `possibly_sent` recipients count against the caps as if sent.
        """
        now = time.time() if now is None else now
        with self._transaction(durable=False) as db:
            db.executemany(
                "UPDATE sms SET state = 'sent', api_message_id = ?, updated_at = ?,"
                " attempts = attempts + 1, error_code = NULL, error = NULL WHERE id = ?",
                [(message_id, now, row_id) for row_id, message_id in sent],
            )
            for row_id, letter in dead:
                db.execute(
                    "UPDATE sms SET state = 'dead', error_code = ?, error = ?, updated_at = ?"
                    " WHERE id = ?",
                    (letter.code, f"{letter.reason}: {letter.detail}", now, row_id),
                )
                self._insert_dead(db, letter, now, row_id)
            db.executemany(
                "UPDATE sms SET attempts = attempts + 1, not_before = ?, error = ?,"
                " updated_at = ? WHERE id = ?",
                [(retry_at, error, now, row_id) for row_id in retry],
            )
            db.executemany(
                "UPDATE sms SET unknown_outcomes = unknown_outcomes + 1 WHERE id = ?",
                [(row_id,) for row_id in unknown],
            )
            db.executemany(
                "INSERT INTO unknown_sends (recipient, at) VALUES (?, ?)",
                [(recipient, now) for recipient in possibly_sent],
            )
            self._count(db, "sent", len(sent))
            self._count(db, "dead_lettered", len(dead))
            self._count(db, "failed", failed)
            self._count(db, f"credits:{utc_day(now)}", credits_used)

    def hold(self, ids: Sequence[int], until: float, reason: str) -> None:
        """Keep rows queued but not before `until` (per-recipient caps)."""
        with self._transaction(durable=False) as db:
            db.executemany(
                "UPDATE sms SET not_before = ?, error = ? WHERE id = ?",
                [(until, reason, row_id) for row_id in ids],
            )

    def expired(self, *, max_age: float, now: float | None = None) -> list[Batch]:
        """Queued rows older than `max_age`, one batch per message (nothing is written)."""
        now = time.time() if now is None else now
        rows = self._db.execute(
            "SELECT * FROM sms WHERE state = 'queued' AND created_at < ? ORDER BY id LIMIT 1000",
            (now - max_age,),
        ).fetchall()
        return [
            Batch(
                ids=(row["id"],),
                recipients=(row["recipient"],),
                client_message_id=row["client_message_id"],
                text=row["text"],
                route=row["route"],
                topic=row["topic"],
                priority=row["priority"],
                options=json.loads(row["options"]),
                max_parts=row["max_parts"],
                created_at=row["created_at"],
                attempts=row["attempts"],
                unknown_outcomes=(row["unknown_outcomes"],),
            )
            for row in rows
        ]

    def sent_since(self, recipients: Collection[str], since: float) -> dict[str, list[float]]:
        """When each recipient was (or may have been) sent an SMS since `since`, oldest first."""
        found: dict[str, list[float]] = {recipient: [] for recipient in recipients}
        numbers = json.dumps(sorted(recipients))
        for row in self._db.execute(
            "SELECT recipient, updated_at FROM sms WHERE state = 'sent'"
            " AND recipient IN (SELECT value FROM json_each(?)) AND updated_at >= ?"
            " UNION ALL SELECT recipient, at FROM unknown_sends"
            " WHERE recipient IN (SELECT value FROM json_each(?)) AND at >= ? ORDER BY 2",
            (numbers, since, numbers, since),
        ):
            found[row[0]].append(float(row[1]))
        return found

    def credits_spent(self, now: float | None = None) -> float:
        """Credits counted today (UTC), by the relay's estimate."""
        now = time.time() if now is None else now
        row = self._db.execute(
            "SELECT value FROM counters WHERE name = ?", (f"credits:{utc_day(now)}",)
        ).fetchone()
        return 0.0 if row is None else float(row[0])

    # Digests -------------------------------------------------------------------------------

    def digest_groups(self) -> list[DigestGroup]:
        """Every group with alerts waiting."""
        rows = self._db.execute(
            "SELECT d.group_key, min(d.route), min(d.created_at), count(*), g.last_flush"
            " FROM digest d LEFT JOIN digest_groups g ON g.group_key = d.group_key"
            " GROUP BY d.group_key"
        ).fetchall()
        return [
            DigestGroup(
                group_key=row[0],
                route=row[1],
                first_at=float(row[2]),
                count=int(row[3]),
                last_flush=None if row[4] is None else float(row[4]),
            )
            for row in rows
        ]

    def last_flush(self, group_key: str) -> float | None:
        """When a digest group last became an SMS."""
        row = self._db.execute(
            "SELECT last_flush FROM digest_groups WHERE group_key = ?", (group_key,)
        ).fetchone()
        return None if row is None else float(row[0])

    def digest_items(self, group_key: str) -> list[DigestItem]:
        """The alerts of a group, oldest first."""
        return [
            DigestItem(
                id=row["id"],
                group_key=row["group_key"],
                route=row["route"],
                topic=row["topic"],
                recipients=tuple(json.loads(row["recipients"])),
                text=row["text"],
                priority=row["priority"],
                options=json.loads(row["options"]),
                max_parts=row["max_parts"],
                created_at=row["created_at"],
            )
            for row in self._db.execute(
                "SELECT * FROM digest WHERE group_key = ? ORDER BY id", (group_key,)
            )
        ]

    def fold_digest(
        self, *, group_key: str, item_ids: Sequence[int], sms: NewSms, now: float | None = None
    ) -> None:
        """Replace digest items by the one SMS they were folded into, atomically."""
        now = time.time() if now is None else now
        with self._transaction(durable=False) as db:
            db.executemany("DELETE FROM digest WHERE id = ?", [(item,) for item in item_ids])
            self._insert_sms(db, sms, now)
            db.execute(
                "INSERT INTO digest_groups (group_key, last_flush) VALUES (?, ?)"
                " ON CONFLICT (group_key) DO UPDATE SET last_flush = excluded.last_flush",
                (group_key, now),
            )
            self._count(db, "digests", 1)
            self._count(db, "digested_alerts", len(item_ids))

    # Dead letters ---------------------------------------------------------------------------

    def unpublished_dead_letters(self, limit: int = 100) -> list[DeadLetter]:
        """Dead letters not yet published, oldest first."""
        rows = self._db.execute(
            "SELECT * FROM dead_letters WHERE published = 0 ORDER BY id LIMIT ?", (limit,)
        ).fetchall()
        return [_dead_letter(row) for row in rows]

    def mark_published(self, ids: Sequence[int]) -> None:
        """Dead letters the broker has acknowledged."""
        if ids:
            with self._transaction(durable=False) as db:
                db.executemany(
                    "UPDATE dead_letters SET published = 1 WHERE id = ?", [(i,) for i in ids]
                )

    def dead_letters(self, limit: int = 100, ids: Sequence[int] | None = None) -> list[DeadLetter]:
        """The newest dead letters, or those of `ids` that exist."""
        if ids is None:
            rows = self._db.execute(
                "SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        else:
            rows = self._db.execute(
                "SELECT * FROM dead_letters WHERE id IN (SELECT value FROM json_each(?))"
                " ORDER BY id DESC",
                (json.dumps(list(ids)),),
            ).fetchall()
        return [_dead_letter(row) for row in rows]

    def retry_dead(self, ids: Sequence[int] | None = None) -> int:
        """Queue dead SMS again (all when `ids` is None); refused payloads cannot be retried."""
        with self._transaction(durable=True) as db:
            if ids is None:
                rows = db.execute(
                    "SELECT id, sms_id FROM dead_letters WHERE sms_id IS NOT NULL"
                ).fetchall()
            else:
                rows = db.execute(
                    "SELECT id, sms_id FROM dead_letters WHERE sms_id IS NOT NULL"
                    " AND id IN (SELECT value FROM json_each(?))",
                    (json.dumps(list(ids)),),
                ).fetchall()
            now = time.time()
            db.executemany(
                "UPDATE sms SET state = 'queued', attempts = 0, not_before = 0, created_at = ?,"
                " updated_at = ?, error = NULL, error_code = NULL"
                " WHERE id = ? AND state = 'dead'",
                [(now, now, row[1]) for row in rows],
            )
            db.executemany("DELETE FROM dead_letters WHERE id = ?", [(row[0],) for row in rows])
        return len(rows)

    def purge_dead(self, ids: Sequence[int] | None = None) -> int:
        """Forget dead letters and their dead SMS: those of `ids`, or every one when None."""
        with self._transaction(durable=False) as db:
            if ids is None:
                count = db.execute("DELETE FROM dead_letters").rowcount
                db.execute("DELETE FROM sms WHERE state = 'dead'")
                return int(count)
            named = json.dumps(list(ids))
            db.execute(
                "DELETE FROM sms WHERE state = 'dead' AND id IN (SELECT sms_id FROM dead_letters"
                " WHERE id IN (SELECT value FROM json_each(?)))",
                (named,),
            )
            count = db.execute(
                "DELETE FROM dead_letters WHERE id IN (SELECT value FROM json_each(?))", (named,)
            ).rowcount
        return int(count)

    # Callbacks: delivery statuses and replies -----------------------------------------------

    def find_sms(
        self,
        *,
        api_message_id: str,
        client_message_id: str | None = None,
        recipient: str | None = None,
    ) -> SentSms | NotYetKnown | None:
        """The SMS a status is about: by API message ID, else by client message ID (and number).

        A status can outrun the answer to the send request it is about: the
        client message ID then names rows whose API message IDs are not
        recorded yet. One such row is the one; several are `PENDING` (which
        one is not known yet). None: not an SMS of this queue (or no longer).
        """
        columns = "id, client_message_id, api_message_id, recipient, text, route, topic"
        row = self._db.execute(
            f"SELECT {columns} FROM sms WHERE api_message_id = ?"  # noqa: S608 - fixed text
            " ORDER BY id DESC LIMIT 1",
            (api_message_id,),
        ).fetchone()
        if row is None and client_message_id is not None:
            where = "client_message_id = ?" + (" AND recipient = ?" if recipient else "")
            rows = self._db.execute(
                f"SELECT {columns} FROM sms WHERE {where} LIMIT 1000",  # noqa: S608 - fixed text
                (client_message_id, recipient) if recipient else (client_message_id,),
            ).fetchall()
            unrecorded = [item for item in rows if item["api_message_id"] is None]
            if len(rows) == 1 and unrecorded:
                row = rows[0]
            elif unrecorded:
                return NotYetKnown.PENDING
        return None if row is None else SentSms(**dict(row))

    def commit_callbacks(
        self, items: Sequence[NewCallback], now: float | None = None
    ) -> list[bool]:
        """Commit statuses and replies in one durable transaction; which of them were new.

        A replay (a key already seen) changes nothing. A status after its
        SMS's final one is remembered and not published: it is no transition.
        """
        now = time.time() if now is None else now
        new: list[bool] = []
        with self._transaction(durable=True) as db:
            for item in items:
                seen = db.execute(
                    "INSERT INTO callbacks_seen (key, at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                    (item.key, now),
                ).rowcount
                if not seen:
                    new.append(False)
                    continue
                if item.sms_id is not None:
                    row = db.execute(
                        "SELECT delivery FROM sms WHERE id = ?", (item.sms_id,)
                    ).fetchone()
                    if row is None or (row[0] is not None and MessageStatus(row[0]).final):
                        new.append(False)
                        continue
                    db.execute(
                        "UPDATE sms SET delivery = ?, delivery_code = ?, delivery_at = ?"
                        " WHERE id = ?",
                        (item.delivery, item.delivery_code, now, item.sms_id),
                    )
                if item.dead is not None:
                    self._insert_dead(db, item.dead, now)
                    self._count(db, "dead_lettered")
                if item.topic is not None:
                    db.execute(
                        "INSERT INTO callback_outbox (topic, payload, created_at) VALUES (?, ?, ?)",
                        (item.topic, item.payload, now),
                    )
                if item.counter is not None:
                    self._count(db, item.counter)
                new.append(True)
        return new

    def unpublished_callbacks(self, limit: int = 100) -> list[OutboxItem]:
        """Statuses and replies the broker has not acknowledged yet, oldest first."""
        return [
            OutboxItem(id=row[0], topic=row[1], payload=row[2])
            for row in self._db.execute(
                "SELECT id, topic, payload FROM callback_outbox ORDER BY id LIMIT ?", (limit,)
            )
        ]

    def forget_callbacks(self, ids: Sequence[int]) -> None:
        """Statuses and replies the broker has acknowledged."""
        if ids:
            with self._transaction(durable=False) as db:
                db.executemany("DELETE FROM callback_outbox WHERE id = ?", [(i,) for i in ids])

    # Upkeep and inspection -------------------------------------------------------------------

    def prune(self, *, retention: float, now: float | None = None) -> None:
        """Drop sent rows past retention, and dead letters (with their SMS) past the bound."""
        now = time.time() if now is None else now
        with self._transaction(durable=False) as db:
            db.execute(
                "DELETE FROM sms WHERE state = 'sent' AND updated_at < ?", (now - retention,)
            )
            db.execute("DELETE FROM unknown_sends WHERE at < ?", (now - retention,))
            # Tracked alerts: kept while a follow-up or a reply may still come.
            db.execute(
                "DELETE FROM ack_alerts WHERE next_repeat_at IS NULL AND escalate_at IS NULL"
                " AND last_sent_at + max(reply_window, ?) < ?",
                (retention, now),
            )
            db.execute("DELETE FROM callbacks_seen WHERE at < ?", (now - CALLBACKS_REMEMBERED,))
            db.execute(
                "DELETE FROM dead_letters WHERE published = 1 AND id <= ("
                "SELECT id FROM dead_letters ORDER BY id DESC LIMIT 1 OFFSET ?)",
                (MAX_DEAD_LETTERS,),
            )
            # A dead SMS is kept for its dead letter (`queue retry`), and goes with it.
            db.execute(
                "DELETE FROM sms WHERE state = 'dead' AND id NOT IN"
                " (SELECT sms_id FROM dead_letters WHERE sms_id IS NOT NULL)"
            )
            db.execute(
                "DELETE FROM counters WHERE name LIKE 'credits:%' AND name < ?",
                (f"credits:{utc_day(now - 7 * 86400)}",),
            )

    def stats(self, now: float | None = None) -> Stats:
        """Queue depth, oldest age, dead letters, today's credits and the counters."""
        depth, oldest = self._db.execute(
            "SELECT count(*), min(created_at) FROM sms WHERE state = 'queued'"
        ).fetchone()
        waiting, oldest_digest = self._db.execute(
            "SELECT count(*), min(created_at) FROM digest"
        ).fetchone()
        dead = self._db.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        now = time.time() if now is None else now
        awaiting = self._db.execute(
            "SELECT count(*) FROM ack_alerts WHERE acked_at IS NULL"
            " AND (last_sent_at + reply_window >= ? OR next_repeat_at IS NOT NULL"
            " OR escalate_at IS NOT NULL)",
            (now,),
        ).fetchone()[0]
        counters = {
            row[0]: float(row[1])
            for row in self._db.execute(
                "SELECT name, value FROM counters WHERE name NOT LIKE 'credits:%'"
            )
        }
        oldest_values = [value for value in (oldest, oldest_digest) if value is not None]
        return Stats(
            queue_depth=int(depth),
            oldest_queued_at=min(oldest_values) if oldest_values else None,
            digest_waiting=int(waiting),
            dead_letters=int(dead),
            credits_today=self.credits_spent(now),
            awaiting_ack=int(awaiting),
            counters=counters,
        )

    def messages(self, *, state: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """SMS rows, newest first, for `queue list`."""
        where = "WHERE state = ?" if state else ""
        params: tuple[Any, ...] = (state, limit) if state else (limit,)
        rows = self._db.execute(
            f"SELECT * FROM sms {where} ORDER BY id DESC LIMIT ?",  # noqa: S608 - fixed text
            params,
        ).fetchall()
        return [dict(row) for row in rows]


def _full(topic: str, route: str, text: str, max_messages: int) -> NewDeadLetter:
    return NewDeadLetter(
        reason="queue_full",
        detail=f"the queue holds its maximum of {max_messages} messages",
        topic=topic,
        route=route,
        text=text,
    )


def _dead_letter(row: sqlite3.Row) -> DeadLetter:
    return DeadLetter(
        id=row["id"],
        created_at=row["created_at"],
        reason=row["reason"],
        detail=row["detail"],
        code=row["code"],
        topic=row["topic"],
        route=row["route"],
        recipient=row["recipient"],
        text=row["text"],
        payload=row["payload"],
        sms_id=row["sms_id"],
        client_message_id=row["client_message_id"],
        published=bool(row["published"]),
    )
