"""Faults for the soak (bench/soak.py), injected into the Lambda handlers of an in-process local runtime.

Every AWS API call a handler makes goes through botocore's `BaseClient._make_api_call` (our clients
and the ones Powertools makes itself); while a handler is being invoked in this thread, each call
may, with a seeded probability, fail instead:

- `throttled`: refused before it is applied, as DynamoDB's ProvisionedThroughputExceededException or
  any other service's ThrottlingException once the SDK's own retries are spent;
- `transaction_cancelled`: a TransactWriteItems refused with TransactionCanceledException
  (TransactionConflict), as when another transaction touched one of its items;
- `timeout_before`: botocore's ReadTimeoutError before the request is sent (nothing applied);
- `timeout_after`: the call is applied, then ReadTimeoutError: the write happened and the caller
  does not know. Between two writes of a multi-step handler this is the crash-between-writes case;
- `lambda_died`: the invocation dies at one of its calls (an uncatchable error, as a Lambda killed
  by its timeout or its memory): an SQS batch with records already done is retried whole, an API
  call answers 502, a stream batch is retried from its first record;
- `provider_answer_lost`: the sandbox payment provider captured, voided or refunded, and the answer
  was lost (ProviderUnavailable after the money moved): the retry must not move it again.

The runtime's pollers (the stand-ins for SQS, the stream and API Gateway) are never faulted: they
are AWS's side. Counts are kept by kind; `enabled` switches injection off for the drain.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass

from botocore.exceptions import ClientError, ReadTimeoutError

KINDS = ("throttled", "transaction_cancelled", "timeout_before", "timeout_after", "lambda_died",
         "provider_answer_lost")
WRITES = frozenset({"TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "SendMessage",
                    "SendMessageBatch", "PutEvents", "PutObject"})


class LambdaDied(BaseException):  # noqa: N818 - named for what it simulates
    """Not an Exception: nothing in the handler may catch it, as nothing catches a killed process."""


@dataclass(frozen=True)
class FaultRates:
    """Probabilities per handler API call (`died` per invocation)."""

    throttled: float = 0.01
    transaction_cancelled: float = 0.03  # of TransactWriteItems only
    timeout_before: float = 0.005
    timeout_after: float = 0.01  # of writes only: reads lost after the fact change nothing
    died: float = 0.02  # of invocations (it dies only if it makes that many calls)
    provider_answer_lost: float = 0.05  # of money-moving sandbox provider calls

    @classmethod
    def off(cls) -> FaultRates:
        return cls(0, 0, 0, 0, 0, 0)


class Faults:
    """Installs the hooks on `functions` (local.functions.Functions) and botocore; `close` removes them."""

    def __init__(self, functions, rates: FaultRates, seed: int, streamed: frozenset[str] = frozenset()):
        from botocore.client import BaseClient

        from shared.payments import sandbox

        self.rates, self.rng, self.lock = rates, random.Random(seed), threading.Lock()
        self.counts: Counter[str] = Counter()
        self.by_function: Counter[tuple[str, str]] = Counter()
        # Idempotency records of customer messages whose completion was not written after the send
        # (notify-customers: Powertools records the send after making it): their SQS retry sends again.
        self.unrecorded_sends: set[str] = set()
        self.trace: deque[tuple[str, str, str]] = deque(maxlen=100_000)  # (function, kind, operation): to debug
        self.enabled = False  # switched on once the run's data is set up
        self.last_invocation = time.monotonic()  # the drain waits for quiet
        self.seconds: defaultdict[str, float] = defaultdict(float)  # wall time per function, to see where a run goes
        self.invocations: Counter[str] = Counter()
        self.calls: Counter[tuple[str, str]] = Counter()  # (function, operation[@index]) made by handlers
        self.local = threading.local()
        self._functions, self._streamed = functions, streamed
        self._original_call, self._original_invoke = BaseClient._make_api_call, functions.invoke
        faults = self

        def make_api_call(client, operation, params):
            return faults._call(client, operation, params)

        BaseClient._make_api_call = make_api_call
        functions.invoke = self._invoke
        self._provider = sandbox.SandboxProvider
        self._provider_originals = {name: getattr(sandbox.SandboxProvider, name) for name in ("capture", "void", "refund")}
        for name, original in self._provider_originals.items():
            setattr(sandbox.SandboxProvider, name, self._lossy(original))

    def close(self) -> None:
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._original_call
        self._functions.invoke = self._original_invoke
        for name, original in self._provider_originals.items():
            setattr(self._provider, name, original)

    # ------------------------------------------------------------------ decisions

    def _roll(self, p: float) -> bool:
        if not self.enabled or p <= 0:
            return False
        with self.lock:
            return self.rng.random() < p

    def _count(self, kind: str, operation: str = "") -> None:
        fn = getattr(self.local, "fn", "") or "?"
        with self.lock:
            self.counts[kind] += 1
            self.by_function[(fn, kind)] += 1
            self.trace.append((fn, kind, operation))

    # ------------------------------------------------------------------ the hooks

    def _invoke(self, name: str, event: dict) -> dict:
        """One invocation, labelled for this thread; maybe doomed to die at its n-th AWS call."""
        outer = getattr(self.local, "fn", None)
        self.local.fn, self.local.calls = name, 0
        started = self.last_invocation = time.monotonic()
        records = len(event.get("Records") or [])
        self.local.die_at = None
        if self._roll(self.rates.died):  # at one of its first calls: mid-batch, or between two writes of one record
            with self.lock:
                self.local.die_at = self.rng.randint(1, 2 * max(records, 1) + 1)
        try:
            return self._original_invoke(name, event)
        except LambdaDied:
            if "Records" not in event and "httpMethod" in event:
                return {"statusCode": 502, "body": '{"message": "Internal server error"}', "headers": {}}
            raise RuntimeError(f"{name} died mid-batch (injected)") from None
        finally:
            self.local.fn, self.local.die_at = outer, None
            now = time.monotonic()
            with self.lock:
                self.seconds[name] += now - started
                self.invocations[name] += 1
            self.last_invocation = now

    def _call(self, client, operation: str, params: dict):
        fn = getattr(self.local, "fn", None)
        if fn:
            with self.lock:
                self.calls[(fn, operation + (f"@{params['IndexName']}" if "IndexName" in params else ""))] += 1
        if not fn or not self.enabled:
            return self._original_call(client, operation, params)
        self.local.calls += 1
        if self.local.die_at is not None and self.local.calls >= self.local.die_at:
            self.local.die_at = None
            self._count("lambda_died", operation)
            self._send_unrecorded(fn, operation, params)
            raise LambdaDied(f"{fn} died at its call {self.local.calls} ({operation})")
        service = client.meta.service_model.service_name
        if self._roll(self.rates.throttled):
            self._count("throttled", operation)
            self._send_unrecorded(fn, operation, params)
            code = "ProvisionedThroughputExceededException" if service == "dynamodb" else "ThrottlingException"
            raise ClientError({"Error": {"Code": code, "Message": "Rate exceeded (injected)"}}, operation)
        if operation == "TransactWriteItems" and self._roll(self.rates.transaction_cancelled):
            self._count("transaction_cancelled", operation)
            reasons = [{"Code": "None"}] * len(params.get("TransactItems", []))
            reasons[0] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item (injected)"}
            raise ClientError({"Error": {"Code": "TransactionCanceledException",
                                         "Message": "Transaction cancelled (injected)"},
                               "CancellationReasons": reasons}, operation)
        if self._roll(self.rates.timeout_before):
            self._count("timeout_before", operation)
            self._send_unrecorded(fn, operation, params)
            raise ReadTimeoutError(endpoint_url=f"{service} {operation} (injected, not sent)")
        answer = self._original_call(client, operation, params)
        if operation in WRITES and self._roll(self.rates.timeout_after):
            self._count("timeout_after", operation)
            raise ReadTimeoutError(endpoint_url=f"{service} {operation} (injected, applied)")
        return answer

    def _send_unrecorded(self, fn: str, operation: str, params: dict) -> None:
        """Messages were sent and the write recording them (the batch write of COMPLETED claims,
        shared/adapters/notification_claims.py) fails."""
        if fn == "notify-customers" and operation == "BatchWriteItem":
            with self.lock:
                self.unrecorded_sends.update(
                    r["PutRequest"]["Item"]["sk"]["S"] for requests in params["RequestItems"].values()
                    for r in requests if r.get("PutRequest", {}).get("Item", {}).get("status", {}).get("S") == "COMPLETED")

    def _lossy(self, original):
        faults = self

        def call(provider, *args, **kwargs):
            from shared.payments.provider import ProviderUnavailable

            answer = original(provider, *args, **kwargs)
            if getattr(faults.local, "fn", None) and faults._roll(faults.rates.provider_answer_lost):
                faults._count("provider_answer_lost")
                raise ProviderUnavailable("the answer was lost after the money moved (injected)")
            return answer

        return call
