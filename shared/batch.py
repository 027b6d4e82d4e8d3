"""SQS batch processing with partial failures (Powertools), logging why each record failed.

A record that keeps failing returns to the queue until its receive count passes the queue's
maxReceiveCount, then SQS moves it to the DLQ; the log line below says why it failed.
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType

from shared.observability import failure_reason, logger


class LoggingBatchProcessor(BatchProcessor):
    def failure_handler(self, record, exception):
        _, error, _ = exception
        logger.warning("record failed; it will be retried, then dead-lettered",
                       extra={"message_id": getattr(record, "message_id", None),
                              "error_type": type(error).__name__, "reason": failure_reason(error)})
        return super().failure_handler(record, exception)


def sqs_processor(model) -> LoggingBatchProcessor:
    # Report every failed record, even when all failed, instead of raising: the outcome for SQS is
    # the same (all retried) and the answer stays uniform.
    return LoggingBatchProcessor(event_type=EventType.SQS, model=model, raise_on_entire_batch_failure=False)


def batch_saving[T, R](records: list[dict], read: Callable[[dict], T], use: Callable[[list[T]], R], fallback: R,
                       what: str) -> R:
    """Work done once for a whole batch before its records are processed one by one (a read ahead, a
    block of invoices): `use` on every record `read` can read (one it cannot is left to the processor,
    which fails it). Only a saving: if it fails, `fallback`, a warning, and each record does its own."""
    items = []
    for raw in records:
        try:
            items.append(read(raw))
        except (ValueError, KeyError, TypeError):  # pydantic's ValidationError is a ValueError
            continue
    try:
        return use(items)
    except Exception as error:  # noqa: BLE001 - see above
        logger.warning(f"{what} skipped; records handled one by one",
                       extra={"error_type": type(error).__name__, "reason": failure_reason(error, 300)})
        return fallback


def event_order_id(raw: dict) -> str:
    """The order id of an EventBridge event delivered in an SQS record, read without its model."""
    import json

    return str(json.loads(raw["body"])["detail"]["order_id"])
