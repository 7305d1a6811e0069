"""The contact queue in memory (SqsContactQueue)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from activity_relay.core.contracts.contact_queue import MAX_DELAY_SECONDS, Purpose, QueuedContact


@dataclass
class MemoryContactQueue:
    """The contact queue: `messages` holds each accepted message, in order, and `delays` the
    delay it waits (the queue's own `queue_delay` when the message names none). Contacts in
    `refuse` are refused as SQS refuses a message it blames on the sender, so is a delay SQS
    does not allow; after go_down() nothing is taken, as when SQS cannot be reached."""

    queue_delay: int = 0
    refuse: set[str] = field(default_factory=set)
    messages: list[QueuedContact] = field(default_factory=list)
    delays: list[int] = field(default_factory=list)
    down: bool = False

    def send(self, messages: Sequence[QueuedContact]) -> list[QueuedContact]:
        failed: list[QueuedContact] = []
        for message in messages:
            delay = message.delay_seconds
            if (
                self.down
                or message.contact_id in self.refuse
                or (delay is not None and not 0 <= delay <= MAX_DELAY_SECONDS)
            ):
                failed.append(message)
                continue
            self.messages.append(message)
            self.delays.append(self.queue_delay if delay is None else delay)
        return failed

    def go_down(self) -> None:
        self.down = True

    @property
    def sent(self) -> list[str]:
        """The contacts of the accepted messages, in order."""
        return [message.contact_id for message in self.messages]

    def continuations(self) -> list[tuple[str, int]]:
        """(contact id, delay) of each continuation taken, in order."""
        return [
            (message.contact_id, delay)
            for message, delay in zip(self.messages, self.delays, strict=True)
            if message.purpose is Purpose.CONTINUATION
        ]

    def visible(self) -> list[str]:
        """The bodies a receive would return now: the messages that wait no delay."""
        return [
            message.body
            for message, delay in zip(self.messages, self.delays, strict=True)
            if delay == 0
        ]
