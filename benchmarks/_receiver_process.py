"""A webhook receiver in a process of its own (relay_local.webhook_receiver.WebhookReceiver,
spawned), so that a throughput benchmark's process does only the sender's work: its CPU time is
the function's, and the receiver's threads do not compete with it for the interpreter."""

from __future__ import annotations

import multiprocessing
from multiprocessing.connection import Connection
from typing import Self

from loopback import StartStop


def _serve(connection: Connection, delay_seconds: float, secret: str) -> None:
    from relay_local.webhook_receiver import WebhookReceiver

    with WebhookReceiver(delay_seconds=delay_seconds, secret=secret) as receiver:
        connection.send(receiver.url)
        connection.recv()  # until told to stop
        connection.send([(d.webhook_id, d.verified) for d in receiver.deliveries])


class ReceiverProcess(StartStop):
    """`with ReceiverProcess(0.05, secret) as receiver:` then `receiver.url`; after the block,
    `receiver.received`: (webhook-id, verified) of every delivery, in arrival order."""

    def __init__(self, delay_seconds: float, secret: str) -> None:
        self._delay = delay_seconds
        self._secret = secret
        self.url = ""
        self.received: list[tuple[str, bool]] = []

    def start(self) -> Self:
        context = multiprocessing.get_context("spawn")
        self._connection, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, self._delay, self._secret), daemon=True
        )
        self._process.start()
        self.url = str(self._connection.recv())
        return self

    def stop(self) -> None:
        self._connection.send("stop")
        self.received = list(self._connection.recv())
        self._process.join(10)
