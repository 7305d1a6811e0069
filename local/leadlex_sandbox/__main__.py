"""`python -m leadlex_sandbox`: serve a seeded sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import contextlib
import threading

from leadlex_sandbox.quota import PLANS
from leadlex_sandbox.server import SandboxServer
from leadlex_sandbox.store import TYPE_FIELDS


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m leadlex_sandbox", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--plan", choices=sorted(PLANS), default="unlimited")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--contacts", type=int, default=5)
    parser.add_argument("--activities", type=int, default=120, help="seeded per contact")
    parser.add_argument("--type-field", choices=TYPE_FIELDS, default="activity_type")
    parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429")
    parser.add_argument("--path-prefix", default="", help="e.g. /functions/v1/api-gateway")
    args = parser.parse_args(argv)
    sandbox = SandboxServer(
        host=args.host,
        port=args.port,
        path_prefix=args.path_prefix,
        plan=args.plan,
        seed=args.seed,
        type_field=args.type_field,
        retry_after=args.retry_after,
    )
    key = sandbox.create_key()
    contacts = [sandbox.create_contact(args.activities) for _ in range(args.contacts)]
    with sandbox:
        print(f"LEADLEX_API_BASE_URL={sandbox.base_url}")
        print(f"LEADLEX_API_KEY={key}")
        print(f"admin: {sandbox.admin_url}/state")
        for contact_id in contacts:
            print(f"contact {contact_id}")
        print("Serving; Ctrl-C stops.", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
