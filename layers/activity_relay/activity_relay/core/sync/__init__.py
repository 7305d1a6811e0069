"""What is new for a contact, read with the fewest requests, published oldest first.

batch.py        an SQS batch → one sync per contact, in parallel (BatchSync)
engine.py       one contact's sync: lease, first syncs, what is new, checkpoints (SyncEngine)
discovery.py    what is new on a known contact, backdated activities searched below the head
backfill.py     reading from the list's end up, slice by slice, for long and first syncs
listing.py      a contact's list as one sync reads it: cached pages, positions
packing.py      the events of syncs running at once, in shared publish calls
fanout.py       one publisher over SNS and EventBridge
messages.py     a batch's messages and what becomes of each
"""
