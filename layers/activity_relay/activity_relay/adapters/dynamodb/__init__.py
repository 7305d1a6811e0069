"""DynamoDB: the state table (codec.py, contacts.py, deferrals.py) and the webhook endpoint
table (endpoints.py)."""
