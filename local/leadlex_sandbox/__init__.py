"""A local LeadLex API for tests, the local demo and benchmarks.

It serves `GET /v1/contacts/{id}/activities` as the LeadLex docs describe it (auth, scopes,
pagination, newest-first order, error envelope, X-Request-ID, rate-limit headers and quotas),
and `POST /v1/webhooks` (registration: the signing secret once, `409 duplicate_webhook`; see
webhook_registration.py), after which every added activity is delivered, signed, to the URL;
and lets tests steer everything the real service does to a client: time, faults, activities
appearing between two page requests, webhook deliveries.

Python::

    with SandboxServer(plan="unlimited", seed=1) as sandbox:
        key = sandbox.create_key()                      # scopes=("activities:read",)
        contact = sandbox.create_contact(activities=120)
        sandbox.add_activity(contact, created_date="2024-01-01T00:00:00Z")  # backdated
        requests.get(f"{sandbox.base_url}/v1/contacts/{contact}/activities",
                     headers={"Authorization": f"Bearer {key}"})

Command line: `python -m leadlex_sandbox --port 8080 [--plan pro] [--seed 1] [--contacts 5]
[--type-field activity_type|type]` prints the base URL, a key and the contact ids.

Semantics worth knowing:

* Order: `created_date` descending; equal dates by insertion, the activity added last first.
* Quota: one unit per request with a valid key that is not itself answered 429 (so 403, 400
  and 404 count; 401s, injected faults and 429s do not), against fixed windows on the sandbox
  clock: the UTC day (reported by the X-RateLimit-* headers) and the clock minute (no headers,
  as in the real API). `retry_after=True` adds Retry-After to 429s (the real API documents none).
* Faults apply to /v1 requests only, before auth and quota; `malform_next` instead spoils the
  body of the next responses computed normally (status kept).
* Counters (`total_requests`, `request_log`, `listing_requests(contact)`,
  `connections_opened`) cover /v1 traffic; admin calls are not counted. Paths in the log are
  relative to `base_url`; `status` None marks a dropped connection.
* Page hooks run after a well-formed 200 page was computed and before it is sent.

Admin HTTP interface (JSON bodies, no auth; errors use the API's envelope):

=======  ==================================  ===================================================
GET      /_admin/state                        base_url, workspace_id, plan, type_field, clock...
POST     /_admin/settings                     {"plan": "pro" | {"per_day", "per_minute"},
                                              "type_field", "retry_after", "reset_quota": true}
POST     /_admin/keys                         {"scopes": [...], "expires_in": seconds} -> {"key"}
POST     /_admin/keys/revoke                  {"key"}
POST     /_admin/contacts                     {"activities": n, "contact_id", "name"}
                                              -> {"contact_id"}
GET      /_admin/contacts/{id}/activities     {"activities": [... newest first]}
POST     /_admin/contacts/{id}/activities     {"created_date": iso | omitted for now, any
                                              activity field, "webhook": false to notify no
                                              webhook} -> the activity
GET      /_admin/clock                        {"now", "frozen"}
POST     /_admin/clock                        {"set": iso, "frozen": bool} | {"advance": seconds}
                                              | {"reset": true} -> {"now", "frozen"}
GET      /_admin/stats                        total_requests, connections_opened,
                                              listing_requests, request_log
POST     /_admin/stats/reset
POST     /_admin/faults                       {"latency", "error_rate", "error_status",
                                              "fail_next": {"count", "status", "retry_after"},
                                              "malform_next": n, "drop_next": n,
                                              "lose_webhooks_next": n, "reset": true}
                                              -> the settings and the counted faults pending
POST     /_admin/hooks/insert-after-page      {"contact_id", "page", "activities": [{...}]}
POST     /_admin/webhooks                     {"url", "secret"}: deliver on every new activity
POST     /_admin/webhooks/deliver             {"url", "secret", "event", "activity_id" |
                                              "contact_id"} -> {"status"}
GET      /_admin/webhooks/deliveries          {"deliveries": [...]}
=======  ==================================  ===================================================
"""

from leadlex_sandbox.clock import Clock
from leadlex_sandbox.faults import Faults
from leadlex_sandbox.quota import PLANS, Plan
from leadlex_sandbox.routing import PageServed, RequestRecord
from leadlex_sandbox.sandbox import Sandbox
from leadlex_sandbox.server import SandboxServer
from leadlex_sandbox.store import READ_SCOPE
from leadlex_sandbox.webhooks import WebhookDelivery

__all__ = [
    "PLANS",
    "READ_SCOPE",
    "Clock",
    "Faults",
    "PageServed",
    "Plan",
    "RequestRecord",
    "Sandbox",
    "SandboxServer",
    "WebhookDelivery",
]
