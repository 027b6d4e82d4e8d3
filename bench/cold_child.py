"""One cold start, in the fresh interpreter `bench.cold_start` launches: import a handler module, then
invoke it once, timing both. Only json/resource/sys/time are loaded before the clock starts, so the
figures include everything the function pulls in (as a new Lambda container would).

    python -m bench.cold_child <functions module | BASELINE | FLOOR_API | FLOOR_SQS> '<event json>'

BASELINE is the floor the guide measures against: boto3, one DynamoDB client and one call (its
"event" is {"table": name}; a floor's is {"table": name, "event": the event to handle}). FLOOR_API and FLOOR_SQS add what any of our API or queue functions
imports before a line of ours: Powertools' REST resolver with validation and one pydantic model, or
its SQS batch processor with a pydantic record, plus Logger and Metrics; then the same one call.
They show how much of a function's ratio is the libraries' and how much ours.
"""

import json
import resource
import sys
import time

MARK = "COLD-START-RESULT "
BASELINE = "BASELINE"  # the floor: boto3, one DynamoDB client and one call
FLOOR_API = "FLOOR_API"  # + Powertools REST resolver with validation, Logger, Metrics, one pydantic model
FLOOR_SQS = "FLOOR_SQS"  # + Powertools SQS batch processor with a pydantic record, Logger, Metrics


class Context:
    """The Lambda context attributes Powertools reads."""

    function_name = "cold-start-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cold-start-bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = log_stream_name = "local"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 15_000


def one_call(table: str) -> None:
    import boto3

    boto3.client("dynamodb").get_item(TableName=table, Key={"pk": {"S": "bench"}, "sk": {"S": "bench"}})


def floor_api(table: str):
    """The least an API function of ours imports: the resolver validating a path parameter and a
    pydantic answer, Logger and Metrics around it; the route makes the one call."""
    from typing import Annotated

    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.event_handler import APIGatewayRestResolver
    from aws_lambda_powertools.event_handler.openapi.params import Path
    from pydantic import BaseModel

    class Answer(BaseModel):
        order_id: str

    app = APIGatewayRestResolver(enable_validation=True)
    logger, metrics = Logger(service="oms"), Metrics(namespace="OMS", service="oms")

    @app.get("/orders/<order_id>")
    def read(order_id: Annotated[str, Path(pattern=r"^o[0-9a-f]{24}$")]) -> Answer:
        one_call(table)
        return Answer(order_id=order_id)

    @logger.inject_lambda_context
    @metrics.log_metrics
    def handler(event: dict, context) -> dict:
        return app.resolve(event, context)

    return handler


def floor_sqs(table: str):
    """The least a queue function of ours imports: the batch processor parsing each record into a
    pydantic model, Logger and Metrics around it; each record makes the one call."""
    from aws_lambda_powertools import Logger, Metrics
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.parser.models import SqsRecordModel

    processor = BatchProcessor(event_type=EventType.SQS, model=SqsRecordModel)
    logger, metrics = Logger(service="oms"), Metrics(namespace="OMS", service="oms")

    @logger.inject_lambda_context
    @metrics.log_metrics
    def handler(event: dict, context):
        return process_partial_response(event=event, record_handler=lambda record: one_call(table),
                                        processor=processor, context=context)

    return handler


def main() -> None:
    module, event = sys.argv[1], json.loads(sys.argv[2])
    start = time.perf_counter()
    if module == BASELINE:
        import boto3

        imported = time.perf_counter()
        boto3.client("dynamodb").describe_table(TableName=event["table"])
        outcome = "ok"
    else:
        if module in (FLOOR_API, FLOOR_SQS):
            handler = (floor_api if module == FLOOR_API else floor_sqs)(event["table"])
            event = event["event"]
        else:
            import importlib

            handler = importlib.import_module(f"functions.{module}").lambda_handler
        imported = time.perf_counter()
        result = handler(event, Context())
        outcome = (f"HTTP {result.get('statusCode')}" if "statusCode" in result
                   else f"{len(result.get('batchItemFailures') or [])} failed records")
    done = time.perf_counter()
    print(MARK + json.dumps({"import_ms": (imported - start) * 1000, "invoke_ms": (done - imported) * 1000,
                             "peak_mb": peak_mb(), "outcome": outcome}), flush=True)


def peak_mb() -> float:
    """The process's peak resident memory: what the function's memory setting must hold. VmHWM, reset at
    exec (ru_maxrss can carry the forking parent's peak)."""
    try:
        with open("/proc/self/status") as status:
            line = next(ln for ln in status if ln.startswith("VmHWM:"))
        return int(line.split()[1]) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    main()
