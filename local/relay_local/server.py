"""moto's server on 127.0.0.1: AWS for the local stack, over real HTTP.

    with MotoServer() as aws:                 # an ephemeral port unless one is given
        boto3.client("sqs", endpoint_url=aws.endpoint_url, ...)

Every client in any process (boto3, the AWS CLI, the relay CLI) reaches it at ``endpoint_url``.
"""

from __future__ import annotations

import logging
import socket
import urllib.request
from types import TracebackType

from moto.server import ThreadedMotoServer

HOST = "127.0.0.1"


class MotoServer:
    """A moto server thread, started with a clean slate and stopped on exit."""

    def __init__(self, *, port: int = 0) -> None:
        self._requested_port = port
        self._server: ThreadedMotoServer | None = None
        self.port = port

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> MotoServer:
        if self._server is not None:
            raise RuntimeError("moto server already running")
        if self._requested_port:
            _check_free(self._requested_port)
        # Werkzeug logs every request on stderr, which would bury what the relay prints.
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        server = ThreadedMotoServer(ip_address=HOST, port=self._requested_port, verbose=False)
        server.start()
        self._server = server
        self.port = server.get_host_and_port()[1]
        # moto keeps its state in process globals: a second server in the same process (a test
        # run) would otherwise see the queues and tables of the previous one.
        self.reset()
        return self

    def reset(self) -> None:
        """Forget every resource (moto's reset API)."""
        request = urllib.request.Request(  # noqa: S310 - our own http://127.0.0.1 URL
            f"{self.endpoint_url}/moto-api/reset", method="POST", data=b""
        )
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310 - as above
            pass

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _check_free(port: int) -> None:
    """Fail clearly on a taken port: moto's server thread would die and leave start() waiting."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # As the server will: a port left in TIME_WAIT by a server just stopped is free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((HOST, port))
        except OSError:
            raise OSError(
                f"port {port} on {HOST} is in use (another `make local`?); stop it or pick another"
            ) from None
