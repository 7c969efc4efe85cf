"""What users write instead of the relay: a hand-rolled paho loop that sends each alert itself.

    python bench/naive.py --config groups.json --mode post
    python bench/naive.py --config groups.json --mode apprise [--throttle 5.5]

It subscribes to `fanout/<group>` (QoS 1, paho's automatic ack on receipt)
and, in the paho callback, sends the alert to every number of the group:

* `post`: one `POST /v1/message` per recipient with `requests`, one after the
  other, no retry: the loop most scripts grow into.
* `apprise`: Apprise's Clickatell plugin (`clickatell://KEY/N1/N2/...`), which
  makes one `GET /messages/http/send` per recipient, waiting
  `request_rate_per_sec` seconds between requests (5.5 as shipped), no retry.
  Its URL is pointed at the simulator.

The config file is JSON: {"base_url", "api_key", "broker_port", "groups": {name: [numbers]}}.
It prints "ready" once subscribed and runs until SIGTERM.
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
            f"{config['base_url']}/v1/message",
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
        NotifyClickatell.notify_url = f"{config['base_url']}/messages/http/send"
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
    parser.add_argument("--mode", choices=("post", "apprise"), required=True)
    parser.add_argument("--throttle", type=float, help="Apprise: seconds between requests")
    args = parser.parse_args()
    config = json.loads(args.config.read_text(encoding="utf-8"))
    send = post_each if args.mode == "post" else apprise_sender(args.throttle)

    def on_message(_client: paho.Client, _userdata: object, message: paho.MQTTMessage) -> None:
        group = message.topic.rsplit("/", 1)[-1]
        send(config, config["groups"][group], message.payload.decode())

    def on_subscribe(*_args: object) -> None:
        print("ready", flush=True)

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"naive-{args.mode}")
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.connect("127.0.0.1", config["broker_port"])
    client.subscribe("fanout/#", qos=1)
    signal.signal(signal.SIGTERM, lambda *_: client.disconnect())
    client.loop_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
