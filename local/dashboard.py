"""The operator console (dashboard/) served by the local runtime at /dashboard, on the API's origin, so
the console calls the API without CORS. `make run` builds it into dashboard/dist first (npm ci, Vite);
in AWS the same build is a static site behind CloudFront (infra/components/console.py)."""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path

from werkzeug.security import safe_join
from werkzeug.wrappers import Request, Response

from infra.wiring import route_roles

DIST = Path(__file__).resolve().parent.parent / "dashboard" / "dist"
PREFIX = "/dashboard"
NOT_BUILT = ("The dashboard is not built: `make run` builds it (it needs Node.js and npm), "
             "or run `npm ci && npm run build:dashboard` at the repository root.\n")


class Dashboard:
    """WSGI middleware: requests under /dashboard get the built files, everything else goes to `api`."""

    def __init__(self, api, operator_key: str, dist: Path = DIST, console_key: str | None = None,
                 sign_in: str | None = None, refresh: str | None = None):
        self.api, self.operator_key, self.dist = api, operator_key, dist
        self.console_key, self.sign_in, self.refresh = console_key, sign_in, refresh

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        if path != PREFIX and not path.startswith(PREFIX + "/"):
            return self.api(environ, start_response)
        return self.serve(Request(environ))(environ, start_response)

    def serve(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return Response("Method Not Allowed\n", status=405, content_type="text/plain")
        if request.path == PREFIX:  # the build's asset paths are relative to /dashboard/
            return Response(status=308, headers={"Location": PREFIX + "/"})
        rest = request.path[len(PREFIX) + 1:] or "index.html"
        if rest == "config.json":
            # Local only: the console is offered the demo operator key (README lists it); the
            # deployed site's config.json names no key.
            # A person signs in at the runtime's POST /auth/token; their token goes with the console's key.
            # routeRoles: who may call each route, as the API enforces it (the console's gating reads it).
            body = {"apiBase": "", "auth": "api-key", "demoOperatorKey": self.operator_key, "routeRoles": route_roles(),
                    **({"consoleKey": self.console_key} if self.console_key else {}),
                    **({"signIn": self.sign_in} if self.sign_in else {}),
                    # New tokens for the sign-in's refresh token before the ID token expires.
                    **({"refresh": self.refresh} if self.refresh else {})}
            return Response(json.dumps(body), content_type="application/json", headers={"Cache-Control": "no-store"})
        if not (self.dist / "index.html").is_file():
            return Response(NOT_BUILT, status=404, content_type="text/plain")
        target = safe_join(str(self.dist), rest)  # None for anything leaving dist (.., absolute paths)
        if target is None or not Path(target).is_file():
            return Response("Not Found\n", status=404, content_type="text/plain")
        content_type = mimetypes.guess_type(target)[0] or "application/octet-stream"
        # Hashed asset names never change; index.html always is read anew.
        cache = "public, max-age=31536000, immutable" if rest.startswith("assets/") else "no-cache"
        return Response(Path(target).read_bytes(), content_type=content_type, headers={"Cache-Control": cache})
