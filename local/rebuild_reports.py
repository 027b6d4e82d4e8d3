"""Rebuild the report aggregates from the stored orders, or check the live ones against a rebuild
(docs/reports.md, "Rebuild and check"). Talks to the table itself, with your AWS credentials:

    python -m local.rebuild_reports check   --from 2026-01 --to 2026-03      # make rebuild-reports ARGS=...
    python -m local.rebuild_reports rebuild --from 2026-01 --to 2026-03 [--activate]
    python -m local.rebuild_reports activate --generation 2 --from 2026-01 --to 2026-03

Against `make run`, pass the emulator URL it prints: --endpoint-url http://127.0.0.1:<port>. The table
is OMS_TABLE_NAME (default oms; in AWS, the stack's table name). `check` exits 1 when it finds
differences (events still in flight show as differences until the consumer has handled them).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=("check", "rebuild", "activate"))
    this_month = datetime.now(UTC).strftime("%Y-%m")
    parser.add_argument("--from", dest="first", default=this_month, help="first creation month, yyyy-mm")
    parser.add_argument("--to", dest="last", default=this_month, help="last creation month, yyyy-mm")
    parser.add_argument("--activate", action="store_true", help="rebuild: make the new generation live")
    parser.add_argument("--generation", type=int, help="activate: the generation a rebuild wrote")
    parser.add_argument("--endpoint-url", help="a DynamoDB endpoint, e.g. the local emulator's")
    parser.add_argument("--limit", type=int, default=50, help="check: differences printed at most")
    args = parser.parse_args(argv)
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
        for name, value in (("AWS_ACCESS_KEY_ID", "local"), ("AWS_SECRET_ACCESS_KEY", "local"),
                            ("AWS_DEFAULT_REGION", "us-east-1")):
            os.environ.setdefault(name, value)

    from shared.repositories import repositories
    from shared.services import analytics_rebuild as rebuilding

    repos = repositories()
    months = rebuilding.months_between(args.first, args.last)
    if args.command == "check":
        orders, differences = rebuilding.check(repos, months)
        print(f"{orders} orders of {months[0]}..{months[-1]}: {len(differences)} differences")
        for d in differences[:args.limit]:
            print(f"  {d.day} {d.dimension} {d.value} {d.metric}: live {d.live}, rebuilt {d.rebuilt}")
        return 1 if differences else 0
    if args.command == "rebuild":
        built = rebuilding.rebuild(repos, months, progress=lambda line: print(line, file=sys.stderr))
        print(f"generation {built.generation}: {built.orders} orders, {built.aggregates} aggregates")
        generation = built.generation
        if not args.activate:
            print(f"not live yet: python -m local.rebuild_reports activate --generation {generation} "
                  f"--from {args.first} --to {args.last}")
            return 0
    else:
        if args.generation is None:
            parser.error("activate needs --generation")
        generation = args.generation
    print(f"making generation {generation} live; catching up in a minute (consumers read it once a minute)")
    caught = rebuilding.activate(repos, generation, months)
    print(f"live: generation {generation}; {caught.changed} of {caught.orders} orders caught up")
    return 0


if __name__ == "__main__":
    sys.exit(main())
