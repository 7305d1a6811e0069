"""A local server's start and stop, written once.

    with LoopbackServer(Handler) as server:      # 127.0.0.1, an ephemeral port unless one is given
        requests.post(f"{server.url}/hooks", ...)

`LoopbackServer` serves a `BaseHTTPRequestHandler` class from a `ThreadingHTTPServer` on a daemon
thread. `stop()` (or the end of the `with` block) ends the serve loop, shuts the connections still
open (handler threads idle on keep-alive reads would otherwise outlive the server), closes the
socket and joins the thread. A port asked for by number must be free: `PortInUseError` says so
instead of a bare "Address already in use".

`post_handler(handle)` is the handler class of a server that only takes POSTs.
`StartStop` is the `with` protocol of anything with `start()` and `stop()`; `check_port_free`
makes the same clear error for a server that binds out of sight (moto's, in its own thread).
"""

from __future__ import annotations

import abc
import contextlib
import errno
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

HOST = "127.0.0.1"


class PortInUseError(OSError):
    """A port asked for by number is taken."""

    def __init__(self, port: int, host: str = HOST) -> None:
        super().__init__(
            errno.EADDRINUSE,
            f"port {port} on {host} is in use (another `make local`?); stop it or pick another",
        )
        self.port = port
        self.host = host


def check_port_free(port: int, host: str = HOST) -> None:
    """Raise PortInUseError if `port` cannot be bound on `host` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As a server will: a port left in TIME_WAIT by a server just stopped is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            raise PortInUseError(port, host) from None


def post_handler(
    handle: Callable[[BaseHTTPRequestHandler], None],
) -> type[BaseHTTPRequestHandler]:
    """A handler class passing every POST to `handle`; it logs no request line (the server's
    owner says what arrived, in its own words)."""

    class PostHandler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            handle(self)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return PostHandler


class StartStop(abc.ABC):
    """`with thing as running:` is `running = thing.start()`, and `thing.stop()` on exit."""

    @abc.abstractmethod
    def start(self) -> Self: ...

    @abc.abstractmethod
    def stop(self) -> None: ...

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class LoopbackServer(StartStop):
    """`handler` served on `host` (127.0.0.1) from a daemon thread, until stop().

    `port` 0 binds an ephemeral port; `port` and `url` tell the one bound while running.
    `poll_interval` is how often the serve loop looks for a stop: stop() waits up to that long.
    Started again after a stop, it binds anew (another ephemeral port, with `port` 0).
    """

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        *,
        port: int = 0,
        host: str = HOST,
        name: str = "loopback-server",
        poll_interval: float = 0.05,
    ) -> None:
        self.handler = handler
        self.host = host
        self.requested_port = port
        self.name = name
        self.poll_interval = poll_interval
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{self.name} is not running")
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """`http://host:port`, without a trailing slash."""
        return f"http://{self.host}:{self.port}"

    def start(self) -> Self:
        if self._server is not None:
            raise RuntimeError(f"{self.name} is already running")
        server = _bind(self.host, self.requested_port, self.handler)
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": self.poll_interval},
            name=self.name,
            daemon=True,
        )
        thread.start()
        self._server, self._thread = server, thread
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.shutdown()
        server.close_connections()
        server.server_close()
        thread.join()


def _bind(host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> _Server:
    try:
        return _Server((host, port), handler)
    except OSError as error:
        if port and error.errno == errno.EADDRINUSE:
            raise PortInUseError(port, host) from None
        raise


class _Server(ThreadingHTTPServer):
    """A ThreadingHTTPServer that knows its open connections, to shut them on stop."""

    daemon_threads = True  # a handler thread never keeps the process alive
    # socketserver's default backlog is 5: a sender opening ten connections at once (a batch of
    # webhook deliveries) overflows it, and the dropped SYNs come back a second later.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        if isinstance(request, socket.socket):
            with self._open_lock:
                self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        if isinstance(request, socket.socket):
            with self._open_lock:
                self._open.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):  # closed by the client meanwhile
                connection.shutdown(socket.SHUT_RDWR)
