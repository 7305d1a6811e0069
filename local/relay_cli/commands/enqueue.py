"""``relay enqueue``: contact ids to the contact queue.

Ids come as arguments, from files (``--file``, repeatable, ``-`` for stdin) or on stdin: one or
more per line, separated by whitespace or commas, ``#`` starting a comment. A header row is
skipped: the first non-blank line of a file or of stdin when none of its items contains a digit
(``contact_id``, ``id,name,email``) — every contact id has digits. It is named on stderr, so
nothing is dropped unseen. Any other item that is not a contact UUID is reported, not sent.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Final

from activity_relay.core.model import parse_contact_id
from relay_cli.exit_status import status_of
from relay_cli.sqs import SQS_BATCH, send_batch
from relay_cli.target import Target, UsageError

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

PROGRESS_THRESHOLD: Final = 100
"""Inputs at least this long get a progress bar (on a terminal)."""


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


def read_ids(
    lines: Iterable[str], *, on_header: Callable[[str], None] | None = None
) -> Iterator[str]:
    """Ids from a file's lines: one or more per line (whitespace or commas), # comments; a
    header row (the first line with items, none of which has a digit) is passed to on_header."""
    first = True
    for line in lines:
        items = line.split("#", 1)[0].replace(",", " ").split()
        if not items:
            continue
        if first and not any(character.isdigit() for item in items for character in item):
            first = False
            if on_header:
                on_header(line.strip())
            continue
        first = False
        yield from items


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
        outcome = send_batch(sqs, queue_url, chunk, sleep)
        report.sent.extend(chunk[index] for index in outcome.sent)
        report.failed.extend((chunk[index], why) for index, why in outcome.failed)
        if bar:
            bar.advance(len(chunk))
    if bar:
        bar.close()
    return report


def run(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    inputs: list[str] = list(args.ids)

    def header(source: str) -> Callable[[str], None]:
        return lambda line: print(f"skipped header row of {source}: {line!r}", file=err)

    for name in args.file or []:
        if name == "-":
            inputs.extend(read_ids(sys.stdin, on_header=header("stdin")))
        else:
            with Path(name).open(encoding="utf-8") as stream:
                inputs.extend(read_ids(stream, on_header=header(name)))
    if not args.ids and not args.file:
        if sys.stdin.isatty():
            raise UsageError("no contact ids: give them as arguments, --file, or on stdin")
        inputs.extend(read_ids(sys.stdin, on_header=header("stdin")))
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
    not_sent = len(report.invalid) + len(report.failed)
    if not_sent:
        print(f"{len(report.invalid)} invalid, {len(report.failed)} failed", file=err)
    return status_of(len(report.sent), not_sent)
