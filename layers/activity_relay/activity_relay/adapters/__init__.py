"""One module or folder per outside service, each implementing ports of core/<capability>/ports.py:
LeadLex over HTTP, DynamoDB, SQS, SNS and EventBridge, Secrets Manager, and webhook POSTs."""
