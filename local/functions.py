"""Running our Lambda handlers in-process, the way Lambda does: one invocation per container.

Powertools resolvers and batch processors keep the current event on module-level objects, exactly
as a Lambda container does, so two concurrent invocations must never share a module. Each
function gets a pool of "containers": independent copies of its handler module. Concurrent
invocations of one function take different containers, as concurrent Lambda invocations would.

One thing copies cannot separate: Powertools' REST resolver keeps the current request on a class
attribute of the library itself (`BaseRouter.current_event`), shared by every copy in the
process. In Lambda one process serves one invocation at a time, so that is safe there; here two
API invocations interleaving could read each other's request (seen: two concurrent POST /orders
both captured the second one's body). So API invocations take turns (`API_TURN`); queue and
stream consumers still run concurrently.
"""

from __future__ import annotations

import importlib.util
import queue
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from infra import wiring

FUNCTIONS_DIR = Path(__file__).resolve().parent.parent / "functions"
API_TURN = threading.Lock()


@dataclass
class LambdaContext:
    """The attributes of Lambda's context object our handlers and Powertools read."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: int
    aws_request_id: str = ""
    invoked_function_arn: str = ""
    log_group_name: str = "local"
    log_stream_name: str = "local"
    function_version: str = "$LATEST"
    _deadline: float = 0.0

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class FunctionPool:
    def __init__(self, fn: wiring.Function, containers: int):
        self.fn = fn
        self._idle: queue.Queue[ModuleType] = queue.Queue()
        self._size = containers
        self._created = 0
        self._lock = threading.Lock()

    def _load(self, number: int) -> ModuleType:
        name = f"_local_{self.fn.module.replace('.', '_')}_{number}"
        path = FUNCTIONS_DIR / (self.fn.module.replace(".", "/") + ".py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        return module

    def invoke(self, event: dict) -> dict:
        try:
            module = self._idle.get_nowait()
        except queue.Empty:
            with self._lock:
                grow = self._created < self._size
                if grow:
                    self._created += 1
                    number = self._created
            if not grow:
                module = self._idle.get()
            else:
                try:
                    module = self._load(number)
                except BaseException:
                    # An import error is an init failure, as in Lambda: the next invoke tries again
                    # (and does not wait forever for a container that never came up).
                    with self._lock:
                        self._created -= 1
                    raise
        try:
            ctx = LambdaContext(
                function_name=self.fn.name, memory_limit_in_mb=self.fn.memory_mb, timeout_s=self.fn.timeout_s,
                aws_request_id=str(uuid.uuid4()),
                invoked_function_arn=f"arn:aws:lambda:us-east-1:123456789012:function:{self.fn.name}",
                _deadline=time.monotonic() + self.fn.timeout_s,
            )
            if self.fn.routes:
                with API_TURN:
                    return module.lambda_handler(event, ctx)
            return module.lambda_handler(event, ctx)
        finally:
            self._idle.put(module)


class Functions:
    def __init__(self, concurrency: int):
        self.pools = {
            fn.name: FunctionPool(fn, fn.reserved_concurrency or concurrency) for fn in wiring.FUNCTIONS
        }
        # Called with the function after each invocation, failed or not (the runtime nudges its
        # stream poller when a function that writes to the table has run).
        self.after_invoke: list[Callable[[wiring.Function], object]] = []

    def invoke(self, name: str, event: dict) -> dict:
        pool = self.pools[name]
        try:
            return pool.invoke(event)
        finally:
            for listener in self.after_invoke:
                listener(pool.fn)
