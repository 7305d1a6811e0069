"""Endpoints that answer badly, served on 127.0.0.1 by LoopbackServer: one that drips its
answer a header line at a time, one that never answers. Each counts the requests it got."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler
from typing import Any, ClassVar

from loopback import LoopbackServer


class _Quiet(BaseHTTPRequestHandler):
    requests: ClassVar[list[float]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).requests.append(time.monotonic())


def drip_endpoint(interval: float = 0.5, lines: int = 12) -> LoopbackServer:
    """Answers 200, then one header line every `interval` seconds (`lines` of them): each
    socket read gets a byte well within any read timeout, the answer as a whole takes
    interval x lines."""

    class Drip(_Quiet):
        requests: ClassVar[list[float]] = []

        def do_POST(self) -> None:
            self._read_body()
            try:
                self.wfile.write(b"HTTP/1.1 200 OK\r\n")
                self.wfile.flush()
                for n in range(lines):
                    time.sleep(interval)
                    self.wfile.write(f"X-Drip-{n}: .\r\n".encode())
                    self.wfile.flush()
                self.wfile.write(b"Content-Length: 0\r\n\r\n")
            except OSError:
                pass  # the client gave up: what the test wants
            self.close_connection = True

    return LoopbackServer(Drip, name="drip-endpoint")


def hanging_endpoint(release: threading.Event) -> LoopbackServer:
    """Reads the request, then answers nothing until `release` is set."""

    class Hang(_Quiet):
        requests: ClassVar[list[float]] = []

        def do_POST(self) -> None:
            self._read_body()
            release.wait(30)
            self.close_connection = True

    return LoopbackServer(Hang, name="hanging-endpoint")


def requests_of(server: LoopbackServer) -> list[float]:
    """When each request arrived (time.monotonic()), as the server's handler recorded."""
    handler: Any = server.handler
    return list(handler.requests)
