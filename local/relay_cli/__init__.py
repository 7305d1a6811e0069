"""`relay`: the relay's command line, for the local stack and AWS alike (no moto needed)."""
