"""Acknowledgements, repeats and escalations in the real SQLite queue, on a clock of our own."""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from clickatell_relay.acks import (
    REFERENCE_ALPHABET,
    Reply,
    asked_reference,
    hint_problem,
    new_reference,
    with_hint,
)
from clickatell_relay.config import AcknowledgeConfig, ConfigError, parse_config
from clickatell_relay.store import NewSms, Store

from .conftest import ALICE, BOB, CAROL

T0 = 1_000_000.0
ALLOWED = frozenset({ALICE, BOB, CAROL})
_ids = itertools.count(1)


def new_id() -> str:
    return f"cmid-{next(_ids)}"


def alert(
    text: str = "Database down",
    *recipients: str,
    cmid: str | None = None,
    settings: AcknowledgeConfig | None = None,
) -> NewSms:
    return NewSms(
        client_message_id=cmid or new_id(),
        recipients=recipients or (ALICE, BOB),
        text=text,
        route="critical",
        topic="alerts/db",
        priority=8,
        options={},
        max_parts=3,
        acknowledge=settings or AcknowledgeConfig(),
    )


def commit(store: Store, *alerts: NewSms, now: float = T0) -> None:
    store.commit_burst(sms=alerts, digest=[], dead=[], receipts=[], max_messages=1000, now=now)


def followups(store: Store, now: float) -> tuple[int, float | None]:
    return store.queue_followups(allowlist=ALLOWED, max_messages=1000, new_id=new_id, now=now)


def reply(text: str, number: str = ALICE, at: float = T0 + 60) -> Reply:
    return Reply(number=number, name="alice", text=text, received_at=at, message_id="mo-1")


def outbox(store: Store) -> list[tuple[int, str, str]]:
    """(id, topic under the prefix, JSON) of what waits to be published."""
    return [(item.id, item.topic, item.payload) for item in store.unpublished_callbacks()]


def queued_texts(store: Store) -> list[tuple[str, str, str]]:
    """(client message ID, recipient, text) of every SMS row, oldest first."""
    rows = store.messages(limit=1000)
    return [(row["client_message_id"], row["recipient"], row["text"]) for row in reversed(rows)]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = Store(tmp_path / "queue.db")
    yield opened
    opened.close()


# References and replies ---------------------------------------------------------------------


def test_references_are_short_typable_and_unique() -> None:
    rng = random.Random(7)  # noqa: S311 - a label, not a secret
    taken: set[str] = set()
    for _ in range(2000):
        reference = new_reference(taken, rng)
        assert reference not in taken
        assert len(reference) == 3
        assert set(reference) <= set(REFERENCE_ALPHABET)
        taken.add(reference)
    assert not set("01OIL") & set(REFERENCE_ALPHABET)


def test_references_grow_when_three_characters_run_short() -> None:
    taken = {"".join(chars) for chars in itertools.product(REFERENCE_ALPHABET, repeat=3)}
    half = set(itertools.islice(taken, len(taken) // 2 + 1))
    assert len(new_reference(half, random.Random(1))) == 4  # noqa: S311 - a label


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ACK 7K2", "7K2"),
        ("ack 7k2", "7K2"),
        ("  Ack7k2 thanks", "7K2"),
        ("ACK:  7K2", "7K2"),
        ("ok, ACK #7k2, on my way", "7K2"),
        ("on it", None),
        ("ACK", None),
        ("ack ok", None),
        ("back 7K2", None),  # not the word ACK
        ("ACK thanks", None),  # a word, not a reference
    ],
)
def test_the_reference_a_reply_names(text: str, expected: str | None) -> None:
    assert asked_reference(text) == expected


def test_the_hint_is_counted_in_the_sms_length() -> None:
    hint = "Reply ACK {ref} to acknowledge"
    assert with_hint("Disk full", hint, "7K2") == "Disk full\nReply ACK 7K2 to acknowledge"
    assert with_hint("Disk full", None, "7K2") == "Disk full"
    fits = "x" * (160 - len("\nReply ACK 7K2 to acknowledge"))
    assert hint_problem(fits, hint, 1) is None
    problem = hint_problem(fits + "x", hint, 1)
    assert problem is not None
    assert problem.startswith("with the acknowledgement hint")
    assert hint_problem("x" * 200, None, 2) is None


# Acknowledging ------------------------------------------------------------------------------


def test_a_tracked_alert_is_queued_with_its_reference_in_the_hint(store: Store) -> None:
    commit(store, alert(cmid="first"))
    (tracked,) = store.ack_alerts()
    reference = tracked["reference"]
    assert [text for _cmid, _to, text in queued_texts(store)] == [
        f"Database down\nReply ACK {reference} to acknowledge"
    ] * 2
    assert tracked["text"] == "Database down"
    assert json.loads(tracked["message_ids"]) == ["first"]
    assert store.stats(now=T0).awaiting_ack == 1


def test_an_untracked_alert_leaves_no_trace(store: Store) -> None:
    plain = NewSms(
        client_message_id="plain",
        recipients=(ALICE,),
        text="hello",
        route="r",
        topic="t",
        priority=5,
        options={},
        max_parts=3,
    )
    commit(store, plain)
    assert store.ack_alerts() == []
    assert queued_texts(store) == [("plain", ALICE, "hello")]
    assert store.acknowledge(reply("ok"), asked=None, now=T0) is None
    assert outbox(store) == []


def test_a_reply_acknowledges_the_latest_alert_sent_to_that_number(store: Store) -> None:
    commit(store, alert("older", cmid="a"), now=T0)
    commit(store, alert("newer", cmid="b"), now=T0 + 10)
    commit(store, alert("to bob only", BOB, cmid="c"), now=T0 + 20)
    outcome = store.acknowledge(reply("on it"), asked=None, now=T0 + 30)
    newer = next(row for row in store.ack_alerts() if row["text"] == "newer")
    assert outcome == (newer["reference"], True)
    ((_row_id, topic, payload),) = outbox(store)
    document = json.loads(payload)
    assert topic == "ack/critical"
    assert document["text"] == "newer"
    assert document["client_message_ids"] == ["b"]
    assert document["topic"] == "alerts/db"
    assert document["acknowledged_by"] == {"name": "alice", "number": ALICE}
    assert document["reply"] == "on it"
    assert document["matched_by"] == "latest"
    assert document["already_acknowledged"] is False
    assert store.stats(now=T0 + 30).awaiting_ack == 2


def test_ack_with_a_reference_acknowledges_an_older_alert(store: Store) -> None:
    commit(store, alert("older", cmid="a"), now=T0)
    commit(store, alert("newer", cmid="b"), now=T0 + 10)
    older = next(row for row in store.ack_alerts() if row["text"] == "older")
    typed = f"ack {older['reference'].lower()}"
    outcome = store.acknowledge(reply(typed), asked=asked_reference(typed), now=T0 + 30)
    assert outcome == (older["reference"], True)
    document = json.loads(outbox(store)[0][2])
    assert document["text"] == "older"
    assert document["matched_by"] == "reference"


def test_the_message_a_reply_answers_by_the_api_names_the_alert(store: Store) -> None:
    commit(store, alert("older", cmid="a"), now=T0)
    commit(store, alert("newer", cmid="b"), now=T0 + 10)
    batch = store.claim(limit=10, now=T0 + 20)
    assert batch is not None
    assert batch.client_message_id == "a"
    store.record_results(sent=[(batch.ids[0], "api-older")], now=T0 + 20)
    older = next(row for row in store.ack_alerts() if row["text"] == "older")
    outcome = store.acknowledge(reply("yes"), asked=None, related="api-older", now=T0 + 30)
    assert outcome == (older["reference"], True)
    assert json.loads(outbox(store)[0][2])["matched_by"] == "related"
    # An ID nobody knows: the latest alert, as without one.
    outcome = store.acknowledge(reply("and?"), asked=None, related="api-unknown", now=T0 + 40)
    newer = next(row for row in store.ack_alerts() if row["text"] == "newer")
    assert outcome == (newer["reference"], True)


def test_an_unknown_reference_falls_back_to_the_latest_alert(store: Store) -> None:
    commit(store, alert("only", cmid="a"))
    (tracked,) = store.ack_alerts()
    unknown = next(ref for ref in ("ZZZ", "YYY") if ref != tracked["reference"])
    assert store.acknowledge(reply(f"ACK {unknown}"), asked=unknown, now=T0 + 5) == (
        tracked["reference"],
        True,
    )


def test_a_reply_after_the_window_acknowledges_nothing(store: Store) -> None:
    commit(store, alert(settings=AcknowledgeConfig(window=600)))
    assert store.acknowledge(reply("late"), asked=None, now=T0 + 601) is None
    assert store.acknowledge(reply("in time"), asked=None, now=T0 + 600) is not None


def test_a_second_reply_is_published_but_changes_nothing(store: Store) -> None:
    settings = AcknowledgeConfig(repeat_every=60, repeat_max=3)
    commit(store, alert(settings=settings))
    reference = store.ack_alerts()[0]["reference"]
    assert store.acknowledge(reply("mine"), asked=None, now=T0 + 10) == (reference, True)
    later = Reply(number=BOB, name="bob", text="got it too", received_at=T0 + 20)
    assert store.acknowledge(later, asked=None, now=T0 + 20) == (reference, False)
    first, second = (json.loads(payload) for _id, _route, payload in outbox(store))
    assert second["already_acknowledged"] is True
    assert second["acknowledged_by"]["name"] == "bob"
    assert second["acknowledged_at"] == first["acknowledged_at"]
    assert store.ack_alerts()[0]["acked_at"] == T0 + 10  # the first acknowledgement stays
    assert followups(store, T0 + 1000) == (0, None)


def test_the_outbox_is_forgotten_one_by_one(store: Store) -> None:
    commit(store, alert())
    store.acknowledge(reply("one"), asked=None, now=T0 + 1)
    store.acknowledge(reply("two"), asked=None, now=T0 + 2)
    first, second = outbox(store)
    store.forget_callbacks([first[0]])
    assert outbox(store) == [second]


# Repeats and escalation ---------------------------------------------------------------------


def test_repeats_follow_the_schedule_up_to_the_maximum(store: Store) -> None:
    commit(store, alert(cmid="a", settings=AcknowledgeConfig(repeat_every=300, repeat_max=2)))
    commits = store.durable_commits
    assert followups(store, T0 + 299) == (0, T0 + 300)
    assert store.durable_commits == commits  # nothing due: a read, no fsync
    assert followups(store, T0 + 300) == (2, T0 + 600)
    assert followups(store, T0 + 300) == (0, T0 + 600)  # nothing doubled
    assert followups(store, T0 + 650) == (2, None)
    assert followups(store, T0 + 5000) == (0, None)  # the maximum is respected
    rows = queued_texts(store)
    assert len(rows) == 6
    assert len({cmid for cmid, _to, _text in rows}) == 3  # one client message ID per SMS
    assert len({text for _cmid, _to, text in rows}) == 1  # the same text and reference
    tracked = store.ack_alerts()[0]
    assert tracked["repeats_sent"] == 2
    assert len(json.loads(tracked["message_ids"])) == 3


def test_an_acknowledgement_stops_the_repeats_and_drops_the_queued_one(store: Store) -> None:
    commit(store, alert(cmid="a", settings=AcknowledgeConfig(repeat_every=60, repeat_max=5)))
    followups(store, T0 + 60)
    assert store.stats().queue_depth == 4
    store.acknowledge(reply("on it"), asked=None, now=T0 + 70)
    assert store.stats().queue_depth == 2  # the repeat not sent yet is dropped, not the alert
    assert {cmid for cmid, _to, _text in queued_texts(store)} == {"a"}
    assert followups(store, T0 + 10_000) == (0, None)
    assert store.stats().counters["acknowledged"] == 1


def test_escalation_fires_once_after_the_delay_without_an_acknowledgement(store: Store) -> None:
    settings = AcknowledgeConfig(escalate_after=900, escalate_to=(CAROL,))
    commit(store, alert("Database down", ALICE, cmid="a", settings=settings))
    assert followups(store, T0 + 899) == (0, T0 + 900)
    assert followups(store, T0 + 900) == (1, None)
    assert followups(store, T0 + 9000) == (0, None)
    escalation = [row for row in queued_texts(store) if row[0] != "a"]
    assert [(to, text.startswith("Database down\nReply ACK")) for _c, to, text in escalation] == [
        (CAROL, True)
    ]
    # Carol's bare reply acknowledges the escalated alert.
    carol = Reply(number=CAROL, name="carol", text="handled", received_at=T0 + 950)
    reference = store.ack_alerts()[0]["reference"]
    assert store.acknowledge(carol, asked=None, now=T0 + 950) == (reference, True)
    assert json.loads(outbox(store)[0][2])["escalated"] is True


def test_no_escalation_after_an_acknowledgement(store: Store) -> None:
    settings = AcknowledgeConfig(
        repeat_every=300, repeat_max=3, escalate_after=900, escalate_to=(CAROL,)
    )
    commit(store, alert(cmid="a", settings=settings))
    store.acknowledge(reply("mine"), asked=None, now=T0 + 100)
    assert followups(store, T0 + 10_000) == (0, None)
    assert {to for _cmid, to, _text in queued_texts(store)} == {ALICE, BOB}


def test_repeats_and_escalation_together(store: Store) -> None:
    settings = AcknowledgeConfig(
        repeat_every=300, repeat_max=3, escalate_after=600, escalate_to=(CAROL,)
    )
    commit(store, alert("Database down", ALICE, cmid="a", settings=settings))
    assert followups(store, T0 + 300) == (1, T0 + 600)
    assert followups(store, T0 + 600) == (2, T0 + 900)  # a repeat to Alice, the escalation
    assert sorted(to for _cmid, to, _text in queued_texts(store)) == [ALICE, ALICE, ALICE, CAROL]


def test_follow_ups_skip_numbers_no_longer_allowed(store: Store) -> None:
    commit(
        store,
        alert(
            "Database down",
            ALICE,
            BOB,
            cmid="a",
            settings=AcknowledgeConfig(repeat_every=60, repeat_max=2),
        ),
    )
    queued, _due = store.queue_followups(
        allowlist={ALICE}, max_messages=1000, new_id=new_id, now=T0 + 60
    )
    assert queued == 1
    assert [to for cmid, to, _text in queued_texts(store) if cmid != "a"] == [ALICE]
    # Nobody left to text: the schedule moves on, and the reply window does not.
    queued, _due = store.queue_followups(
        allowlist=set(), max_messages=1000, new_id=new_id, now=T0 + 120
    )
    assert queued == 0
    (tracked,) = store.ack_alerts()
    assert (tracked["repeats_sent"], tracked["last_sent_at"]) == (2, T0 + 60)


def test_a_follow_up_past_the_queue_bound_is_dead_lettered(store: Store) -> None:
    commit(
        store,
        alert(
            "Database down",
            ALICE,
            BOB,
            cmid="a",
            settings=AcknowledgeConfig(repeat_every=60, repeat_max=1),
        ),
    )
    queued, due = store.queue_followups(
        allowlist=ALLOWED, max_messages=3, new_id=new_id, now=T0 + 60
    )
    assert (queued, due) == (0, None)
    (letter,) = store.dead_letters()
    assert letter.reason == "queue_full"
    assert letter.route == "critical"


def test_the_schedule_survives_reopening_and_nothing_is_doubled(tmp_path: Path) -> None:
    path = tmp_path / "queue.db"
    first = Store(path)
    commit(first, alert(cmid="a", settings=AcknowledgeConfig(repeat_every=60, repeat_max=3)))
    assert followups(first, T0 + 60)[0] == 2
    first.close()
    second = Store(path)  # a restart: the schedule is where it was
    assert followups(second, T0 + 60) == (0, T0 + 120)
    assert followups(second, T0 + 120)[0] == 2
    second.close()
    third = Store(path)
    reference = third.ack_alerts()[0]["reference"]
    assert third.acknowledge(reply("ok"), asked=None, now=T0 + 130) == (reference, True)
    third.close()
    fourth = Store(path)
    assert followups(fourth, T0 + 10_000) == (0, None)
    assert len(outbox(fourth)) == 1  # unpublished: published after the restart
    assert len(json.loads(fourth.ack_alerts()[0]["message_ids"])) == 3  # the alert, 2 repeats
    # The repeats were still queued at the acknowledgement: dropped.
    assert {cmid for cmid, _to, _text in queued_texts(fourth)} == {"a"}
    fourth.close()


def test_pruning_keeps_what_a_reply_or_a_follow_up_may_still_need(store: Store) -> None:
    commit(store, alert(cmid="a", settings=AcknowledgeConfig(window=3600)), now=T0)
    commit(
        store,
        alert(cmid="b", settings=AcknowledgeConfig(repeat_every=10**6, repeat_max=1)),
        now=T0,
    )
    store.prune(retention=3600, now=T0 + 3000)
    assert len(store.ack_alerts()) == 2
    store.prune(retention=3600, now=T0 + 4000)
    assert [row["message_ids"] for row in store.ack_alerts()] == ['["b"]']  # its repeat waits


# Configuration ------------------------------------------------------------------------------

BASE = """
clickatell: {api: rest, api_key: k}
listener: {enabled: true, path_secret: acks-Path-Secret-0123456789-abcdefghijkl}
contacts: {alice: "2799900001", bob: "2799900002", boss: "2799900003"}
routes:
  - name: critical
    topic: alerts/#
    recipients: [alice]
"""


def test_acknowledge_is_off_by_default_and_true_takes_the_defaults() -> None:
    assert parse_config(BASE, environ={}).routes[0].acknowledge is None
    config = parse_config(BASE + "    acknowledge: true\n", environ={})
    assert config.routes[0].acknowledge == AcknowledgeConfig()


def test_acknowledge_settings_are_read_and_escalation_numbers_allowed() -> None:
    text = BASE.replace("boss:", "chief:") + (
        "    acknowledge:\n"
        "      hint: 'ACK {ref}?'\n"
        "      window: 2h\n"
        "      repeat: {every: 5m, max: 3}\n"
        "      escalate: {after: 15m, to: [chief, '+27 999 000 09']}\n"
    )
    config = parse_config(text, environ={})
    assert config.routes[0].acknowledge == AcknowledgeConfig(
        hint="ACK {ref}?",
        window=7200,
        repeat_every=300,
        repeat_max=3,
        escalate_after=900,
        escalate_to=("2799900003", "2799900009"),
    )
    assert {"2799900003", "2799900009"} <= config.allowlist


@pytest.mark.parametrize(
    ("yaml", "message"),
    [
        ("    acknowledge: 3\n", "routes.0.acknowledge: expected true, false or a mapping"),
        ("    acknowledge:\n      repeat: {every: 5m}\n", "acknowledge.repeat.max: required"),
        ("    acknowledge:\n      repeat: {every: 0, max: 2}\n", "acknowledge.repeat.every"),
        ("    acknowledge:\n      repeat: {every: 1m, max: 0}\n", "acknowledge.repeat.max"),
        ("    acknowledge:\n      hint: Reply ACK\n", "hint: expected a text with {ref} once"),
        ("    acknowledge:\n      hint: '{ref} {x}'\n", "hint: expected a text with {ref} once"),
        (
            "    acknowledge:\n      escalate: {after: 1m, to: [nobody]}\n",
            "route critical: escalate to 'nobody': not a contact",
        ),
        ("    acknowledge:\n      escalate: {after: 1m, to: []}\n", "acknowledge.escalate.to"),
        (
            "    acknowledge: true\n    digest: {wait: 1}\n",
            "acknowledge and digest do not go together",
        ),
    ],
)
def test_bad_acknowledge_settings_are_named(yaml: str, message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_config(BASE + yaml, environ={})
    assert message in str(raised.value)


def test_acknowledge_needs_the_listener() -> None:
    text = BASE.replace("enabled: true", "enabled: false") + "    acknowledge: true\n"
    with pytest.raises(ConfigError) as raised:
        parse_config(text, environ={})
    assert "route critical: acknowledge needs the listener" in str(raised.value)


def test_a_hint_can_be_switched_off() -> None:
    config = parse_config(BASE + "    acknowledge:\n      hint: false\n", environ={})
    assert config.routes[0].acknowledge == AcknowledgeConfig(hint=None)


def test_the_example_configs_acknowledge_block_is_valid() -> None:
    """The example ships the block commented out (the listener is off there): uncommented,
    with the listener on, it loads and says what the README says."""
    example = Path(__file__).resolve().parents[2] / "relay/clickatell_relay/install"
    text = (example / "relay.example.yaml").read_text(encoding="utf-8")
    lines = text.splitlines()
    start = lines.index("    # acknowledge:")
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("    #"))
    block = [line.replace("    # ", "    ", 1) for line in lines[start:end]]
    text = "\n".join([*lines[:start], *block, *lines[end:]])
    text = text.replace(
        "  enabled: false                # off by default. On:", "  enabled: true #"
    )
    text = text.replace(
        "  path_secret: null", "  path_secret: acks-Path-Secret-0123456789-abcdefghijkl"
    )
    environ = {"CLICKATELL_API_KEY": "acks-key-Qz71", "RELAY_MQTT_PASSWORD": "acks-mqtt-Wp42"}
    config = parse_config(text, "relay.yaml", environ=environ)
    assert config.routes[0].acknowledge == AcknowledgeConfig(
        window=86400,
        repeat_every=300,
        repeat_max=3,
        escalate_after=900,
        escalate_to=("27830000003",),
    )
