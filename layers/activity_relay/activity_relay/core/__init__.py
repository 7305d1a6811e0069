"""The relay's own logic, pure: no boto3, botocore, requests, Powertools, environment or runtime.

One folder per capability, each with the ports it needs (its `ports.py`), layered so that each
imports only those below it (import-linter, pyproject.toml):

    model, contracts   the values every capability reads, and the formats that cross a process
    quota              pacing the daily quota, the sweep, the reserve rule
    sync               what is new for a contact, with the fewest requests, published in order
    webhooks_in        LeadLex's signed webhooks → the contact queue
    webhooks_out       endpoints, filters, signing, the retry schedule (on model and contracts)

`adapters/` implements the ports; `runtime/` assembles both for each function.
"""
