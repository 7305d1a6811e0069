"""The event's channels: SNS (sns.py) and EventBridge (eventbridge.py), through one batch-call
loop with per-entry retries (batching.py)."""
