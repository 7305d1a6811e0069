"""loopback: a ThreadingHTTPServer on 127.0.0.1 from a daemon thread, stopped by its `with`."""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from loopback import (
    HOST,
    LoopbackServer,
    PortInUseError,
    StartStop,
    check_port_free,
    post_handler,
)


class Hello(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the sandbox's clients use it

    def do_GET(self) -> None:
        body = f"hello {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as response:
        return str(response.read().decode())


def refused(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        return probe.connect_ex((HOST, port)) != 0


def serving_threads(name: str) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == name]


def test_it_serves_on_an_ephemeral_loopback_port_and_stops_with_its_block() -> None:
    # Given a handler served by a LoopbackServer without a port
    with LoopbackServer(Hello, name="loopback-test-serve") as server:
        # When a client asks
        answer = get(f"{server.url}/ping")
        port = server.port

        # Then it answers on 127.0.0.1, on a port of its own, from a daemon thread
        assert answer == "hello /ping"
        assert server.url == f"http://127.0.0.1:{port}"
        assert port != 0
        assert [thread.daemon for thread in serving_threads("loopback-test-serve")] == [True]

    # Then, the block left, the port is closed and the serving thread gone
    assert not server.running
    assert refused(port)
    assert serving_threads("loopback-test-serve") == []


def test_stopping_shuts_a_keep_alive_connection_left_open() -> None:
    handlers: list[threading.Thread] = []

    class Recorded(Hello):
        def do_GET(self) -> None:
            handlers.append(threading.current_thread())
            super().do_GET()

    # Given a client holding a keep-alive connection it has used once
    with LoopbackServer(Recorded) as server:
        connection = http.client.HTTPConnection(HOST, server.port, timeout=5)
        connection.request("GET", "/first")
        assert connection.getresponse().read() == b"hello /first"

    # When the server has stopped, Then the connection is closed, and its handler thread ended
    assert connection.sock is not None
    assert connection.sock.recv(1) == b""
    connection.close()
    handlers[0].join(timeout=5)
    assert not handlers[0].is_alive()


def test_a_port_given_by_number_is_used() -> None:
    # Given a port that is free now
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        free = probe.getsockname()[1]

    # When a server is asked for it
    with LoopbackServer(Hello, port=free) as server:
        # Then it serves there
        assert server.port == free
        assert get(f"http://127.0.0.1:{free}/") == "hello /"


def test_a_taken_port_is_refused_with_a_clear_error() -> None:
    # Given a server holding a port
    with LoopbackServer(Hello) as holder:
        taken = holder.port

        # When another server, and the probe for servers that bind out of sight, ask for it
        with pytest.raises(PortInUseError, match=f"port {taken} on 127.0.0.1 is in use") as error:
            LoopbackServer(Hello, port=taken).start()
        with pytest.raises(PortInUseError, match=f"port {taken} on 127.0.0.1 is in use"):
            check_port_free(taken)

        # Then the error is an OSError naming the port; the holder serves on
        assert isinstance(error.value, OSError)
        assert error.value.port == taken
        assert get(f"{holder.url}/still") == "hello /still"

    # And, once freed, the port passes the probe
    check_port_free(taken)


def test_starting_twice_is_an_error_and_a_stopped_server_starts_again() -> None:
    server = LoopbackServer(Hello, name="twice")

    with server, pytest.raises(RuntimeError, match="twice is already running"):
        server.start()
    with server:
        assert get(f"{server.url}/again") == "hello /again"

    with pytest.raises(RuntimeError, match="twice is not running"):
        _ = server.port


def test_start_stop_stops_on_exit_even_when_the_block_raises() -> None:
    # Given something with start() and stop()
    calls: list[str] = []

    class Thing(StartStop):
        def start(self) -> Thing:
            calls.append("start")
            return self

        def stop(self) -> None:
            calls.append("stop")

    def fail_inside(thing: Thing) -> None:
        with thing as running:
            assert running is thing
            raise ValueError("inside")

    # When its block raises
    with pytest.raises(ValueError, match="inside"):
        fail_inside(Thing())

    # Then it was started, then stopped
    assert calls == ["start", "stop"]


def test_a_post_handler_passes_every_post_to_its_function_and_refuses_other_methods() -> None:
    # Given a server whose handler is a function of POST requests
    paths: list[str] = []

    def handle(request: BaseHTTPRequestHandler) -> None:
        paths.append(request.path)
        request.send_response(204)
        request.end_headers()

    with LoopbackServer(post_handler(handle), name="loopback-test-post") as server:
        # When a client POSTs, then GETs
        request = urllib.request.Request(f"{server.url}/hooks", data=b"{}", method="POST")
        with urllib.request.urlopen(request, timeout=5) as posted:
            status = posted.status
        with pytest.raises(urllib.error.HTTPError) as got:
            get(f"{server.url}/hooks")
        got.value.close()

    # Then the POST reached the function and the GET did not
    assert status == 204
    assert got.value.code == 501
    assert paths == ["/hooks"]
