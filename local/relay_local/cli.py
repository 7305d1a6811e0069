"""``relay``: operate the relay, on the local stack or on AWS.

    relay enqueue ID... | --file ids.txt | < ids.txt    push contact ids to the contact queue
    relay tail [topic|bus|QUEUE_URL]                    print events arriving at a subscriber
    relay state CONTACT_ID / relay reset CONTACT_ID     show / forget a contact's sync state
    relay dlq list / relay dlq redrive                  inspect / replay the dead-letter queue

Where the stack is, first found wins: flags (``--queue-url``, ``--dlq-url``, ``--table-name``,
``--endpoint-url``, ``--region``); the environment (``RELAY_CONTACT_QUEUE_URL``,
``RELAY_DEAD_LETTER_QUEUE_URL``, ``RELAY_TABLE_NAME``, ``RELAY_ENDPOINT_URL`` or
``AWS_ENDPOINT_URL``); the Outputs of the CloudFormation stack named by ``--stack-name`` or
``RELAY_STACK_NAME``; the state file a running ``make local`` writes (``.relay-local.json``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.model import parse_contact_id
from activity_relay.state import DynamoDbStateStore
from relay_local.embedded import FAKE_CREDENTIALS, STATE_FILE, event_document

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient
    from mypy_boto3_sqs.type_defs import MessageTypeDef, SendMessageBatchRequestEntryTypeDef

SQS_BATCH: Final = 10
PROGRESS_THRESHOLD: Final = 100
"""Inputs at least this long get a progress bar (on a terminal)."""
SEND_ATTEMPTS: Final = 4
"""Tries per entry SQS failed on its side (SenderFault false) before it is reported."""
PEEK_VISIBILITY: Final = 30
"""Seconds a dead letter stays hidden while listed or redriven, then shown again at once."""

# Flag/env name → the template Output it stands for.
_NAMED_OUTPUTS: Final = {
    "ContactQueueUrl": ("queue_url", "RELAY_CONTACT_QUEUE_URL"),
    "DeadLetterQueueUrl": ("dlq_url", "RELAY_DEAD_LETTER_QUEUE_URL"),
    "TableName": ("table_name", "RELAY_TABLE_NAME"),
}


class UsageError(Exception):
    """Something the user can fix: printed without a traceback, exit status 2."""


# --- Where the stack is --------------------------------------------------------------------------


@dataclass
class Target:
    """The stack the commands act on: endpoint, region, and its Outputs."""

    endpoint_url: str | None
    region: str | None
    outputs: dict[str, str]
    subscribers: dict[str, str] = field(default_factory=dict)
    local: bool = False
    origin: str = "flags and environment"

    def output(self, name: str) -> str:
        value = self.outputs.get(name)
        if not value:
            flag, variable = _NAMED_OUTPUTS[name]
            raise UsageError(
                f"no {name}: pass --{flag.replace('_', '-')}, set {variable} or RELAY_STACK_NAME, "
                "or start the local stack (make local)"
            )
        return value

    def session(self) -> boto3.session.Session:
        session = boto3.session.Session(region_name=self.region)
        if self.local and session.get_credentials() is None:
            # moto accepts any credentials; a laptop without AWS config should still work.
            session = boto3.session.Session(
                aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                region_name=self.region,
            )
        return session

    def sqs(self) -> SQSClient:
        return self.session().client("sqs", endpoint_url=self.endpoint_url)

    def state_store(self) -> DynamoDbStateStore:
        client = self.session().client("dynamodb", endpoint_url=self.endpoint_url)
        return DynamoDbStateStore(client, self.output("TableName"))


def resolve_target(args: argparse.Namespace, env: Mapping[str, str]) -> Target:
    endpoint = args.endpoint_url or env.get("RELAY_ENDPOINT_URL") or env.get("AWS_ENDPOINT_URL")
    region = args.region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    stack_name = args.stack_name or env.get("RELAY_STACK_NAME")
    state_file = Path(args.state_file or env.get("RELAY_STATE_FILE") or STATE_FILE)
    if stack_name:
        target = Target(endpoint, region, {}, origin=f"stack {stack_name}")
        target.outputs = _stack_outputs(target, stack_name)
    elif state_file.exists():
        state = json.loads(state_file.read_text(encoding="utf-8"))
        target = Target(
            endpoint or state["endpoint_url"],
            region or state.get("region"),
            dict(state.get("outputs") or {}),
            dict(state.get("subscribers") or {}),
            local=True,
            origin=str(state_file),
        )
    else:
        target = Target(endpoint, region, {}, local=endpoint is not None)
    for output, (flag, variable) in _NAMED_OUTPUTS.items():
        value = getattr(args, flag, None) or env.get(variable)
        if value:
            target.outputs[output] = value
    return target


def _stack_outputs(target: Target, stack_name: str) -> dict[str, str]:
    # No stubs for CloudFormation in the dev set; only describe_stacks is used.
    cloudformation: Any = target.session().client(
        "cloudformation", endpoint_url=target.endpoint_url
    )
    stacks = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


# --- enqueue -------------------------------------------------------------------------------------


@dataclass
class EnqueueReport:
    sent: list[str] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (input, why)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (contact id, why)
    duplicates: int = 0


class Progress:
    """A one-line progress bar on a stream; silent when disabled."""

    def __init__(self, total: int, stream: IO[str], *, enabled: bool, width: int = 30) -> None:
        self._total, self._stream, self._enabled, self._width = total, stream, enabled, width
        self._done = 0

    def advance(self, count: int) -> None:
        self._done += count
        if self._enabled:
            filled = self._width * self._done // max(self._total, 1)
            bar = "#" * filled + "." * (self._width - filled)
            self._stream.write(f"\r[{bar}] {self._done}/{self._total} contact ids")
            self._stream.flush()

    def close(self) -> None:
        if self._enabled:
            self._stream.write("\n")
            self._stream.flush()


def read_ids(lines: Iterable[str]) -> Iterator[str]:
    """Ids from a file's lines: one or more per line (whitespace or commas), # comments."""
    for line in lines:
        text = line.split("#", 1)[0]
        yield from (item for item in text.replace(",", " ").split() if item)


def enqueue(
    sqs: SQSClient,
    queue_url: str,
    inputs: Iterable[str],
    *,
    progress: Callable[[int], Progress] | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> EnqueueReport:
    """Send each valid contact id once (SendMessageBatch, 10 at a time); report the rest."""
    report = EnqueueReport()
    ids: list[str] = []
    seen: set[str] = set()
    for item in inputs:
        try:
            contact_id = parse_contact_id(item)
        except ValueError as error:
            report.invalid.append((item, str(error)))
            continue
        if contact_id in seen:
            report.duplicates += 1
            continue
        seen.add(contact_id)
        ids.append(contact_id)
    bar = progress(len(ids)) if progress else None
    for start in range(0, len(ids), SQS_BATCH):
        chunk = ids[start : start + SQS_BATCH]
        sent, failed = _send_batch(sqs, queue_url, chunk, sleep)
        report.sent.extend(chunk[index] for index in sent)
        report.failed.extend((chunk[index], why) for index, why in failed)
        if bar:
            bar.advance(len(chunk))
    if bar:
        bar.close()
    return report


def _send_batch(
    sqs: SQSClient,
    queue_url: str,
    bodies: Sequence[str],
    sleep: Callable[[float], None],
) -> tuple[list[int], list[tuple[int, str]]]:
    """Indices of ``bodies`` (sent, [(failed, why)]); entries SQS failed on its side (SenderFault
    false) are tried again with backoff, the others are reported at once."""
    pending = list(range(len(bodies)))
    sent: list[int] = []
    failed: list[tuple[int, str]] = []
    for attempt in range(SEND_ATTEMPTS):
        if attempt:
            sleep(0.2 * 2 ** (attempt - 1))
        entries: list[SendMessageBatchRequestEntryTypeDef] = [
            {"Id": str(index), "MessageBody": bodies[index]} for index in pending
        ]
        try:
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except ClientError as error:
            failed.extend((index, _error_text(error)) for index in pending)
            return sent, failed
        sent.extend(int(success["Id"]) for success in response.get("Successful", []))
        retry: list[int] = []
        for failure in response.get("Failed", []):
            index = int(failure["Id"])
            reason = f"{failure.get('Code')}: {failure.get('Message', '')}".rstrip(": ")
            if failure.get("SenderFault") or attempt == SEND_ATTEMPTS - 1:
                failed.append((index, reason))
            else:
                retry.append(index)
        if not retry:
            break
        pending = retry
    return sent, failed


def _cmd_enqueue(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    inputs: list[str] = list(args.ids)
    for name in args.file or []:
        if name == "-":
            inputs.extend(read_ids(sys.stdin))
        else:
            with Path(name).open(encoding="utf-8") as stream:
                inputs.extend(read_ids(stream))
    if not args.ids and not args.file:
        if sys.stdin.isatty():
            raise UsageError("no contact ids: give them as arguments, --file, or on stdin")
        inputs.extend(read_ids(sys.stdin))
    queue_url = target.output("ContactQueueUrl")

    def progress(total: int) -> Progress:
        shown = args.progress if args.progress is not None else err.isatty()
        return Progress(total, err, enabled=shown and total >= PROGRESS_THRESHOLD)

    report = enqueue(target.sqs(), queue_url, inputs, progress=progress)
    for item, why in report.invalid:
        print(f"invalid, not sent: {item!r} ({why})", file=err)
    for contact_id, why in report.failed:
        print(f"not sent: {contact_id} ({why})", file=err)
    duplicates = f", {report.duplicates} duplicate(s) skipped" if report.duplicates else ""
    print(f"sent {len(report.sent)} contact id(s) to {queue_url}{duplicates}", file=out)
    if report.invalid or report.failed:
        print(f"{len(report.invalid)} invalid, {len(report.failed)} failed", file=err)
        return 1
    return 0


# --- tail ----------------------------------------------------------------------------------------


def format_event(subscriber: str, document: Mapping[str, Any]) -> str:
    return (
        f"{subscriber:<6} {document.get('contact_id', '?'):<36}  "
        f"{document.get('activity_type', '?'):<11} {document.get('occurred_at', '?'):<21} "
        f"{document.get('event_id', '?')}"
    )


EVENT_HEADER: Final = format_event(
    "SUBSCR",
    {
        "contact_id": "CONTACT",
        "activity_type": "TYPE",
        "occurred_at": "OCCURRED_AT",
        "event_id": "EVENT_ID",
    },
)


def _cmd_tail(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    if args.subscriber and args.subscriber.startswith(("http://", "https://")):
        queues = {"queue": args.subscriber}
    elif args.subscriber:
        if args.subscriber not in target.subscribers:
            known = ", ".join(sorted(target.subscribers)) or "none known"
            raise UsageError(f"unknown subscriber {args.subscriber!r} ({known}); or a queue URL")
        queues = {args.subscriber: target.subscribers[args.subscriber]}
    else:
        queues = dict(target.subscribers)
    if not queues:
        raise UsageError("no subscriber queue: pass its URL (relay tail QUEUE_URL)")
    sqs = target.sqs()
    if not args.json:
        print(EVENT_HEADER, file=out, flush=True)
    printed = 0
    last_event = time.monotonic()
    # Short polls when watching several queues, so none waits behind another.
    wait = 1 if len(queues) > 1 else min(5, max(1, int(args.idle or 5)))
    try:
        while args.count is None or printed < args.count:
            got_any = False
            for name, url in queues.items():
                wanted = SQS_BATCH if args.count is None else min(SQS_BATCH, args.count - printed)
                if wanted <= 0:
                    break
                response = sqs.receive_message(
                    QueueUrl=url, MaxNumberOfMessages=wanted, WaitTimeSeconds=wait
                )
                messages = response.get("Messages", [])
                for message in messages:
                    document = event_document(message.get("Body", ""))
                    if document is None:
                        print(f"{name}: not an event: {message.get('Body', '')[:200]}", file=err)
                    elif args.json:
                        print(json.dumps({"subscriber": name, **document}), file=out)
                    else:
                        print(format_event(name, document), file=out)
                    if document is not None:
                        printed += 1
                out.flush()
                if messages:
                    got_any = True
                    _delete(sqs, url, messages)
            if got_any:
                last_event = time.monotonic()
            elif args.idle is not None and time.monotonic() - last_event >= args.idle:
                break
    except KeyboardInterrupt:
        pass
    return 0


def _delete(sqs: SQSClient, queue_url: str, messages: Sequence[MessageTypeDef]) -> None:
    response = sqs.delete_message_batch(
        QueueUrl=queue_url,
        Entries=[
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ],
    )
    if response.get("Failed"):
        raise UsageError(f"could not delete {len(response['Failed'])} message(s) from {queue_url}")


# --- state / reset -------------------------------------------------------------------------------


def _contact(value: str) -> str:
    try:
        return parse_contact_id(value)
    except ValueError as error:
        raise UsageError(f"not a contact id: {value!r} ({error})") from None


def _cmd_state(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    contact_id = _contact(args.contact_id)
    state = target.state_store().load(contact_id)
    if state is None:
        print(f"{contact_id}: no sync state (never synced, not found, or reset)", file=out)
        return 0
    started = state.last_sync_started_at.isoformat() if state.last_sync_started_at else None
    summary = {
        "contact_id": contact_id,
        "version": state.version,
        "activities_accounted": state.seen.total,
        "last_sync_started_at": started,
    }
    if args.json:
        print(json.dumps(summary), file=out)
    else:
        for key, value in summary.items():
            print(f"{key:<22} {value}", file=out)
    return 0


def _cmd_reset(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    contact_id = _contact(args.contact_id)
    target.state_store().forget(contact_id)
    print(
        f"{contact_id}: sync state forgotten; its next sync is a first sync "
        "(INITIAL_SYNC applies; what is published again keeps its event ids)",
        file=out,
    )
    return 0


# --- dlq -----------------------------------------------------------------------------------------


def _dead_letters(sqs: SQSClient, queue_url: str, limit: int) -> list[MessageTypeDef]:
    """Up to ``limit`` messages, hidden for PEEK_VISIBILITY so none is read twice."""
    messages: list[MessageTypeDef] = []
    while len(messages) < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=min(SQS_BATCH, limit - len(messages)),
            VisibilityTimeout=PEEK_VISIBILITY,
            MessageAttributeNames=["All"],
            MessageSystemAttributeNames=["SentTimestamp", "ApproximateReceiveCount"],
        ).get("Messages", [])
        if not batch:
            break
        messages.extend(batch)
    return messages


def _show_again(sqs: SQSClient, queue_url: str, messages: Sequence[MessageTypeDef]) -> None:
    for start in range(0, len(messages), SQS_BATCH):
        chunk = messages[start : start + SQS_BATCH]
        sqs.change_message_visibility_batch(
            QueueUrl=queue_url,
            Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                for i, m in enumerate(chunk)
            ],
        )


def _rejection(message: MessageTypeDef) -> str | None:
    attribute = (message.get("MessageAttributes") or {}).get("rejection_reason")
    return attribute.get("StringValue") if attribute else None


def _cmd_dlq_list(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    sqs, queue_url = target.sqs(), target.output("DeadLetterQueueUrl")
    messages = _dead_letters(sqs, queue_url, args.max)
    try:
        for message in messages:
            attributes = message.get("Attributes") or {}
            sent = attributes.get("SentTimestamp")
            sent_at = (
                time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(int(sent) / 1000)) if sent else "?"
            )
            reason = _rejection(message)
            why = f"rejected: {reason}" if reason else "failed every receive (maxReceiveCount)"
            body = message.get("Body", "")
            if args.json:
                print(
                    json.dumps(
                        {
                            "message_id": message["MessageId"],
                            "sent_at": sent_at,
                            "body": body,
                            "rejection_reason": reason,
                        }
                    ),
                    file=out,
                )
            else:
                print(f"{message['MessageId']}  {sent_at}  {body[:60]!r}  {why}", file=out)
    finally:
        _show_again(sqs, queue_url, messages)
    if not args.json:
        print(f"{len(messages)} message(s) in {queue_url}", file=out)
    return 0


def _cmd_dlq_redrive(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    sqs = target.sqs()
    dlq_url, queue_url = target.output("DeadLetterQueueUrl"), target.output("ContactQueueUrl")
    messages = _dead_letters(sqs, dlq_url, args.max)
    kept: list[MessageTypeDef] = []
    moved = failed = 0
    try:
        movable = [m for m in messages if args.include_rejected or _rejection(m) is None]
        kept = [m for m in messages if m not in movable]
        for start in range(0, len(movable), SQS_BATCH):
            chunk = movable[start : start + SQS_BATCH]
            sent, not_sent = _send_batch(
                sqs, queue_url, [m.get("Body", "") for m in chunk], time.sleep
            )
            if sent:
                _delete(sqs, dlq_url, [chunk[index] for index in sent])
            kept.extend(chunk[index] for index, _ in not_sent)
            moved += len(sent)
            failed += len(not_sent)
            for index, why in not_sent:
                print(f"not redriven: {chunk[index].get('Body', '')[:60]!r} ({why})", file=err)
    finally:
        _show_again(sqs, dlq_url, kept)
    print(f"redrove {moved} message(s) to {queue_url}", file=out)
    rejected = sum(1 for m in kept if _rejection(m) is not None)
    if rejected:
        print(
            f"left {rejected} rejected message(s): their bodies name no contact "
            "(--include-rejected sends them anyway)",
            file=out,
        )
    return 1 if failed else 0


# --- entry point ---------------------------------------------------------------------------------


def _error_text(error: ClientError) -> str:
    details = error.response.get("Error", {})
    return f"{details.get('Code', 'Error')}: {details.get('Message', '')}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="relay", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--endpoint-url", help="AWS endpoint, e.g. the local stack's")
    parser.add_argument("--region")
    parser.add_argument("--stack-name", help="read names from this CloudFormation stack's Outputs")
    parser.add_argument("--state-file", help=f"the local stack's (default {STATE_FILE.name})")
    parser.add_argument("--queue-url", help="the contact queue")
    parser.add_argument("--dlq-url", help="the dead-letter queue")
    parser.add_argument("--table-name", help="the watermark table")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    enqueue_ = commands.add_parser("enqueue", help="send contact ids to the contact queue")
    enqueue_.add_argument("ids", nargs="*", metavar="CONTACT_ID")
    enqueue_.add_argument(
        "--file", "-f", action="append", help="ids one per line ('-' for stdin); repeatable"
    )
    enqueue_.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help=f"progress bar (default: on a terminal, from {PROGRESS_THRESHOLD} ids)",
    )
    enqueue_.set_defaults(run=_cmd_enqueue)

    tail = commands.add_parser("tail", help="print events as they arrive at a subscriber queue")
    tail.add_argument("subscriber", nargs="?", help="topic, bus (local stack) or a queue URL")
    tail.add_argument("--count", "-n", type=int, help="stop after this many events")
    tail.add_argument("--idle", type=float, help="stop after this many seconds without events")
    tail.add_argument("--json", action="store_true", help="one JSON document per line")
    tail.set_defaults(run=_cmd_tail)

    state = commands.add_parser("state", help="show a contact's sync state")
    state.add_argument("contact_id")
    state.add_argument("--json", action="store_true")
    state.set_defaults(run=_cmd_state)

    reset = commands.add_parser("reset", help="forget a contact's sync state")
    reset.add_argument("contact_id")
    reset.set_defaults(run=_cmd_reset)

    dlq = commands.add_parser("dlq", help="the dead-letter queue")
    dlq_commands = dlq.add_subparsers(dest="dlq_command", required=True, metavar="ACTION")
    dlq_list = dlq_commands.add_parser("list", help="show what is there (and leave it)")
    dlq_list.add_argument("--max", type=int, default=100)
    dlq_list.add_argument("--json", action="store_true")
    dlq_list.set_defaults(run=_cmd_dlq_list)
    redrive = dlq_commands.add_parser("redrive", help="send dead letters back to the queue")
    redrive.add_argument("--max", type=int, default=1000)
    redrive.add_argument(
        "--include-rejected", action="store_true", help="also messages rejected as unreadable"
    )
    redrive.set_defaults(run=_cmd_dlq_redrive)
    return parser


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    out: IO[str] | None = None,
    err: IO[str] | None = None,
) -> int:
    out, err = out or sys.stdout, err or sys.stderr
    args = build_parser().parse_args(argv)
    try:
        target = resolve_target(args, os.environ if env is None else env)
        status: int = args.run(args, target, out, err)
    except UsageError as error:
        print(f"relay: {error}", file=err)
        return 2
    except ClientError as error:
        print(f"relay: AWS said {_error_text(error)}", file=err)
        return 2
    except BotoCoreError as error:
        print(f"relay: {error}", file=err)
        return 2
    except BrokenPipeError:
        # The reader went away (`relay tail | head`): stop quietly, as Unix tools do.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - must outlive this frame
        return 0
    return status


if __name__ == "__main__":
    sys.exit(main())
