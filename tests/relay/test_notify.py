"""Home Assistant notify entities for contacts and groups: configuration, routes, discovery.

Home Assistant's own side (its discovery schema, its MQTT integration calling
the relay) is tested in its environment: tests/components/test_relay_notify.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from clickatell_relay.broker import LocalBroker
from clickatell_relay.cli import main
from clickatell_relay.config import ConfigError, load_config, parse_config
from clickatell_relay.simulator import Simulator
from clickatell_relay.store import Store

from .conftest import (
    ALICE,
    BOB,
    CAROL,
    ConfigFactory,
    mqtt_client,
    running,
    sent_to,
    until,
    until_async,
)

DIRECTORY = """\
clickatell:
  api_key: k
  sender: "27999000000"
contacts:
  alice: "2799900001"
  bob: "2799900002"
groups:
  oncall: [alice, bob]
routes:
  - name: everything
    topic: "#"
    recipients: [alice]
"""


def _notify(value: str) -> str:
    return DIRECTORY + f"status:\n  notify_entities: {value}\n"


def test_no_entity_unless_asked() -> None:
    config = parse_config(DIRECTORY, "relay.yaml", environ={})
    assert config.status.notify_entities == ()
    assert [route.name for route in config.routes] == ["everything"]


def test_each_entity_has_a_route_to_its_numbers() -> None:
    config = parse_config(_notify("[oncall, alice]"), "relay.yaml", environ={})
    assert config.status.notify_entities == ("oncall", "alice")
    everything, oncall, alice = config.routes  # the file's first route stays first
    assert (oncall.name, oncall.topic, oncall.recipients) == (
        "notify:oncall",
        "clickatell_relay/notify/oncall",
        (ALICE, BOB),
    )
    assert (alice.name, alice.topic, alice.recipients) == (
        "notify:alice",
        "clickatell_relay/notify/alice",
        (ALICE,),
    )
    assert (everything.name, everything.notify_entity) == ("everything", None)
    assert (oncall.notify_entity, alice.notify_entity) == ("oncall", "alice")
    # The entity fixes the recipients; the sender is the account's, as on every route.
    assert not oncall.allow_payload_recipients
    assert oncall.options.sender == "27999000000"


def test_all_is_every_contact_then_every_group() -> None:
    config = parse_config(_notify("all"), "relay.yaml", environ={})
    assert config.status.notify_entities == ("alice", "bob", "oncall")


@pytest.mark.parametrize(
    ("value", "extra", "line", "fragment"),
    [
        ("[oncall, nobody]", "", 14, "'nobody' is not a contact or a group"),
        ("some", "", 14, "expected all, or a list of contact and group names"),
        ("[oncall, 'a b']", "", 14, "expected a contact or group name"),
        ("[empty]", "  empty: []\n", 15, "group empty has no members"),
        ("[alice, Alice]", "  Alice: [bob]\n", 15, "alice and Alice would have the same entity"),
        ("all", "  on.call: [bob]\n  on__call: [alice]\n", 16, "on.call and on__call"),
        ("[__]", "  __: [bob]\n", 15, "'__' has no letter or digit"),
    ],
)
def test_problems_name_their_line(value: str, extra: str, line: int, fragment: str) -> None:
    text = _notify(value).replace("  oncall: [alice, bob]\n", f"  oncall: [alice, bob]\n{extra}")
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "relay.yaml", environ={})
    assert f"relay.yaml:{line}: " in str(caught.value)
    assert fragment in str(caught.value)


def test_a_route_on_an_entity_topic_is_refused() -> None:
    """It would never see a message: the entity's route is first."""
    text = _notify("[oncall]").replace('topic: "#"', "topic: clickatell_relay/notify/oncall")
    with pytest.raises(ConfigError, match=r"relay.yaml:11: route everything: .*oncall's notify"):
        parse_config(text, "relay.yaml", environ={})


def test_queue_send_still_defaults_to_the_first_route_of_the_file(
    make_config: ConfigFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The entities' routes went first, and `queue send --to` met recipients_not_allowed."""
    path = make_config.write(status={"notify_entities": ["oncall"]})
    Store(load_config(path, environ={}).queue.path).close()  # the relay has run once
    assert main(["queue", "send", "--config", str(path), "--to", "alice", "--text", "hi"]) == 0
    assert "Queued 1 SMS" in capsys.readouterr().out
    store = Store(load_config(path, environ={}).queue.path)
    (row,) = store.messages(state="queued")
    store.close()
    assert (row["route"], row["recipient"]) == ("alerts", ALICE)


def _entity_configs(received: dict[str, list[bytes]]) -> dict[str, list[bytes]]:
    return {topic: payloads for topic, payloads in received.items() if "/notify/" in topic}


async def test_an_entity_texts_its_numbers_whatever_the_payload_asks(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    """A wide route does not take the entity's messages, nor does a payload's recipient list."""
    config = make_config(
        status={"notify_entities": ["oncall", "carol"]},
        routes=[{"name": "wide", "topic": "relay/notify/+", "recipients": ["carol"]}],
    )
    async with running(config), mqtt_client(config) as client:
        await client.subscribe("relay/dead_letter")
        await client.publish("relay/notify/oncall", json.dumps({"text": 'Door "A" {open}\nnow'}))
        await client.publish("relay/notify/carol", "plain text works too")
        await client.publish("relay/notify/oncall", json.dumps({"text": "x", "to": ["carol"]}))
        await client.publish("relay/notify/others", "the wide route's")
        await until(lambda: len(simulator.messages) == 4)
        await until(lambda: len(client.received["relay/dead_letter"]) == 1)
    assert sorted(sent_to(simulator)) == [
        ('Door "A" {open}\nnow', ALICE),
        ('Door "A" {open}\nnow', BOB),
        ("plain text works too", CAROL),
        ("the wide route's", CAROL),
    ]
    (dead,) = client.json("relay/dead_letter")
    assert (dead["reason"], dead["route"]) == ("recipients_not_allowed", "notify:oncall")


async def test_entities_are_announced_and_removed_once_no_longer_opted_in(
    broker: LocalBroker, simulator: Simulator, make_config: ConfigFactory
) -> None:
    both = make_config(status={"node_id": "edge1", "notify_entities": ["oncall", "carol"]})
    oncall_topic = "homeassistant/notify/edge1/oncall/config"
    carol_topic = "homeassistant/notify/edge1/carol/config"
    async with running(both), mqtt_client(both, "observer") as observer:
        await observer.subscribe("homeassistant/notify/#")
        await until(lambda: len(_entity_configs(observer.received)) == 2)
    entity: dict[str, Any] = json.loads(observer.received[oncall_topic][-1])
    assert entity["command_topic"] == "relay/notify/oncall"
    assert entity["default_entity_id"] == "notify.edge1_oncall"
    assert entity["qos"] == 1
    assert not entity["retain"]
    assert "availability_topic" not in entity
    assert "availability" not in entity

    only_oncall = make_config(status={"node_id": "edge1", "notify_entities": ["oncall"]})
    async with mqtt_client(both, "observer-2") as observer:
        await observer.subscribe("homeassistant/notify/#")
        await until(lambda: len(observer.received[carol_topic]) == 1)  # retained
        async with running(only_oncall) as relay:
            await until(lambda: observer.received[carol_topic][-1:] == [b""])

            async def forgotten() -> bool:
                remembered = await relay.store.call(relay.store.get_meta, "discovery")
                return carol_topic not in json.loads(remembered or "[]")

            await until_async(forgotten)
    # Removed for good: nothing retained for Home Assistant to find.
    async with mqtt_client(both, "late") as late:
        await late.subscribe("homeassistant/notify/#")
        await until(lambda: oncall_topic in late.received)
    assert carol_topic not in late.received
