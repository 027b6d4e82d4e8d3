"""routing-simulations queue -> one chunk of a what-if routing replay: read on through the period's
orders, replay them, record the figures so far and queue the next chunk (shared/services/routing_simulation.py).
Reads orders, locations and strategies; writes only the simulation's job item."""

from __future__ import annotations

from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from shared.batch import sqs_processor
from shared.observability import count, logger, metrics, traced
from shared.repositories import repositories
from shared.services.clock import utc_now
from shared.services.routing_simulation import (
    CHUNK_SECONDS,
    LAST_RECEIVE,
    SimulationMessage,
    fail_simulation,
    run_chunk,
)

# LAST_RECEIVE is the queue's maxReceiveCount: the last delivery that fails marks the job FAILED (and one
# that dies is failed by the next read of the job).
# Left of the function's time when a chunk stops reading: enough to write the figures and queue on.
MARGIN_S = 60.0


class SimulationRecord(SqsRecordModel):
    body: Json[SimulationMessage]


processor = sqs_processor(SimulationRecord)


def simulate(record: SimulationRecord, lambda_context=None) -> None:
    message = record.body
    seconds = CHUNK_SECONDS
    if lambda_context is not None and hasattr(lambda_context, "get_remaining_time_in_millis"):
        seconds = min(seconds, max(1.0, lambda_context.get_remaining_time_in_millis() / 1000 - MARGIN_S))
    receives = int(record.attributes.ApproximateReceiveCount)
    try:
        outcome = run_chunk(message, repositories(), utc_now(), seconds=seconds, receive_count=receives)
    except Exception:
        if receives >= LAST_RECEIVE:
            fail_simulation(message.simulation_id, f"chunk {message.chunk} failed {LAST_RECEIVE} times: see the "
                                                   "simulate-routing logs", repositories(), utc_now())
        raise
    logger.info("simulation chunk", extra={"simulation_id": message.simulation_id, "chunk": message.chunk,
                                           "outcome": outcome.value})
    count(f"SimulationChunk{outcome.value.title()}")


@logger.inject_lambda_context
@traced
@metrics.log_metrics
def lambda_handler(event: dict, context) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=simulate, processor=processor, context=context)
