"""The webhook round of ``make demo``: three receivers on 127.0.0.1 registered with
``relay webhooks add``, each verifying every delivery with the `standardwebhooks` library.

- `all`    every event;
- `calls`  filter {"activity_type": ["call", "meeting"]}: only calls and meetings;
- `flaky`  filter {"activity_type": ["note"]}, answers 500 twice, then 200: retried on the
           local stack's schedule (seconds), delivered once.

The note is the event the demo's ending traces with `relay events show` (`show_event`).
"""

from __future__ import annotations

import io
import json
import tempfile
import time
from pathlib import Path
from typing import IO

from relay_cli import main as cli
from relay_cli.commands.enqueue import enqueue
from relay_local.embedded import EmbeddedRelay
from relay_local.webhook_receiver import WebhookReceiver

CALLS_FILTER = {"activity_type": ["call", "meeting"]}
FLAKY_FILTER = {"activity_type": ["note"]}


def run(relay: EmbeddedRelay, out: IO[str], *, timeout: float = 30.0) -> tuple[bool, str]:
    """Whether every receiver got what it should, and the note's event id."""
    with (
        WebhookReceiver() as everything,
        WebhookReceiver() as calls,
        WebhookReceiver(answers=[500, 500, 200]) as flaky,
    ):
        # Rounds 1 and 2's events reached the fan-out too, before any endpoint existed: gone.
        relay.drain_webhooks()
        receivers = {"all": everything, "calls": calls, "flaky": flaky}
        filters = {"all": None, "calls": CALLS_FILTER, "flaky": FLAKY_FILTER}
        for name, receiver in receivers.items():
            endpoint_id = register(relay, receiver, name, filters[name])
            shown = json.dumps(filters[name]) if filters[name] else "every event"
            print(f"   relay webhooks add {receiver.url}  → {endpoint_id}", file=out)
            print(f"      {name:<6} {shown}; secret whsec_… (printed once)", file=out)

        sandbox = relay.sandbox
        contact = sandbox.create_contact(activities=0, name="Webhook Demo")
        added = {
            t: sandbox.add_activity(contact, activity_type=t) for t in ("call", "note", "meeting")
        }
        print(f"\n   enqueue {contact} (a call, a note, a meeting)", file=out)
        enqueue(relay.sqs, relay.stack.contact_queue_url, [contact])
        relay.trigger.drain()

        started = time.monotonic()
        expected = {"all": 3, "calls": 2, "flaky": 3}
        while any(len(receivers[n].deliveries) < c for n, c in expected.items()):
            if time.monotonic() - started > timeout:
                break
            relay.drain_webhooks()
            time.sleep(0.05)

        print(f"\n   {'receiver':<9} {'webhook-id':<40} {'type':<11} answered  signature", file=out)
        arrivals = sorted(
            (d.received_at, name, d) for name, r in receivers.items() for d in r.deliveries
        )
        for received_at, name, delivery in arrivals:
            verdict = "verified (standardwebhooks)" if delivery.verified else delivery.problem
            print(
                f"   {name:<9} {delivery.webhook_id:<40} "
                f"{delivery.document.get('activity_type', '?'):<11} {delivery.answered:<9} "
                f"{verdict}   +{received_at - started:.1f} s",
                file=out,
            )
        return _check(receivers, out), str(added["note"]["id"])


def register(
    relay: EmbeddedRelay,
    receiver: WebhookReceiver,
    description: str,
    policy: dict[str, list[str]] | None = None,
) -> str:
    """`relay webhooks add` for the receiver, which then verifies with the printed secret."""
    argv = ["webhooks", "add", receiver.url, "--json", "--description", description]
    if policy is not None:
        argv += ["--filter", json.dumps(policy)]
    registered = json.loads(_cli(relay, argv))
    receiver.secret = registered["secret"]
    return str(registered["endpoint_id"])


def show_event(relay: EmbeddedRelay, event_id: str, out: IO[str]) -> bool:
    """The demo's ending: `relay events show` of the note, as a user types it; whether it
    tells the note's publication and its two deliveries (`all` at once, `flaky` at the third
    attempt)."""
    print(f"   $ relay events show {event_id}\n", file=out)
    for line in _cli(relay, ["events", "show", event_id]).splitlines():
        print(f"   {line}" if line else "", file=out)
    trace = json.loads(_cli(relay, ["events", "show", event_id, "--json"]))
    attempts = sorted(len(d["attempts"]) for d in trace["deliveries"])
    ok = (
        len(trace["publications"]) == 1
        and attempts == [1, 3]
        and all(d["state"] == "delivered" for d in trace["deliveries"])
    )
    print(
        f"\n   published once, delivered to 2 endpoints (after 1 and 3 attempts) — "
        f"{'as expected' if ok else 'NOT as expected'}",
        file=out,
    )
    return ok


def _cli(relay: EmbeddedRelay, argv: list[str]) -> str:
    """`relay ARGV` in-process against the embedded stack, through the state file `make local`
    would write."""
    with tempfile.TemporaryDirectory() as directory:
        state_file = Path(directory) / "relay-local.json"
        relay.write_state_file(state_file)
        out, err = io.StringIO(), io.StringIO()
        status = cli.main(["--state-file", str(state_file), *argv], env={}, out=out, err=err)
    if status:
        raise RuntimeError(f"relay {' '.join(argv)}: {err.getvalue().strip()}")
    return out.getvalue()


def _check(receivers: dict[str, WebhookReceiver], out: IO[str]) -> bool:
    everything, calls, flaky = receivers["all"], receivers["calls"], receivers["flaky"]
    deliveries = [d for r in receivers.values() for d in r.deliveries]
    verified = bool(deliveries) and all(d.verified for d in deliveries)
    all_types = sorted(d.document.get("activity_type") for d in everything.deliveries)
    call_types = sorted(d.document.get("activity_type") for d in calls.deliveries)
    retried = [d.answered for d in flaky.deliveries] == [500, 500, 200] and (
        len({d.webhook_id for d in flaky.deliveries}) == 1
    )
    ok = (
        verified
        and all_types == ["call", "meeting", "note"]
        and call_types == ["call", "meeting"]
        and retried
    )
    print(
        f"\n   {len(deliveries)} POST(s), every signature verified: {verified}; "
        f"calls got {call_types}; flaky answered 500, 500, 200 and got its note once: "
        f"{retried} — {'as expected' if ok else 'NOT as expected'}",
        file=out,
    )
    return ok
