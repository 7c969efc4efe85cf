"""What users write instead of the relay: a hand-rolled paho loop that sends each alert itself.

    python bench/naive.py --config routes.json --name naive_post --mode post
    python bench/naive.py --config routes.json --name apprise --mode apprise [--throttle 5.5]

It subscribes to every topic filter of the routes (QoS 1, a clean session:
the broker keeps nothing for it while it is down) and, in the paho callback,
sends the alert to every number of each route it matches. paho acknowledges
the alert (PUBACK) when the callback returns: after the send attempt,
whatever its outcome, so an alert whose requests failed is acknowledged and
gone.

* `post`: one `POST /v1/message` per recipient with `requests`, one after the
  other, no retry: the loop most scripts grow into.
* `apprise`: Apprise's Clickatell plugin (`clickatell://KEY/N1/N2/...`), which
  makes one `GET /messages/http/send` per recipient, waiting
  `request_rate_per_sec` seconds between requests (5.5 as shipped), no retry.
  Apprise has no MQTT side: this loop is the bench's own, around Apprise's
  `notify`. The plugin's URL (Clickatell's, hard-coded) is pointed at the
  simulator.

The config file is JSON: {"api_url", "api_key", "broker_port", "routes": {filter: [numbers]}}.
Once subscribed it publishes "online" to `<name>/availability`; it runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import requests
from paho.mqtt.enums import CallbackAPIVersion


def post_each(config: dict[str, Any], numbers: list[str], text: str) -> None:
    """One POST per recipient, in turn."""
    for to in numbers:
        body = {"messages": [{"channel": "sms", "to": to, "content": text}]}
        requests.post(
            f"{config['api_url']}/v1/message",
            json=body,
            headers={"Authorization": config["api_key"], "Accept": "application/json"},
            timeout=15,
        )


def apprise_sender(throttle: float | None) -> Any:  # noqa: ANN401 - Apprise is untyped
    """Apprise's notify, its Clickatell plugin pointed at the simulator."""
    import apprise  # noqa: PLC0415 - only in this mode
    from apprise.plugins.clickatell import (  # noqa: PLC0415
        NotifyClickatell,
    )

    def send(config: dict[str, Any], numbers: list[str], text: str) -> None:
        NotifyClickatell.notify_url = f"{config['api_url']}/messages/http/send"
        if throttle is not None:
            NotifyClickatell.request_rate_per_sec = throttle
        notifier = apprise.Apprise()
        notifier.add(f"clickatell://{config['api_key']}/{'/'.join(numbers)}")
        notifier.notify(body=text)

    return send


def main() -> int:
    """Subscribe and send until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--name", required=True, help="client id and availability topic prefix")
    parser.add_argument("--mode", choices=("post", "apprise"), required=True)
    parser.add_argument("--throttle", type=float, help="Apprise: seconds between requests")
    args = parser.parse_args()
    config = json.loads(args.config.read_text(encoding="utf-8"))
    routes: dict[str, list[str]] = config["routes"]
    send = post_each if args.mode == "post" else apprise_sender(args.throttle)
    availability = f"{args.name}/availability"

    def on_message(_client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        for topic_filter, numbers in routes.items():
            if paho.topic_matches_sub(topic_filter, message.topic):
                send(config, numbers, message.payload.decode())

    def on_subscribe(client: paho.Client, *_args: object) -> None:
        client.publish(availability, "online", qos=1, retain=True)

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=args.name)
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.will_set(availability, "offline", qos=1, retain=True)
    client.connect("127.0.0.1", config["broker_port"])
    client.subscribe([(topic_filter, 1) for topic_filter in routes])
    signal.signal(signal.SIGTERM, lambda *_: client.disconnect())
    client.loop_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
