"""SQS: one SendMessageBatch loop (batch.py) under the contact queue, the webhook delivery queue
and the relay CLI; the dead-letter queues the relay writes to itself."""
