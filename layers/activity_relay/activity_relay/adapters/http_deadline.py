"""One deadline for a whole HTTP attempt: name resolution, connect, TLS, sending, the response's
headers and body, together.

Neither requests nor urllib3 offers one. urllib3's `Timeout(total=…)` bounds the connect and
gives the read what is left, but that read timeout applies to each socket read afresh: an
endpoint dripping a header line every half second answers after as long as it likes (the audit
saw 200 after 6 s under a 1 s timeout). Name resolution (`getaddrinfo`, which requests-hardened
calls to check the address) has no timeout at all. So:

- the attempt runs in a thread of its own and the caller waits for it until the deadline, not
  a moment longer (`run_with_deadline`);
- every socket the attempt opens or reuses is registered with it, through the connection
  classes of `DeadlineAdapter`'s pools; when the deadline passes the attempt is cancelled and
  those sockets are shut down, so a blocked connect, TLS handshake, send or read fails at once
  and the thread ends;
- a cancelled attempt makes no new connection and sends on no reused one: a thread held up in
  DNS finds it cancelled when the resolver answers, and sends nothing. So an attempt recorded
  as timed out never reaches the endpoint afterwards (a retry would otherwise be its twin).

What already went out before the deadline did go out: a POST cut off in the middle counts as
an attempt that timed out, as on any network.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import requests
from requests_hardened.ip_filter_adapter import IPFilterAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class AttemptCancelled(requests.ConnectionError):
    """The attempt's deadline passed: no connection is made or used for it any more."""


class _Attempt:
    """The sockets of one attempt, to shut down when it is cancelled."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.cancelled = False

    def check(self) -> None:
        if self.cancelled:
            raise AttemptCancelled("the attempt's deadline passed")

    def register(self, sock: socket.socket) -> None:
        # A duplicate of the descriptor: shutting it down shuts the connection, even after TLS
        # has wrapped (and detached) the socket object urllib3 made first.
        duplicate = socket.socket(fileno=_dup(sock))
        with self._lock:
            self._sockets.append(duplicate)
            cancelled = self.cancelled
        if cancelled:
            _shut(duplicate)
            raise AttemptCancelled("the attempt's deadline passed")

    def cancel(self) -> None:
        with self._lock:
            self.cancelled = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shut(sock)

    def close(self) -> None:
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()


def _dup(sock: socket.socket) -> int:
    return os.dup(sock.fileno())


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


_current = threading.local()


def _attempt() -> _Attempt | None:
    attempt: _Attempt | None = getattr(_current, "attempt", None)
    return attempt


class _DeadlineMixin:
    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        attempt = _attempt()
        if attempt is not None:
            attempt.check()
        sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        if attempt is not None:
            attempt.register(sock)
        return sock

    def request(self, *args: Any, **kwargs: Any) -> None:
        attempt = _attempt()
        if attempt is not None:
            attempt.check()
            if self.sock is not None:  # a kept-alive connection, reused
                attempt.register(self.sock)
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_DeadlineMixin, HTTPConnection):
    pass


class _HTTPSConnection(_DeadlineMixin, HTTPSConnection):
    pass


class _HTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(IPFilterAdapter):  # type: ignore[misc]
    """requests-hardened's adapter (the address check, SNI), with pools whose connections
    register their sockets with the attempt running in the calling thread."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _HTTPConnectionPool,
            "https": _HTTPSConnectionPool,
        }


class DeadlineExceeded(Exception):
    """The attempt did not finish within its deadline; it was cancelled."""


def run_with_deadline[T](work: Callable[[], T], seconds: float) -> T:
    """`work()` in a thread of its own; its result, or DeadlineExceeded once `seconds` have
    passed (the attempt cancelled, its sockets shut). What `work` raises is raised here."""
    attempt = _Attempt()
    outcome: list[T] = []
    failure: list[Exception] = []
    done = threading.Event()

    def run() -> None:
        _current.attempt = attempt
        try:
            outcome.append(work())
        except Exception as error:  # noqa: BLE001 - raised again in the caller's thread
            failure.append(error)
        finally:
            _current.attempt = None
            attempt.close()
            done.set()

    thread = threading.Thread(target=run, name="webhook-attempt", daemon=True)
    thread.start()
    if not done.wait(seconds):
        # Its thread ends at once (its sockets are shut) unless it waits on DNS; it is not
        # waited for, and sends nothing when it resumes.
        attempt.cancel()
        raise DeadlineExceeded(f"not finished within {seconds:g} s")
    if failure:
        raise failure[0]
    return outcome[0]
