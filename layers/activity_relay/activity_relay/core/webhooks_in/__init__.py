"""LeadLex's `activity.created` webhooks: verified (signature.py), read for the contact they name
and put on the contact queue (receiver.py)."""
