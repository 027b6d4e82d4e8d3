"""SQS batch processing with partial failures (Powertools), logging why each record failed.

A record that keeps failing returns to the queue until its receive count passes the queue's
maxReceiveCount, then SQS moves it to the DLQ; the log line below says why it failed.
"""

from __future__ import annotations

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
