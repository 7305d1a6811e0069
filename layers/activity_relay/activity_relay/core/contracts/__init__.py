"""What crosses a process boundary, written once: the event document every publisher and
webhook delivery carries, and the contact queue's messages."""
