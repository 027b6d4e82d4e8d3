"""Messages a function sends to a queue directly (wiring `sends_to`), by the queue's wiring name."""

from __future__ import annotations


def send(queue: str, bodies: list[str]) -> None:
    from shared.adapters.aws import client
    from shared.config import settings

    url = settings().queue_urls[queue]
    sqs = client("sqs")
    for body in bodies:
        sqs.send_message(QueueUrl=url, MessageBody=body)
