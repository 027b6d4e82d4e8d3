"""Sending a customer text message: AWS End User Messaging SMS (the `pinpoint-sms-voice-v2` API) in
AWS, text files in the local outbox on a laptop.

The outbox is chosen exactly as the mailer chooses its own (`OMS_LOCAL_OUTBOX`, set by the local
runtime and the integration tests), so a laptop never reaches the SMS service and a deployed
function without it always does. Each send writes a new `.sms` file beside the `.eml` ones, so a
duplicate would show.

What the service refuses for this recipient (opted out, a number it cannot parse, a destination
blocked) raises `SmsRefused`: retrying cannot change the answer, so the notifier records it as the
outcome instead of failing the record. Everything else (throttling, our own configuration, an
outage) propagates: the record is retried and finally dead-lettered for a person.

Never log a phone number or a message text: they are personal data.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from botocore.exceptions import ClientError

from shared.adapters.aws import client
from shared.adapters.mailer import file_safe
from shared.config import settings
from shared.domain.notifications import TextMessage

# Reasons the service gives for a refusal about the destination (botocore's service model lists them).
REFUSED_FOR_RECIPIENT = {
    "ConflictException": frozenset({"DESTINATION_PHONE_NUMBER_OPTED_OUT", "DESTINATION_PHONE_NUMBER_NOT_VERIFIED",
                                    "DESTINATION_COUNTRY_BLOCKED_BY_PROTECT_CONFIGURATION",
                                    "DESTINATION_PHONE_NUMBER_BLOCKED_BY_PROTECT_NUMBER_OVERRIDE"}),
    "ValidationException": frozenset({"CANNOT_PARSE", "DESTINATION_COUNTRY_BLOCKED"}),
}


class SmsRefused(Exception):
    """The service will not text this recipient; `reason` is its code (no personal data)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class SmsSender(Protocol):
    def send(self, sms: TextMessage) -> str:
        """Send it; returns a reference to what was sent (the service's message id, or the outbox file)."""
        ...


class EndUserMessagingSms:
    """`SendTextMessage`, transactional (it is about the customer's own order, not marketing: carriers
    and opt-out rules treat the two differently). Without an origination identity the service picks
    one of the account's that can reach the destination."""

    def __init__(self, origination_identity: str | None = None, configuration_set: str | None = None, sms=None):
        self.origination_identity = origination_identity
        self.configuration_set = configuration_set
        self._sms = sms

    def send(self, sms: TextMessage) -> str:
        request = {
            "DestinationPhoneNumber": sms.recipient,
            "MessageBody": sms.text,
            "MessageType": "TRANSACTIONAL",
            # Logged to the configuration set's event destinations, so a delivery ties to its moment.
            "Context": {"moment": sms.moment.value},
        }
        if self.origination_identity:
            request["OriginationIdentity"] = self.origination_identity
        if self.configuration_set:
            request["ConfigurationSetName"] = self.configuration_set
        try:
            response = (self._sms or client("pinpoint-sms-voice-v2")).send_text_message(**request)
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            reason = error.response.get("Reason", "")
            if reason in REFUSED_FOR_RECIPIENT.get(code, ()):
                raise SmsRefused(reason) from None
            raise
        return response["MessageId"]


class OutboxSms:
    """One UTF-8 text file per message, named `<UTC time>-<moment>-<event id>-<random>.sms` like the
    mailer's `.eml` files, headers first: a directory listing reads as one timeline of both."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)

    def send(self, sms: TextMessage) -> str:
        now = datetime.now(UTC)
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{now:%Y%m%dT%H%M%S%fZ}-{sms.moment.value}-{file_safe(sms.event_id)}-{uuid.uuid4().hex[:6]}.sms"
        text = (f"To: {sms.recipient}\nDate: {now.isoformat()}\nX-OMS-Moment: {sms.moment.value}\n"
                f"X-OMS-Event-Id: {sms.event_id}\nX-OMS-Order-Id: {sms.order_id}\nContent-Language: {sms.language}\n"
                f"\n{sms.text}\n")
        # Written aside and renamed: a reader (a person, a test) never sees half a message.
        partial = self.directory / f".{name}.tmp"
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, self.directory / name)
        return name


def read_outbox_sms(path: Path) -> tuple[dict[str, str], str]:
    """An outbox `.sms` file as (headers, text), for tests and people."""
    head, _, text = path.read_text(encoding="utf-8").partition("\n\n")
    headers = dict(line.split(": ", 1) for line in head.splitlines())
    return headers, text.rstrip("\n")


def sms_sender() -> SmsSender:
    """The sender configuration asks for; cheap to build, so built per call (settings are cached)."""
    config = settings()
    if config.local_outbox:
        return OutboxSms(config.local_outbox)
    return EndUserMessagingSms(config.sms_origination_identity, config.sms_configuration_set)
