"""The SQLite queue: bursts, claims, results, bounds, digests, dead letters, reopening."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from clickatell_relay.store import (
    MAX_DEAD_LETTERS,
    NewCallback,
    NewDeadLetter,
    NewDigestItem,
    NewSms,
    NotYetKnown,
    Receipt,
    SentSms,
    Store,
    receipt_digest,
)


def sms(cmid: str, *recipients: str, priority: int = 5, text: str = "hello") -> NewSms:
    return NewSms(
        client_message_id=cmid,
        recipients=recipients,
        text=text,
        route="r",
        topic="alerts/x",
        priority=priority,
        options={"validity_period": 5},
        max_parts=3,
    )


def commit(store: Store, *alerts: NewSms, max_messages: int = 100, now: float = 1000.0) -> None:
    store.commit_burst(
        sms=alerts, digest=[], dead=[], receipts=[], max_messages=max_messages, now=now
    )


def test_wal_mode_and_one_durable_commit_per_burst(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    commit(store, sms("a", "1", "2"), sms("b", "3"))
    assert store.durable_commits == 1
    assert store.bookkeeping_commits == 0
    mode = sqlite3.connect(tmp_path / "q.db").execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert store.stats().queue_depth == 3
    store.close()


def test_claims_take_priority_then_age_and_respect_the_batch_size(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    commit(store, sms("low", "1", "2", "3", priority=1), sms("high", "4", priority=9))
    first = store.claim(limit=2, now=2000)
    assert first is not None
    assert first.client_message_id == "high"
    second = store.claim(limit=2, exclude=first.ids, now=2000)
    assert second is not None
    assert second.client_message_id == "low"
    assert second.recipients == ("1", "2")
    assert second.options == {"validity_period": 5}
    third = store.claim(limit=2, exclude={*first.ids, *second.ids}, now=2000)
    assert third is not None
    assert third.recipients == ("3",)
    store.close()


def test_results_retries_and_dead_letters(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    commit(store, sms("a", "1", "2", "3"))
    batch = store.claim(limit=10, now=2000)
    assert batch is not None
    one, two, three = batch.ids
    store.record_results(
        sent=[(one, "api-1")],
        dead=[
            (two, NewDeadLetter(reason="rejected", detail="opted out", code="122", recipient="2"))
        ],
        retry=[three],
        retry_at=5000,
        credits_used=1,
        now=2000,
    )
    assert store.claim(limit=10, now=2000) is None  # the retry waits
    retried = store.claim(limit=10, now=5000)
    assert retried is not None
    assert retried.ids == (three,)
    assert retried.attempts == 1
    stats = store.stats()
    assert stats.counters["sent"] == 1
    assert stats.counters["dead_lettered"] == 1
    assert store.credits_spent(2000) == 1
    letters = store.unpublished_dead_letters()
    assert [(letter.code, letter.recipient) for letter in letters] == [("122", "2")]
    store.mark_published([letter.id for letter in letters])
    assert store.unpublished_dead_letters() == []
    assert store.retry_dead() == 1
    assert store.stats().queue_depth == 2
    store.close()


def test_the_bound_refuses_whole_alerts_as_dead_letters(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    result = store.commit_burst(
        sms=[sms("a", "1", "2"), sms("b", "3", "4"), sms("c", "5")],
        digest=[],
        dead=[],
        receipts=[],
        max_messages=3,
    )
    assert result.queued_sms == 3
    assert result.queue_full == 1
    assert store.stats().queue_depth == 3
    assert [letter.reason for letter in store.unpublished_dead_letters()] == ["queue_full"]
    store.close()


def test_everything_committed_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    store = Store(path)
    receipt = Receipt(mid=7, digest=receipt_digest("alerts/x", b"hello"))
    connection = store.begin_connection(session_present=False)
    store.commit_burst(
        sms=[sms("a", "1")],
        digest=[
            NewDigestItem(
                group_key="g",
                route="r",
                topic="t",
                recipients=("1",),
                text="d",
                priority=5,
                options={},
                max_parts=1,
            )
        ],
        dead=[NewDeadLetter(reason="empty", detail="empty", payload=b"")],
        receipts=[receipt],
        connection=connection,
        max_messages=10,
    )
    # No close: as after kill -9.
    reopened = Store(path)
    assert reopened.stats().queue_depth == 1
    assert reopened.stats().digest_waiting == 1
    assert reopened.is_redelivery(receipt, connection + 1)
    other = Receipt(mid=7, digest=receipt_digest("alerts/x", b"other"))
    assert not reopened.is_redelivery(other, connection + 1)
    assert len(reopened.unpublished_dead_letters()) == 1
    reopened.close()


def test_digest_fold_is_atomic(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    items = [
        NewDigestItem(
            group_key="g",
            route="r",
            topic="t",
            recipients=("1", "2"),
            text=f"alert {index}",
            priority=5,
            options={},
            max_parts=1,
        )
        for index in range(3)
    ]
    store.commit_burst(sms=[], digest=items, dead=[], receipts=[], max_messages=10, now=100)
    (group,) = store.digest_groups()
    assert group.count == 3
    assert group.last_flush is None
    waiting = store.digest_items("g")
    store.fold_digest(
        group_key="g", item_ids=[item.id for item in waiting[:2]], sms=sms("d", "1", "2"), now=200
    )
    assert store.last_flush("g") == 200
    assert [item.text for item in store.digest_items("g")] == ["alert 2"]
    assert store.stats().queue_depth == 2
    store.close()


def test_prune_keeps_the_recent_hour_for_the_caps(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    commit(store, sms("a", "1"), now=1000)
    batch = store.claim(limit=10, now=1000)
    assert batch is not None
    store.record_results(sent=[(batch.ids[0], "x")], now=1000)
    assert store.sent_since(["1", "2"], 0) == {"1": [1000.0], "2": []}
    store.prune(retention=3600, now=1000 + 1800)
    assert store.sent_since(["1"], 0) == {"1": [1000.0]}
    store.prune(retention=3600, now=1000 + 7200)
    assert store.sent_since(["1"], 0) == {"1": []}
    store.close()


def test_the_state_directory_and_queue_file_are_private(tmp_path: Path) -> None:
    """They held alerts' texts and numbers readable by every user of the machine."""
    state = tmp_path / "state"
    store = Store(state / "q.db")
    commit(store, sms("a", "1"))  # the WAL exists now
    files = {path.name: path.stat().st_mode & 0o777 for path in state.iterdir()}
    store.close()
    assert state.stat().st_mode & 0o777 == 0o700
    assert files["q.db"] == 0o600
    assert files["q.db-wal"] == 0o600


def test_a_receipt_lives_only_while_its_packet_may_be_redelivered(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    first = Receipt(mid=1, digest=receipt_digest("alerts/x", b"same"))
    second = Receipt(mid=2, digest=receipt_digest("alerts/x", b"same"))

    def burst(connection: int, *receipts: Receipt) -> None:
        store.commit_burst(
            sms=[sms("a", "1")],
            digest=[],
            dead=[],
            receipts=receipts,
            received=len(receipts),
            connection=connection,
            max_messages=100,
        )

    one = store.begin_connection(session_present=False)
    burst(one, first)
    assert store.is_redelivery(first, one)  # a copy on the same connection
    burst(one, second)
    two = store.begin_connection(session_present=True)
    assert store.is_redelivery(first, two)  # the next connection gets the copies
    assert store.is_redelivery(second, two)
    other = Receipt(mid=1, digest=receipt_digest("alerts/x", b"other"))
    burst(two, other)  # packet ID 1 reused: the new receipt replaces the old
    assert not store.is_redelivery(first, two)
    three = store.begin_connection(session_present=True)
    assert not store.is_redelivery(second, three)  # not the connection after next
    assert store.is_redelivery(other, three)
    four = store.begin_connection(session_present=False)  # the broker lost our session
    assert not store.is_redelivery(other, four)
    assert store.stats().counters["received"] == 3
    store.close()


def test_a_queue_file_of_schema_1_opens_with_everything_queued(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        INSERT INTO meta VALUES ('schema', '1');
        CREATE TABLE sms (
            id INTEGER PRIMARY KEY, client_message_id TEXT NOT NULL, recipient TEXT NOT NULL,
            text TEXT NOT NULL, route TEXT NOT NULL, topic TEXT NOT NULL,
            priority INTEGER NOT NULL, options TEXT NOT NULL, max_parts INTEGER NOT NULL,
            state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
            not_before REAL NOT NULL DEFAULT 0, created_at REAL NOT NULL,
            updated_at REAL NOT NULL, api_message_id TEXT, error_code TEXT, error TEXT
        );
        INSERT INTO sms (client_message_id, recipient, text, route, topic, priority, options,
            max_parts, state, created_at, updated_at)
            VALUES ('c', '1', 'queued before the upgrade', 'r', 't', 5, '{}', 3, 'queued', 1, 1);
        CREATE TABLE receipts (
            mid INTEGER NOT NULL, digest BLOB NOT NULL, received_at REAL NOT NULL,
            PRIMARY KEY (mid, digest)
        ) WITHOUT ROWID;
        INSERT INTO receipts VALUES (1, x'00', 1);
        """
    )
    old.close()
    store = Store(path)
    batch = store.claim(limit=10, now=2)
    assert batch is not None
    assert (batch.text, batch.unknown_outcomes) == ("queued before the upgrade", (0,))
    assert store.messages(state="queued")[0]["delivery"] is None  # schema 3's columns
    assert store.get_meta("schema") == "3"
    store.close()


def test_dead_sms_go_with_their_dead_letters(tmp_path: Path) -> None:
    """Dead SMS rows were never pruned: a flood grew the database without bound."""
    store = Store(tmp_path / "q.db")
    flood = [str(number) for number in range(MAX_DEAD_LETTERS + 5)]
    commit(store, sms("a", *flood), max_messages=len(flood))
    batch = store.claim(limit=len(flood), now=2000)
    assert batch is not None
    store.record_results(
        dead=[
            (row_id, batch.dead_letter(recipient, "rejected", "opted out", "122"))
            for row_id, recipient in zip(batch.ids, batch.recipients, strict=True)
        ],
        now=2000,
    )
    store.mark_published([letter.id for letter in store.unpublished_dead_letters(len(flood))])
    store.prune(retention=3600, now=3000)
    dead_rows = store.messages(state="dead", limit=len(flood))
    assert len(dead_rows) == MAX_DEAD_LETTERS
    assert store.stats().dead_letters == MAX_DEAD_LETTERS
    assert store.retry_dead() == MAX_DEAD_LETTERS  # each kept letter still has its SMS
    store.close()


def test_a_digest_alert_counts_once_per_recipient_against_the_bound(tmp_path: Path) -> None:
    """Folding makes one SMS per recipient; the bound counted a digest alert as one."""
    store = Store(tmp_path / "q.db")
    item = NewDigestItem(
        group_key="g",
        route="r",
        topic="t",
        recipients=("1", "2", "3"),
        text="disk full",
        priority=5,
        options={},
        max_parts=1,
    )
    result = store.commit_burst(sms=[], digest=[item, item], dead=[], receipts=[], max_messages=4)
    assert (result.queued_digest, result.queue_full) == (1, 1)
    commit(store, sms("a", "4"), max_messages=4)
    commit(store, sms("b", "5"), max_messages=4)
    assert store.stats().queue_depth == 1  # the second did not fit: 3 + 1 is the bound
    store.close()


def test_a_status_finds_its_sms_even_before_the_send_is_recorded(tmp_path: Path) -> None:
    """A status may outrun the answer to its send request: the client message ID finds it."""
    store = Store(tmp_path / "q.db")
    commit(store, sms("one", "2799900001"), sms("two", "2799900001", "2799900002"))
    early = store.find_sms(api_message_id="api-1", client_message_id="one")
    assert isinstance(early, SentSms)
    assert (early.recipient, early.api_message_id) == ("2799900001", None)
    # Two SMS under one ID and no number in the callback (the One API's): not known yet.
    assert store.find_sms(api_message_id="api-2", client_message_id="two") is NotYetKnown.PENDING
    by_number = store.find_sms(
        api_message_id="api-2", client_message_id="two", recipient="2799900002"
    )
    assert isinstance(by_number, SentSms)
    assert by_number.recipient == "2799900002"
    batch = store.claim(limit=10, now=2000)
    assert batch is not None
    store.record_results(sent=[(row_id, f"api-{row_id}") for row_id in batch.ids], now=2000)
    recorded = store.find_sms(api_message_id=f"api-{batch.ids[0]}")
    assert isinstance(recorded, SentSms)
    assert recorded.id == batch.ids[0]
    assert store.find_sms(api_message_id="never-sent", client_message_id="nobody") is None
    store.close()


def test_callbacks_commit_once_and_never_after_a_final_status(tmp_path: Path) -> None:
    store = Store(tmp_path / "q.db")
    commit(store, sms("one", "2799900001"))
    found = store.find_sms(api_message_id="a", client_message_id="one")
    assert isinstance(found, SentSms)

    def status(value: str, code: str, counter: str | None = None) -> NewCallback:
        return NewCallback(
            key=f"status:a:{value}:{code}",
            topic="delivery/r",
            payload=value,
            sms_id=found.id,
            delivery=value,
            delivery_code=code,
            counter=counter,
        )

    durable = store.durable_commits
    assert store.commit_callbacks([status("delivered", "004", "delivered")]) == [True]
    assert store.durable_commits == durable + 1  # synchronous=FULL, before the 200
    assert store.commit_callbacks([status("delivered", "004", "delivered")]) == [False]
    assert store.commit_callbacks([status("delivered_to_gateway", "003")]) == [False]
    reply = NewCallback(key="reply:m1", topic="inbound", payload="hi", counter="inbound")
    unknown = NewCallback(key="reply:m2", topic=None, counter="inbound_unknown")
    assert store.commit_callbacks([reply, unknown, reply]) == [True, True, False]
    assert [item.payload for item in store.unpublished_callbacks()] == ["delivered", "hi"]
    store.forget_callbacks([item.id for item in store.unpublished_callbacks()])
    assert store.unpublished_callbacks() == []
    (row,) = store.messages(state="queued")
    assert (row["delivery"], row["delivery_code"]) == ("delivered", "004")
    counters = store.stats().counters
    assert (counters["delivered"], counters["inbound"], counters["inbound_unknown"]) == (1, 1, 1)
    store.close()
