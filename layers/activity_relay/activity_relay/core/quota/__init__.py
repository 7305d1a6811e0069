"""LeadLex's daily quota: paced over the day (pacing.py), its reserve never spent (reserve.py),
and the scheduled sweep that releases the contacts that waited for it (sweep.py)."""
