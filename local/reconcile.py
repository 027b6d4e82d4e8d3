"""Run one reconciliation now against a running local OMS (`make run`), as an operator would:

    python -m local.reconcile                  # make reconcile
    python -m local.reconcile --url http://127.0.0.1:8080 --key demo-operator-key

Sends POST /admin/reconcile and prints the answer: what the run did, or 409 when another run (the
local scheduler's, every 5 minutes) is in progress. Exits non-zero on anything but 200.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=f"http://127.0.0.1:{os.environ.get('OMS_PORT', '8080')}")
    parser.add_argument("--key", default="demo-operator-key", help="an operator API key")
    args = parser.parse_args(argv)
    request = urllib.request.Request(f"{args.url.rstrip('/')}/admin/reconcile", method="POST", data=b"",
                                     headers={"x-api-key": args.key})
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            print(json.dumps(json.load(answer), indent=2))
            return 0
    except urllib.error.HTTPError as error:
        print(f"{error.code}: {error.read().decode()}", file=sys.stderr)
    except urllib.error.URLError as error:
        print(f"no OMS at {args.url} ({error.reason}): start it with `make run`", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
