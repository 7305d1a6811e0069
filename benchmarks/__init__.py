"""Reproducible benchmarks of the relay: the real engine, relay and LeadLex client against the
LeadLex sandbox over real HTTP, with the in-memory store and publisher. See README.md here."""
