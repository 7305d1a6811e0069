"""Local servers on 127.0.0.1, started and stopped one way (server.py).

For the LeadLex sandbox, the laptop stack, the relay CLI, the benchmarks and the tests alike,
none of which should depend on another for it.
"""

from loopback.server import (
    HOST,
    LoopbackServer,
    PortInUseError,
    StartStop,
    check_port_free,
    post_handler,
)

__all__ = [
    "HOST",
    "LoopbackServer",
    "PortInUseError",
    "StartStop",
    "check_port_free",
    "post_handler",
]
