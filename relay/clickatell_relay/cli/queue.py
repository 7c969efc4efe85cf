"""`queue list`, `retry`, `purge-dead` and `send`: the relay's queue file, no API secret needed.

They work on the queue the relay made (and never make one: a queue made by
root before the relay's first start would be root's). `retry` and
`purge-dead` touch only the dead letters named, or every one with `--all`,
and say why a named one could not be handled.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clickatell_relay.payload import Reason, Rejection

from .exits import CommandError, Exit
from .sources import relay_config

if TYPE_CHECKING:
    import argparse
    from collections.abc import Iterator

    from clickatell_relay.config import RelayConfig
    from clickatell_relay.store import DeadLetter, Store

# A queued SMS refused for its recipients rather than for what it says.
_RECIPIENT_REASONS = frozenset(
    {Reason.UNKNOWN_RECIPIENT, Reason.RECIPIENTS_NOT_ALLOWED, Reason.NO_RECIPIENTS}
)


@contextmanager
def _opened(config: RelayConfig) -> Iterator[Store]:
    from clickatell_relay.store import Store  # noqa: PLC0415 - only the queue commands

    path = Path(config.queue.path)
    if not path.exists():
        raise CommandError(
            f"no queue at {path}: the relay makes it on its first start "
            f"(queue.path in {config.source})"
        )
    try:
        store = Store(path)
    except (OSError, sqlite3.Error) as error:
        raise CommandError(
            f"cannot open the queue {path}: {error} (run as the relay's user, or with sudo)"
        ) from None
    try:
        yield store
    finally:
        store.close()


def _print(args: argparse.Namespace, data: dict[str, Any], lines: list[str]) -> None:
    if args.json:
        print(json.dumps(data, indent=2, default=str))  # noqa: T201
    else:
        print("\n".join(lines))  # noqa: T201


async def list_queue(args: argparse.Namespace) -> int:
    """Depth, counters, the queued SMS, the sent ones (with their delivery), the dead letters."""
    with _opened(relay_config(args, secrets=False)) as store:
        stats = store.stats()
        queued = store.messages(state="queued", limit=args.limit)
        sent = store.messages(state="sent", limit=args.limit)
        dead = store.dead_letters(args.limit)
    data = {
        "queue_depth": stats.queue_depth,
        "digest_waiting": stats.digest_waiting,
        "oldest_queued_at": stats.oldest_queued_at,
        "counters": stats.counters,
        "queued": queued,
        "sent": sent,
        "dead_letters": [letter.to_json() for letter in dead],
    }
    counters = ", ".join(f"{key} {value:g}" for key, value in sorted(stats.counters.items()))
    lines = [
        (
            f"{stats.queue_depth} SMS queued, {stats.digest_waiting} alert(s) waiting for a "
            f"digest, {stats.dead_letters} dead letter(s)"
        ),
        f"counters: {counters}",
    ]
    lines.extend(
        f"  queued #{row['id']} p{row['priority']} to {row['recipient']}: {row['text'][:60]!r}"
        + (f" (last error: {row['error']})" if row["error"] else "")
        for row in queued
    )
    # With the listener on, what Clickatell called back: delivered, failed, expired, ...
    lines.extend(
        f"  sent #{row['id']} to {row['recipient']}: "
        + (
            f"{row['delivery']}{' ' + row['delivery_code'] if row['delivery_code'] else ''}"
            if row["delivery"]
            else "no delivery status yet"
        )
        for row in sent
    )
    lines.extend(
        f"  dead #{letter.id} {letter.reason}{' ' + letter.code if letter.code else ''}: "
        f"{letter.detail}"
        + (f" ({letter.recipient})" if letter.recipient else "")
        + ("" if letter.sms_id is None else " [retryable]")
        for letter in dead
    )
    _print(args, data, lines)
    return Exit.OK


def _named(args: argparse.Namespace, verb: str) -> list[int] | None:
    """The IDs named, or None for --all; refuses neither or both."""
    if args.all and args.ids:
        raise CommandError("give dead letter IDs or --all, not both", Exit.USAGE)
    if not args.all and not args.ids:
        raise CommandError(
            f"name the dead letters to {verb} (their IDs are in `queue list`), "
            f"or give --all to {verb} every one",
            Exit.USAGE,
        )
    return None if args.all else list(dict.fromkeys(args.ids))


def _missing(ids: list[int], found: dict[int, DeadLetter]) -> list[str]:
    return [f"#{letter_id}: no such dead letter" for letter_id in ids if letter_id not in found]


async def retry(args: argparse.Namespace) -> int:
    """Queue dead SMS again; a refused alert has no SMS to queue."""
    ids = _named(args, "retry")
    with _opened(relay_config(args, secrets=False)) as store:
        found = {} if ids is None else {letter.id: letter for letter in store.dead_letters(ids=ids)}
        sendable = None if ids is None else [i for i in ids if i in found and found[i].sms_id]
        count = store.retry_dead(sendable) if sendable != [] else 0
    print(f"{count} dead SMS queued again")  # noqa: T201
    if ids is None:
        return Exit.OK
    problems = _missing(ids, found) + [
        f"#{letter.id} is a refused alert ({letter.reason}): it has no SMS to send again"
        for letter in found.values()
        if letter.sms_id is None
    ]
    if problems:
        raise CommandError("\n".join(sorted(problems)))
    return Exit.OK


async def purge(args: argparse.Namespace) -> int:
    """Forget dead letters (and their dead SMS)."""
    ids = _named(args, "purge")
    with _opened(relay_config(args, secrets=False)) as store:
        found = {} if ids is None else {letter.id: letter for letter in store.dead_letters(ids=ids)}
        count = store.purge_dead(ids) if ids is None or found else 0
    print(f"{count} dead letter(s) purged")  # noqa: T201
    if ids is not None and (problems := _missing(ids, found)):
        raise CommandError("\n".join(problems))
    return Exit.OK


async def send(args: argparse.Namespace) -> int:
    """Put an SMS in the queue with the checks of an MQTT alert; the running relay sends it."""
    from clickatell_relay.dispatch import new_client_message_id  # noqa: PLC0415
    from clickatell_relay.payload import Alert, parse_payload  # noqa: PLC0415
    from clickatell_relay.routing import Router  # noqa: PLC0415
    from clickatell_relay.store import NewSms  # noqa: PLC0415

    config = relay_config(args, secrets=False)
    route = next((item for item in config.routes if item.name == args.route), None)
    if args.route and route is None:
        names = ", ".join(item.name for item in config.routes)
        raise CommandError(f"no route named {args.route!r} (routes: {names})", Exit.USAGE)
    route = route or config.routes[0]
    topic = f"cli/{route.name}"
    parsed = parse_payload(
        args.text.encode(),
        topic=topic,
        mode="text",
        max_parts=route.max_parts,
        max_bytes=config.mqtt.max_payload_bytes,
    )
    if isinstance(parsed, Rejection):
        raise _refused(parsed)
    alert = Alert(text=parsed.text, recipients=tuple(args.to), priority=args.priority)
    routed = Router(config).resolve(route, alert)
    if isinstance(routed, Rejection):
        raise _refused(routed)
    with _opened(config) as store:
        client_message_id = new_client_message_id()
        queued = store.enqueue(
            NewSms(
                client_message_id=client_message_id,
                recipients=routed.numbers,
                text=parsed.text,
                route=route.name,
                topic=topic,
                priority=routed.priority,
                options=route.options.to_json(),
                max_parts=route.max_parts,
            ),
            max_messages=config.queue.max_messages,
        )
    if not queued:
        raise CommandError(f"the queue is full ({config.queue.max_messages} SMS): nothing queued")
    print(  # noqa: T201
        f"Queued {len(routed.numbers)} SMS (clientMessageId {client_message_id}); "
        "the running relay sends them within its poll interval"
    )
    return Exit.OK


def _refused(rejection: Rejection) -> CommandError:
    """What the relay's own checks refused, as they would refuse an MQTT alert."""
    status = (
        Exit.RECIPIENT_REFUSED if rejection.reason in _RECIPIENT_REASONS else Exit.INVALID_REQUEST
    )
    return CommandError(f"{rejection.reason}: {rejection.detail}", status)
