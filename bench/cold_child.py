"""One cold start, in the fresh interpreter `bench.cold_start` launches: import a handler module, then
invoke it once, timing both. Only json/os/sys/time are loaded before the clock starts, so the
figures include everything the function pulls in (as a new Lambda container would).

    python -m bench.cold_child <functions module | BASELINE> '<event json>'

The baseline's "event" is {"table": name}.
"""

import json
import sys
import time

MARK = "COLD-START-RESULT "
BASELINE = "BASELINE"  # the floor: boto3, one DynamoDB client and one call


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


def main() -> None:
    module, event = sys.argv[1], json.loads(sys.argv[2])
    start = time.perf_counter()
    if module == BASELINE:
        import boto3

        imported = time.perf_counter()
        boto3.client("dynamodb").describe_table(TableName=event["table"])
        outcome = "ok"
    else:
        import importlib

        handler = importlib.import_module(f"functions.{module}").lambda_handler
        imported = time.perf_counter()
        result = handler(event, Context())
        outcome = (f"HTTP {result.get('statusCode')}" if "statusCode" in result
                   else f"{len(result.get('batchItemFailures') or [])} failed records")
    done = time.perf_counter()
    print(MARK + json.dumps({"import_ms": (imported - start) * 1000, "invoke_ms": (done - imported) * 1000,
                             "outcome": outcome}), flush=True)


if __name__ == "__main__":
    main()
