"""The relay's own logic, pure: no boto3, botocore, requests, environment or wiring.

It speaks to the world only through the Protocols of `ports.py`; `adapters/` implements them.
"""
