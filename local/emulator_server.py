"""The HTTP and WSGI layers in front of the emulator's moto app: one request at a time, SQS long
polls that wait without holding that one lock, counts of what the emulator spends its lock on, and
connections kept open between requests.

Why one lock: moto's backends have no per-operation lock (local/emulator.py). Why long polls here:
moto implements `WaitTimeSeconds` by waiting inside the request, which under our lock would stop
every other request (the message it waits for could never be sent). So a long poll is served as a
sequence of short receives under the lock, and between them it waits, without the lock, on the
queue's own condition (moto notifies it whenever a message is added: SendMessage, an EventBridge
rule's delivery) or for `RECHECK_S` (a message whose visibility timeout ran out notifies nobody).
Pollers then ask an empty queue once per `WaitTimeSeconds`, as Lambda's SQS pollers do.

Why our own request handler: werkzeug's development server closes the connection after every
response, so each AWS call opened a new TCP connection and the server started a new thread for it
(and kept it ~10 ms to drain the socket); `KeepAliveHandler` answers on the same connection.
"""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
import time
from urllib.parse import parse_qs

from werkzeug.serving import WSGIRequestHandler

log = logging.getLogger("oms.emulator")

STATS_PATH = "/_local/emulator-stats"  # GET: requests and seconds under the lock, per operation
END_LONG_POLLS_PATH = "/_local/end-long-polls"  # POST: answer every long poll now (the runtime stops)
RECHECK_S = 0.5  # how long a long poll waits before looking again for messages that became visible
LONG_POLL_RECHECKS = "sqs ReceiveMessage: long poll re-receives"  # lock time of receives after a wake


class SerialisedApp:
    """WSGI middleware: one request at a time, each response produced entirely inside the lock."""

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.ending = threading.Event()
        self._stats_lock = threading.Lock()
        # "service Operation" -> [requests, seconds holding the lock, CPU seconds meanwhile]: the two
        # differ by what other threads of this process (reading and parsing requests) took from it.
        self.stats: dict[str, list[float]] = {}
        self._waiting: set = set()  # the queue conditions long polls wait on now, to wake them at the end

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO")
        if path == STATS_PATH:
            with self._stats_lock:
                return _respond(start_response, "200 OK", json.dumps(self.stats).encode())
        if path == END_LONG_POLLS_PATH:
            self.end_long_polls()
            return _respond(start_response, "200 OK", b"{}")
        key = operation(environ)
        wait_s = long_poll_seconds(environ) if key == "sqs ReceiveMessage" else 0
        if wait_s:
            body, held = self._long_poll(environ, start_response, wait_s)
        else:
            body, held = self._serve(environ, start_response)
        self._count(key, held)
        return body

    def _serve(self, environ, start_response) -> tuple[list[bytes], tuple[float, float]]:
        """The app's answer, and the wall and CPU seconds it held the lock."""
        served = self._serve_if(environ, start_response, lambda: True)
        assert served is not None
        return served

    def _serve_if(self, environ, start_response, only_if) -> tuple[list[bytes], tuple[float, float]] | None:
        """As `_serve`; None, without asking the app, when `only_if` (called under the lock) says no."""
        with self.lock:
            if not only_if():
                return None
            start, cpu = time.perf_counter(), time.thread_time()
            body = list(self.app(environ, start_response))
            return body, (time.perf_counter() - start, time.thread_time() - cpu)

    def _long_poll(self, environ, start_response, wait_s: int) -> tuple[list[bytes], tuple[float, float]]:
        """Short receives until one returns messages or `wait_s` has passed, waiting between them
        without the lock."""
        deadline = time.monotonic() + wait_s
        request = json.loads(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        queue = _queue(environ, request.get("QueueUrl", ""))
        short = json.dumps(request | {"WaitTimeSeconds": 0}).encode()
        answer: dict = {}

        def keep(status, headers, exc_info=None):  # the response starts once the poll is over
            answer.update(status=status, headers=headers)

        def receive(only_if=lambda: True):
            return self._serve_if(environ | {"wsgi.input": io.BytesIO(short), "CONTENT_LENGTH": str(len(short))},
                                  keep, only_if)

        first = receive()
        assert first is not None
        body, held = first
        found = True
        while queue is not None and not _has_messages(answer["status"], body):
            if not self._wait(queue, deadline, block=not found):
                break
            # Every poll of the queue wakes for a message and the first to get the lock takes it:
            # the others look (cheaply, under the lock) and wait again without a receive.
            again = receive(only_if=lambda: bool(queue.messages))
            found = again is not None
            if again is not None:
                body, seconds = again
                self._count(LONG_POLL_RECHECKS, seconds)
        start_response(answer["status"], answer["headers"])
        return body, held

    def _wait(self, queue, deadline: float, block: bool = False) -> bool:
        """Wait until the queue may have a visible message (True), or the poll is over (False).
        `block`: wait for a wake-up or `RECHECK_S` even if messages look visible (the last look
        under the lock found none: a message taken meanwhile, or one moto holds back)."""
        condition = getattr(queue, "_messages_lock", None)
        if self.ending.is_set():
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if condition is None:  # another moto: look again every RECHECK_S
            time.sleep(min(RECHECK_S, remaining))
            return True
        with condition:
            # Read without our lock, as a hint only (moto notifies under the condition, so a
            # message added after this look still wakes the wait).
            if block or not queue.messages:
                self._waiting.add(condition)
                try:
                    condition.wait(min(RECHECK_S, remaining))
                finally:
                    self._waiting.discard(condition)
        return not self.ending.is_set() and time.monotonic() < deadline

    def end_long_polls(self) -> None:
        self.ending.set()
        for condition in list(self._waiting):
            with condition:
                condition.notify_all()

    def _count(self, key: str, held: tuple[float, float]) -> None:
        with self._stats_lock:
            entry = self.stats.setdefault(key, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += held[0]
            entry[2] += held[1]


def _respond(start_response, status: str, body: bytes) -> list[bytes]:
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def long_poll_seconds(environ: dict) -> int:
    """WaitTimeSeconds of an SQS JSON-protocol ReceiveMessage (0 for any other form); the body is
    read and put back for moto."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-amz-json"):
        return 0
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    environ["wsgi.input"] = io.BytesIO(body)
    try:
        wait = json.loads(body).get("WaitTimeSeconds")
    except ValueError:
        return 0
    return wait if isinstance(wait, int) and 0 < wait <= 20 else 0  # moto answers an invalid one itself


def _queue(environ: dict, url: str):
    """moto's queue object for a queue URL (…/<account>/<name>), or None."""
    from moto.sqs.models import sqs_backends

    parts = url.rstrip("/").split("/")
    scope = environ.get("HTTP_AUTHORIZATION", "").partition("Credential=")[2].split("/")
    if len(parts) < 2 or len(scope) < 3:
        return None
    try:
        return sqs_backends[parts[-2]][scope[2]].queues.get(parts[-1])
    except (KeyError, ValueError):
        return None


def _has_messages(status: str, body: list[bytes]) -> bool:
    """A non-empty JSON ReceiveMessage answer, or any error (the client should see it now)."""
    if not status.startswith("200"):
        return True
    try:
        return bool(json.loads(b"".join(body) or b"{}").get("Messages"))
    except ValueError:
        return True


def operation(environ: dict) -> str:
    """"service Operation" of a signed AWS request: the service from the credential scope, the
    operation from X-Amz-Target (JSON protocols) or Action (query protocol), else the method and
    the first path segment (REST protocols such as API Gateway; S3 by method alone)."""
    scope = environ.get("HTTP_AUTHORIZATION", "").partition("Credential=")[2].split("/")
    service = scope[3] if len(scope) > 3 else "unsigned"
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        return f"{service} {target.rpartition('.')[2]}"
    query = environ.get("QUERY_STRING", "")
    if environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)  # put back for moto
        query = body.decode("utf-8", "replace")
    action = parse_qs(query).get("Action")
    if action:
        return f"{service} {action[0]}"
    segment = environ.get("PATH_INFO", "/").strip("/").split("/")[0]
    return f"{service} {environ.get('REQUEST_METHOD', '')}" + (f" /{segment}" if service != "s3" else "")


class KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's request handler (the same WSGI environ), answering over HTTP/1.1 keep-alive:
    the request body read whole, the response with its length, and the connection left open for
    the client's next request. The app must return its whole body (SerialisedApp does)."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # small answers go out at once

    def run_wsgi(self) -> None:
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        if environ.get("wsgi.input_terminated"):  # chunked: werkzeug de-chunks it
            body = environ["wsgi.input"].read()
            self.close_connection = True  # do not trust what follows the last chunk
        else:
            body = self.rfile.read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        answer: dict = {}

        def write(data: bytes) -> None:
            raise RuntimeError("the emulator's apps return their body; write() is not supported")

        def start_response(status, headers, exc_info=None):
            answer.update(status=status, headers=headers)
            return write

        try:
            payload = b"".join(self.server.app(environ, start_response))
        except Exception:
            log.exception("emulator request failed: %s %s", self.command, self.path)
            answer, payload = {"status": "500 Internal Server Error", "headers": []}, b""
            self.close_connection = True
        code, _, reason = answer["status"].partition(" ")
        self.send_response(int(code), reason)
        length = None
        for name, value in answer["headers"]:
            if name.lower() == "content-length":
                length = value
            elif name.lower() not in ("connection", "transfer-encoding"):
                self.send_header(name, value)
        head = self.command == "HEAD" or int(code) in (204, 304) or 100 <= int(code) < 200
        # A HEAD answer tells the length of what a GET would send (S3 objects); others send it.
        self.send_header("Content-Length", str(length if head and length is not None else len(payload)))
        # Head and body in one write: as two, Nagle's algorithm holds the body back until the
        # client acknowledges the head, which it delays (~40 ms a response on Linux).
        self._headers_buffer.append(b"\r\n" + (b"" if head else payload))
        self.flush_headers()

    def log_request(self, code="-", size="-") -> None:
        """Nothing: one line per AWS call."""
