"""relay sandbox: the local stack's LeadLex sandbox, instead of curl to its /_admin routes.

log CONTACT_ID [--type T] [--backdate 2h|ISO] [--no-webhook]
                                   log an activity in LeadLex; its signed webhook goes out to
                                   the receiver at once, as LeadLex's would
contacts | add-contact [--activities N]
                                   the sandbox's contacts / a new one
fault fail [--status 429|500|503] [--count N] [--retry-after S]
fault drop | malform | lose-webhooks [--count N]
fault error-rate RATE [--status S] | latency SECONDS | reset | show
                                   what the next LeadLex requests (the sync's) get, or webhooks
                                   LeadLex loses; show: what is set and still to come

The sandbox's address comes from the state file `make local` writes (or --sandbox-url).
"""

from __future__ import annotations

import argparse
import json
import urllib.error
import urllib.request
from datetime import datetime
from typing import IO, Any

from relay_cli.target import STATE_FILE, Target, UsageError
from relay_cli.times import parse_time

OUTPUT = "LeadLexSandboxAdminUrl"
NO_SANDBOX = (
    "no local stack is running: start it with `make local` (it writes "
    f"{STATE_FILE.name}, where relay sandbox finds the LeadLex sandbox), or pass --sandbox-url"
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "sandbox",
        help="the local stack's LeadLex sandbox: log activities, inject faults",
        description=__doc__,
    )
    parser.add_argument(
        "--sandbox-url",
        help="its admin URL, …/_admin (or RELAY_SANDBOX_URL; default: make local's)",
    )
    actions = parser.add_subparsers(dest="sandbox_command", required=True, metavar="ACTION")

    log = actions.add_parser("log", help="log an activity in LeadLex (and send its webhook)")
    log.add_argument("contact_id", help="a contact of the sandbox (relay sandbox contacts)")
    log.add_argument("--type", help="call, email_sent, meeting, note, … (default: any)")
    log.add_argument(
        "--backdate", help="its created_date: 2h / 90m / 3d before the sandbox's now, or ISO 8601"
    )
    log.add_argument("--description", help="its description (default: a generated one)")
    log.add_argument(
        "--no-webhook",
        action="store_true",
        help="send no webhook: only a poll of the contact finds it",
    )
    log.add_argument("--json", action="store_true", help="print JSON")
    log.set_defaults(run=run_log)

    contacts = actions.add_parser("contacts", help="the sandbox's contacts")
    contacts.set_defaults(run=run_contacts)
    add_contact = actions.add_parser("add-contact", help="a new contact in the sandbox")
    add_contact.add_argument(
        "--activities", type=int, default=0, help="seeded over the past year, with no webhook"
    )
    add_contact.set_defaults(run=run_add_contact)

    _add_fault_parser(actions)


def _add_fault_parser(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fault = actions.add_parser("fault", help="make LeadLex fail: errors, drops, lost webhooks")
    kinds = fault.add_subparsers(dest="fault", required=True, metavar="FAULT")

    def counted(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = kinds.add_parser(name, help=help_text)
        parser.add_argument("--count", "-n", type=int, default=1, help="how many (default 1)")
        parser.set_defaults(run=run_fault)
        return parser

    fail = counted("fail", "answer the next requests with an error status")
    fail.add_argument("--status", type=int, default=503, help="429, 500, 503, … (default 503)")
    fail.add_argument("--retry-after", type=int, help="seconds, in a Retry-After header")
    counted("drop", "close the connection of the next requests without an answer")
    counted("malform", "cut the body of the next answers short (not JSON)")
    counted("lose-webhooks", "send none of the next webhooks (LeadLex lost them)")
    rate = kinds.add_parser("error-rate", help="fail this share of all requests at random")
    rate.add_argument("rate", type=float, help="0 to 1 (1: every request)")
    rate.add_argument("--status", type=int, default=503, help="the error status (default 503)")
    rate.set_defaults(run=run_fault)
    latency = kinds.add_parser("latency", help="answer every request this much later")
    latency.add_argument("seconds", type=float, help="seconds (0: none)")
    latency.set_defaults(run=run_fault)
    for name, help_text in (("reset", "no faults any more"), ("show", "the faults set now")):
        kinds.add_parser(name, help=help_text).set_defaults(run=run_fault)


class SandboxAdmin:
    """The sandbox's admin interface (JSON over HTTP on 127.0.0.1, no auth)."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        # The sandbox is on this machine: no proxy from the environment stands in between.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(  # noqa: S310 - http(s) URL of the local sandbox
            self.url + path,
            data=None if body is None else json.dumps(body).encode(),
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with self._opener.open(request, timeout=15) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            raise SandboxError(error.code, _error_message(error.read())) from None
        except (OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise UsageError(
                f"the LeadLex sandbox at {self.url} does not answer ({reason}): "
                "is `make local` still running?"
            ) from None


class SandboxError(UsageError):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"the sandbox answered {status}: {message}")
        self.status = status


def _error_message(body: bytes) -> str:
    try:
        return str(json.loads(body)["error"]["message"])
    except (ValueError, KeyError, TypeError):
        return body.decode(errors="replace")[:200]


def admin(target: Target) -> SandboxAdmin:
    url = target.outputs.get(OUTPUT)
    if url:
        return SandboxAdmin(url)
    if not target.found:
        raise UsageError(NO_SANDBOX)
    raise UsageError(
        f"{target.origin} names no LeadLex sandbox: relay sandbox drives the one `make local` "
        "starts (not a deployed stack's LeadLex, nor make local's --real-leadlex)"
    )


def run_log(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    sandbox = admin(target)
    body: dict[str, Any] = {"webhook": not args.no_webhook}
    if args.type:
        body["activity_type"] = args.type
    if args.description:
        body["description"] = args.description
    if args.backdate:
        # The sandbox's clock, which a test may have set; whole seconds, as LeadLex writes them.
        now = datetime.fromisoformat(sandbox.call("GET", "/clock")["now"]).replace(microsecond=0)
        body["created_date"] = parse_time(args.backdate, now, "--backdate").isoformat()
    try:
        activity = sandbox.call("POST", f"/contacts/{args.contact_id}/activities", body)
    except SandboxError as error:
        if error.status == 404:
            raise UsageError(
                f"the sandbox has no contact {args.contact_id}: relay sandbox contacts lists them"
            ) from None
        raise
    deliveries = [
        d
        for d in sandbox.call("GET", "/webhooks/deliveries")["deliveries"]
        if d["activity_id"] == activity["id"]
    ]
    if args.json:
        webhooks = [{"url": d["url"], "status": d["status"]} for d in deliveries]
        print(json.dumps({"activity": activity, "webhooks": webhooks}), file=out)
        return 0
    kind = activity.get("activity_type") or activity.get("type") or "?"
    print(f"logged {activity['id']}  {kind}  {activity['created_date']}", file=out)
    for delivery in deliveries:
        answer = "unreachable" if delivery["status"] is None else f"answered {delivery['status']}"
        print(f"webhook to {delivery['url']}: {answer}", file=out)
    if not deliveries:
        why = (
            "--no-webhook"
            if args.no_webhook
            else "no receiver registered, or lost by a lose-webhooks fault"
        )
        print(
            f"no webhook sent ({why}): a poll of the contact publishes it "
            f"(relay enqueue {args.contact_id})",
            file=out,
        )
    return 0


def run_contacts(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    sandbox = admin(target)
    contacts = sandbox.call("GET", "/state")["contacts"]
    print(f"{'CONTACT':<36}  ACTIVITIES  NEWEST", file=out)
    for contact in contacts:
        activities = sandbox.call("GET", f"/contacts/{contact}/activities")["activities"]
        newest = activities[0]["created_date"] if activities else "-"
        print(f"{contact:<36}  {len(activities):>10}  {newest}", file=out)
    return 0


def run_add_contact(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    if args.activities < 0:
        raise UsageError("--activities: a number from 0")
    created = admin(target).call("POST", "/contacts", {"activities": args.activities})
    print(created["contact_id"], file=out)
    return 0


def run_fault(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    body = _fault_body(args)
    state = admin(target).call("POST", "/faults", body)
    print(_describe_faults(state), file=out)
    return 0


def _fault_body(args: argparse.Namespace) -> dict[str, Any]:
    count = getattr(args, "count", 1)
    if count < 1:
        raise UsageError("--count: a number from 1")
    if args.fault == "fail":
        return {
            "fail_next": {"count": count, "status": args.status, "retry_after": args.retry_after}
        }
    if args.fault in ("drop", "malform", "lose-webhooks"):
        return {f"{args.fault.replace('-', '_')}_next": count}
    if args.fault == "error-rate":
        if not 0 <= args.rate <= 1:
            raise UsageError("error-rate: a share from 0 to 1")
        return {"error_rate": args.rate, "error_status": args.status}
    if args.fault == "latency":
        if args.seconds < 0:
            raise UsageError("latency: seconds from 0")
        return {"latency": args.seconds}
    return {"reset": True} if args.fault == "reset" else {}


def _describe_faults(state: dict[str, Any]) -> str:
    """What the sandbox does now, in plain words."""
    pending = [
        f"{state[key]} {what}"
        for key, what in (
            ("fail_next", "to fail"),
            ("drop_next", "to drop"),
            ("malform_next", "to malform"),
        )
        if state.get(key)
    ]
    lines = [
        "next LeadLex requests: " + (", ".join(pending) if pending else "answered normally"),
        f"at random: {state['error_rate']:.0%} of requests answered {state['error_status']}",
        f"latency: {state['latency']:g} s",
        f"webhooks lost next: {state.get('lose_webhooks_next', 0)}",
    ]
    return "\n".join(lines)
