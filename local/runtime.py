"""The OMS on a laptop: moto for AWS, and this process doing what API Gateway, Lambda's event
source mappings and EventBridge Scheduler do in the cloud, all read from infra/wiring.py.

    make run            # or: python -m local.runtime

Configuration: OMS_PORT (default 8080), OMS_LOCAL_CONCURRENCY (containers per function, default 4),
OMS_LOG_LEVEL (default WARNING), OMS_DEMO_DATA (default 1), OMS_SCHEDULE_MINUTES (JSON, e.g.
{"reconcile": 1}: schedules other than the wiring's), OMS_LOCAL_OUTBOX (customer messages; default
.local-outbox/).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from infra import wiring
from local.dashboard import Dashboard
from local.demo import DEMO_CHANNELS
from local.emulator import (
    DEMO_CARRIER_SECRET,
    DEMO_CHANNEL_SECRETS,
    DEMO_PAYMENT_SECRET,
    Provisioned,
    provision,
    start_moto,
    use_emulator,
)
from local.event_sources import LONG_POLL_S, Poller, QueuePoller, Scheduler, StreamPoller
from local.functions import Functions
from local.people import People, provision_people

log = logging.getLogger("oms.local")

LOCAL_OUTBOX = Path(__file__).resolve().parent.parent / ".local-outbox"
SIGN_IN_PATH = "/auth/token"  # local only: a person's sign-in against the emulator's pool
REFRESH_PATH = "/auth/refresh"  # local only: new tokens for a sign-in's refresh token (REFRESH_TOKEN_AUTH)
API_GATEWAY_MAX_BODY = 10 * 1024 * 1024  # API Gateway refuses larger payloads with 413
# Every poller thread of a kind shares one client: a pool per thread, not botocore's default of 10.
RUNTIME_CLIENT_CONFIG = Config(max_pool_connections=64)


@dataclass(frozen=True)
class ApiKey:
    key_id: str
    value: str
    principal: str  # a channel name or "operator"


def demo_keys() -> list[ApiKey]:
    """Local demo keys (documented in README): the operator, the seed channels and the demo shop
    channels (local/demo.py). In AWS, API Gateway generates the key values; a channel created with
    PUT /channels gets a generated one here too (the gateway finds it in the emulator)."""
    names = [wiring.OPERATOR, wiring.CONSOLE] + [c.name for c in wiring.DEFAULT_CHANNELS] + list(DEMO_CHANNELS)
    return [ApiKey(f"local-key-{n}", f"demo-{n}-key", n) for n in names]


# ------------------------------------------------------------------------------ API Gateway


class ApiGateway:
    """Matches a request to the wiring's routes and invokes the serving function with a REST proxy
    event shaped like API Gateway's, including `requestContext.identity.apiKeyId`."""

    def __init__(self, functions: Functions, keys: list[ApiKey], apigateway=None, people: People | None = None):
        self.functions = functions
        self.people = people  # the emulator's operator pool: POST /auth/token signs a person in
        self.keys = {k.value: k for k in keys}
        # Keys issued at run time (PUT /channels) live in the emulator's API Gateway, as in AWS.
        self.apigateway = apigateway
        self.issued: dict[str, ApiKey] = {}
        self.routes = []
        for route, fn in wiring.routes():
            pattern = "^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", route.path) + "$"
            # API Gateway prefers literal path segments over {parameters}.
            literal = route.path.count("/") - route.path.count("{")
            self.routes.append((route, fn, re.compile(pattern), literal))
        self.routes.sort(key=lambda r: -r[3])

    def __call__(self, environ, start_response):
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        if request.path in (SIGN_IN_PATH, REFRESH_PATH) and self.people is not None:
            return self._sign_in(request)
        matches = [(r, fn, m) for r, fn, rx, _ in self.routes if (m := rx.match(request.path))]
        if not matches:
            return _json(404, {"message": "Not Found"})
        chosen = next(((r, fn, m) for r, fn, m in matches if r.method == request.method), None)
        if chosen is None:
            return _json(405, {"message": f"{request.method} is not allowed on {request.path}"})
        route, fn, match = chosen
        key = None
        if not route.public:
            key = self._key(request.headers.get("x-api-key", ""))
            if key is None:
                return _json(403, {"message": "Forbidden"})
        if (request.content_length or 0) > API_GATEWAY_MAX_BODY:
            return _json(413, {"message": "Request Too Long"})
        body = request.get_data(as_text=True) if request.method not in ("GET", "HEAD") else None
        event = self._event(request, route, match.groupdict(), key, body)
        result = self.functions.invoke(fn.name, event)
        headers = dict(result.get("headers") or {})
        for name, values in (result.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        return Response(result.get("body") or "", status=result["statusCode"], headers=headers)

    def _sign_in(self, request: Request) -> Response:
        """Local only: {"username", "password"} at SIGN_IN_PATH, or {"refresh_token"} at REFRESH_PATH -> the pool's
        tokens (Cognito's InitiateAuth against the emulator). In AWS the console talks to the pool itself."""
        if request.method != "POST":
            return _json(405, {"message": f"{request.method} is not allowed on {request.path}"})
        refreshing, people = request.path == REFRESH_PATH, self.people
        if people is None:
            return _json(404, {"message": "Not Found"})
        try:
            asked = json.loads(request.get_data(as_text=True) or "{}")
            tokens = people.refresh(str(asked["refresh_token"])) if refreshing \
                else people.sign_in(str(asked["username"]), str(asked["password"]))
        except (ValueError, KeyError, TypeError):
            wanted = '{"refresh_token": ...}' if refreshing else '{"username": ..., "password": ...}'
            return _json(400, {"error": "invalid_input", "message": f"send {wanted}", "field": "body"})
        except ClientError:
            problem = "the refresh token is not valid: sign in again" if refreshing else "wrong username or password"
            return _json(401, {"error": "unauthenticated", "message": problem, "field": "body"})
        # A refresh answers no new refresh token (Cognito's REFRESH_TOKEN_AUTH): the sign-in's stays valid.
        return _json(200, {"id_token": tokens["IdToken"], "access_token": tokens["AccessToken"],
                           "expires_in": tokens["ExpiresIn"], "token_type": "Bearer",
                           **({"refresh_token": tokens["RefreshToken"]} if "RefreshToken" in tokens else {})})

    def _key(self, value: str) -> ApiKey | None:
        """A demo key, or an enabled key of the emulator's API Gateway (re-read on every unknown or
        issued key, so a new key works at once and a disabled one stops at once)."""
        if value in self.keys:
            return self.keys[value]
        if not value or self.apigateway is None:
            return None
        items = self.apigateway.get_api_keys(includeValues=True, limit=500).get("items", [])
        self.issued = {i["value"]: ApiKey(i["id"], i["value"], "") for i in items if i.get("enabled")}
        return self.issued.get(value)

    @staticmethod
    def _event(request: Request, route: wiring.Route, params: dict, key: ApiKey | None, body: str | None) -> dict:
        query = {k: request.args.getlist(k) for k in request.args}
        headers = {k: v for k, v in request.headers.items()}
        return {
            "resource": route.path,
            "path": request.path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in query.items()} or None,
            "multiValueQueryStringParameters": query or None,
            "pathParameters": params or None,
            "stageVariables": None,
            "requestContext": {
                "resourcePath": route.path,
                "httpMethod": request.method,
                "path": request.path,
                "stage": "local",
                "requestId": str(uuid.uuid4()),
                "accountId": "123456789012",
                "apiId": "local",
                "requestTimeEpoch": int(time.time() * 1000),
                "identity": {
                    "apiKeyId": key.key_id if key else None,
                    "apiKey": key.value if key else None,
                    "sourceIp": request.remote_addr or "127.0.0.1",
                },
            },
            "body": body or None,
            "isBase64Encoded": False,
        }


def _json(status: int, body: dict) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


# ------------------------------------------------------------------------------ the whole thing


class LocalOms:
    def __init__(self, port: int = 8080, concurrency: int = 4, retry_delay_s: int = 2, demo_data: bool = True):
        self.port, self.concurrency, self.retry_delay_s, self.demo_data = port, concurrency, retry_delay_s, demo_data
        self.keys = demo_keys()
        self.stop_event = threading.Event()
        self.threads: list[Poller] = []
        self.url = ""
        self.emulator_url = ""
        self.resources: Provisioned | None = None
        self.people: People | None = None

    def start(self) -> LocalOms:
        self._saved_env = dict(os.environ)
        self.moto, self.emulator_url = start_moto()
        use_emulator(self.emulator_url)
        os.environ.update(function_environment(self.keys))
        reset_process_caches()
        # The runtime's own clients come from a separate session so a benchmark counting the
        # handlers' AWS calls does not count the pollers standing in for AWS services.
        session = boto3.Session()
        self.resources = provision(session, self.emulator_url, wiring.DEFAULTS.table_name, wiring.DEFAULTS.bus_name)
        os.environ.update(self.resources.environment())
        self.people = provision_people(session, self.emulator_url)
        os.environ.update(self.people.environment())
        reset_process_caches()
        self.functions = Functions(self.concurrency)
        sqs = session.client("sqs", endpoint_url=self.emulator_url, config=RUNTIME_CLIENT_CONFIG)
        streams = session.client("dynamodbstreams", endpoint_url=self.emulator_url, config=RUNTIME_CLIENT_CONFIG)
        for fn in wiring.with_schedules(json.loads(os.environ.get("OMS_SCHEDULE_MINUTES") or "{}")):
            if fn.queue is not None:
                for _ in range(fn.queue.max_concurrency or self.concurrency):
                    self.threads.append(QueuePoller(fn, self.resources.queue_urls[fn.name], sqs, self.functions,
                                                    self.stop_event, self.retry_delay_s, wait_s=LONG_POLL_S))
            if fn.table_stream:
                stream = StreamPoller(fn, self.resources.stream_arn, streams, self.functions, self.stop_event)
                self.threads.append(stream)
                # A function that wrote to the table has put records on the stream: read them now
                # rather than at the next idle poll (what keeps latency low without busy polling).
                self.functions.after_invoke.append(_nudge_after_writes(stream))
            if fn.schedule_minutes:
                self.threads.append(Scheduler(fn, self.functions, self.stop_event))
        if self.demo_data:
            from local.demo import load_demo_data

            # Before the pollers start, so their polling does not slow the load down (the emulator
            # serves one request at a time); the events it wrote are relayed once they run.
            load_demo_data()
        for t in self.threads:
            t.start()
        gateway = ApiGateway(self.functions, self.keys, session.client("apigateway", endpoint_url=self.emulator_url),
                             people=self.people)
        self.gateway = gateway  # the API alone, behind the console's middleware (tests wrap its handle)
        # The operator console at /dashboard, on the API's origin (local/dashboard.py).
        console = Dashboard(gateway, self.key(wiring.OPERATOR), console_key=self.key(wiring.CONSOLE), sign_in=SIGN_IN_PATH,
                            refresh=REFRESH_PATH)
        self.http = make_server("127.0.0.1", self.port, console, threaded=True)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, name="api", daemon=True).start()
        return self

    def stop(self) -> None:
        self.stop_event.set()
        self.http.shutdown()
        for t in self.threads:
            t.nudge()
        self.moto.end_long_polls()  # pollers waiting on an empty queue get their answer now
        deadline = time.monotonic() + 10
        for t in self.threads:
            t.join(timeout=max(0.1, deadline - time.monotonic()))
        self.moto.shutdown()
        os.environ.clear()
        os.environ.update(self._saved_env)
        reset_process_caches()

    def pause_event_sources(self) -> None:
        """Stop delivering queue, stream and schedule work (it waits, as on a paused mapping)."""
        for poller in self.threads:
            poller.running.clear()

    def resume_event_sources(self) -> None:
        for poller in self.threads:
            poller.running.set()

    def key(self, principal: str) -> str:
        return next(k.value for k in self.keys if k.principal == principal)


def _nudge_after_writes(poller: Poller) -> Callable[[wiring.Function], None]:
    def nudge(fn: wiring.Function) -> None:
        if fn.table_access == "write":
            poller.nudge()

    return nudge


def function_environment(keys: list[ApiKey]) -> dict[str, str]:
    """The environment the stack gives each function, for the local stand-ins of those functions."""
    return {
        wiring.ENV.table: wiring.DEFAULTS.table_name,
        wiring.ENV.bus: wiring.DEFAULTS.bus_name,
        wiring.ENV.principals: json.dumps({k.key_id: k.principal for k in keys}),
        wiring.ENV.route_roles: json.dumps(wiring.route_roles()),
        wiring.ENV.label_bucket: wiring.DEFAULTS.label_bucket,
        wiring.ENV.documents_bucket: wiring.DEFAULTS.documents_bucket,
        wiring.ENV.carrier_secret: wiring.DEFAULTS.carrier_secret,
        wiring.ENV.payment_secret: wiring.DEFAULTS.payment_secret,
        wiring.ENV.payment_provider: "sandbox",
        wiring.ENV.label_carrier: wiring.DEFAULTS.label_carrier,
        wiring.ENV.email_sender: wiring.DEFAULTS.email_sender,
        # Customer messages land here as files instead of going through SES.
        wiring.ENV.local_outbox: os.environ.get(wiring.ENV.local_outbox, str(LOCAL_OUTBOX)),
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": os.environ.get("OMS_LOG_LEVEL", "WARNING"),
        "POWERTOOLS_SERVICE_NAME": "oms",
    }


def reset_process_caches() -> None:
    """Settings and clients are cached per process (per Lambda container in AWS); a new emulator
    needs new ones."""
    from aws_lambda_powertools.utilities.parameters import clear_caches

    from shared.adapters.aws import client
    from shared.adapters.documents import invoice_documents, label_documents
    from shared.config import settings
    from shared.repositories import repositories

    settings.cache_clear()
    client.cache_clear()
    repositories.cache_clear()
    clear_caches()  # Powertools' secret providers hold a client bound to the emulator they first met
    label_documents.cache_clear()  # they hold the bucket name read from the settings
    invoice_documents.cache_clear()


# Which carrier names sign with which secret of the carrier secret (shared/carriers/credentials.py).
WEBHOOK_SECRETS = (("easypost", "easypost_webhook_secret"), ("shippo", "shippo_webhook_secret"),
                   ("aftership", "aftership_webhook_secret"), ("any other name", "webhook_secret"))


def banner(oms: LocalOms) -> str:
    lines = [
        "",
        f"OMS running at {oms.url}",
        f"  health:   {oms.url}/health",
        f"  API docs: {oms.url}/docs  (OpenAPI: {oms.url}/openapi.json)",
        f"  Console:  {oms.url}/dashboard",
        "  API keys (header x-api-key):",
        *(f"    {k.principal:<12} {k.value}" for k in oms.keys),
        f"  People (sign in: POST {oms.url}{SIGN_IN_PATH} {{\"username\", \"password\"}}, then send "
        "Authorization: Bearer <id_token> with the console key):",
        *(f"    {p.username:<22} {p.password:<28} {', '.join(p.groups)}" for p in (oms.people.people if oms.people else ())),
        f"  Carrier webhook signing secrets (POST {oms.url}/webhooks/carriers/<carrier>):",
        *(f"    {carrier:<15} {DEMO_CARRIER_SECRET[key]}" for carrier, key in WEBHOOK_SECRETS),
        "  Channel webhook signing secrets:",
        *(f"    {channel:<12} POST {oms.url}/webhooks/channels/{DEMO_CHANNELS[channel].kind.value}/{channel}  "
          f"secret {secret['webhook_secret']}" for channel, secret in DEMO_CHANNEL_SECRETS.items()),
        f"  Stripe webhook signing secret (POST {oms.url}/webhooks/payments/stripe): "
        f"{DEMO_PAYMENT_SECRET['stripe_webhook_secret']}",
        f"  Customer messages: {os.environ.get(wiring.ENV.local_outbox, str(LOCAL_OUTBOX))}",
        f"  AWS emulator (moto): {oms.emulator_url}",
        "Press Ctrl+C to stop.",
    ]
    return "\n".join(lines)


def main() -> None:
    logging.basicConfig(level=os.environ.get("OMS_LOG_LEVEL", "WARNING"))
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # Many threads share the functions' clients; a connection the pool cannot keep is only reopened.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    # Ctrl+C (SIGINT) and SIGTERM both ask for a clean stop, also while starting: no traceback, the
    # pollers finish their round and the emulator goes last.
    done = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: done.set())
    oms = LocalOms(
        port=int(os.environ.get("OMS_PORT", "8080")),
        concurrency=int(os.environ.get("OMS_LOCAL_CONCURRENCY", "4")),
        demo_data=os.environ.get("OMS_DEMO_DATA", "1") != "0",
    ).start()
    if not done.is_set():
        print(banner(oms), flush=True)
        done.wait()
    print("Stopping...", flush=True)
    oms.stop()


if __name__ == "__main__":
    main()
