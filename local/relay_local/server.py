"""moto's server on 127.0.0.1: AWS for the local stack, over real HTTP.

    with MotoServer() as aws:                 # an ephemeral port unless one is given
        boto3.client("sqs", endpoint_url=aws.endpoint_url, ...)

Every client in any process (boto3, the AWS CLI, the relay CLI) reaches it at ``endpoint_url``.
"""

from __future__ import annotations

import logging
import urllib.request

from moto.server import ThreadedMotoServer

from loopback import HOST, StartStop, check_port_free


class MotoServer(StartStop):
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
            # moto's server thread would die on a taken port and leave start() waiting.
            check_port_free(self._requested_port)
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
