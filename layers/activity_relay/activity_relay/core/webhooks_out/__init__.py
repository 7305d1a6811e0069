"""Webhook delivery to registered HTTPS endpoints (Standard Webhooks 1.0): endpoints and their
filters, signing, the retry schedule, fan-out of an event to one delivery per matching endpoint,
and each delivery's attempts. Rests on model and contracts alone."""
