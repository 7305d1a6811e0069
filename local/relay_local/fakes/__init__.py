"""In-memory fakes of the relay's ports, one module per capability, the only ones in the
project.

For unit tests, simulations and benchmarks that run the real logic without AWS or LeadLex.
tests/contract/ runs the same cases against each fake and its real adapter, so a fake that
drifts from the adapter it stands for fails there: the real adapter is the reference.
"""
