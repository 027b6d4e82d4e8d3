"""Messages a function sends to a queue directly (wiring `sends_to`), by the queue's wiring name."""

from __future__ import annotations

from shared.errors import Unavailable


def send(queue: str, bodies: list[str]) -> None:
    """Send each body; Unavailable (503: send the same request again) when SQS does not take one after
    the client's retries (a timeout, throttling), so a webhook's sender retries it rather than
    reading a 500 as our bug. Bodies sent before the failure are sent again then: their consumers
    apply each message once (tracking and payment events by their ids)."""
    from botocore.exceptions import BotoCoreError, ClientError

    from shared.adapters.aws import client
    from shared.config import settings

    url = settings().queue_urls[queue]
    sqs = client("sqs")
    for body in bodies:
        try:
            sqs.send_message(QueueUrl=url, MessageBody=body)
        except (BotoCoreError, ClientError) as error:
            raise Unavailable(f"the {queue} queue did not take the message ({type(error).__name__}); "
                              "send the request again") from error
