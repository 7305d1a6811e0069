"""`Sandbox`: one LeadLex workspace, what tests, demos and benchmarks hold and steer.

It composes parts, each in a module of its own, and guards them all with its one lock (the
parts never lock, so what the sandbox does in one step stays one step):

    store.py      keys, contacts and their activities
    quota.py      plans; the day's and the minute's windows
    faults.py     failures injected into /v1 requests (these lock for themselves)
    webhooks.py   delivery targets, signed deliveries and their record
    routing.py    the /v1 API: auth, quota headers, the error envelope; its counters, page hooks

`Sandbox.handle` turns one request into a `Response`; server.py only moves bytes.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict

from leadlex_sandbox import fake_data, webhooks
from leadlex_sandbox.clock import Clock
from leadlex_sandbox.faults import Faults
from leadlex_sandbox.quota import Plan, Quota
from leadlex_sandbox.routing import (
    PageHook,
    PageHooks,
    PageServed,
    RequestRecord,
    Router,
    Traffic,
)
from leadlex_sandbox.store import READ_SCOPE, Store
from leadlex_sandbox.webhooks import WebhookDelivery, Webhooks


class SandboxSettings(TypedDict, total=False):
    """`Sandbox`'s keywords, for what builds on it (the server) to pass on unchanged; the
    defaults are `Sandbox.__init__`'s."""

    plan: str | Plan
    seed: int
    type_field: str
    retry_after: bool
    clock: Clock | None


class Sandbox:
    """One LeadLex workspace: keys, contacts and their activities, quota, faults, counters.

    Listing order: `created_date` descending; equal dates by insertion order, the activity
    added last first. Quota: every request with a valid key that is not itself rejected with
    429 consumes one unit of the daily and of the per-minute window (fixed windows on the
    sandbox clock: UTC day, clock minute); 401s, injected faults and 429s consume nothing.
    """

    def __init__(
        self,
        *,
        plan: str | Plan = "unlimited",
        seed: int = 0,
        type_field: str = "activity_type",
        retry_after: bool = False,
        clock: Clock | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.seed = seed
        self.clock = clock if clock is not None else Clock()
        self.faults = Faults(seed)
        # Keys come from here too: reproducible sandbox keys are a feature, not a leak.
        rng = random.Random(f"{seed}:sandbox")  # noqa: S311
        self.workspace_id = fake_data.random_uuid(rng)
        self._quota = Quota(plan, retry_after=retry_after)
        self._store = Store(seed=seed, rng=rng, type_field=type_field)
        self._webhooks = Webhooks(rng)
        self._traffic = Traffic()
        self._hooks = PageHooks()
        self._router = Router(
            lock=self._lock,
            clock=self.clock,
            faults=self.faults,
            store=self._store,
            quota=self._quota,
            webhooks=self._webhooks,
            traffic=self._traffic,
            hooks=self._hooks,
        )
        # Answer one /v1 request; page hooks have run when it returns.
        self.handle = self._router.handle

    # --- settings -----------------------------------------------------------------------

    @property
    def plan(self) -> Plan:
        return self._quota.plan

    @plan.setter
    def plan(self, plan: str | Plan) -> None:
        self._quota.plan = plan

    @property
    def type_field(self) -> str:
        return self._store.type_field

    @type_field.setter
    def type_field(self, name: str) -> None:
        self._store.type_field = name

    @property
    def retry_after(self) -> bool:
        """Whether 429s carry Retry-After (the real API documents none)."""
        return self._quota.retry_after

    @retry_after.setter
    def retry_after(self, value: bool) -> None:
        self._quota.retry_after = value

    def reset_quota(self) -> None:
        with self._lock:
            self._quota.reset()

    # --- keys ---------------------------------------------------------------------------

    def create_key(
        self,
        scopes: Iterable[str] = (READ_SCOPE,),
        *,
        expires_in: float | timedelta | None = None,
    ) -> str:
        """A new key; `expires_in` is measured on the sandbox clock from now."""
        expires_at = None
        if expires_in is not None:
            delta = (
                expires_in if isinstance(expires_in, timedelta) else timedelta(seconds=expires_in)
            )
            expires_at = self.clock.now() + delta
        with self._lock:
            return self._store.create_key(scopes, expires_at)

    def revoke_key(self, key: str) -> None:
        with self._lock:
            self._store.revoke_key(key)

    # --- contacts and activities ----------------------------------------------------------

    def create_contact(
        self, activities: int = 0, *, contact_id: str | None = None, name: str | None = None
    ) -> str:
        """A new contact's UUID, with `activities` seeded ones spread over the past year.

        Seeded content depends only on the sandbox seed and the contact id; their dates are
        relative to the sandbox clock.
        """
        with self._lock:
            return self._store.create_contact(
                activities, contact_id=contact_id, name=name, now=self.clock.now()
            )

    def add_activity(
        self,
        contact_id: str,
        *,
        created_date: str | datetime | None = None,
        webhook: bool = True,
        **fields: Any,
    ) -> dict[str, Any]:
        """Log one activity, as the API would list it; `created_date` defaults to the clock's
        now and may be any past or future moment. `fields` override the generated content
        (`activity_type`, `description`, `metadata`, ... or `id`) and may add custom ones.
        Raises KeyError for an unknown contact. Registered webhooks are notified unless
        `webhook` is false or a `lose_webhooks_next` fault swallows the delivery."""
        created = (
            self.clock.now() if created_date is None else fake_data.parse_timestamp(created_date)
        )
        with self._lock:
            contact, activity = self._store.add_activity(contact_id, created, fields)
            targets = self._webhooks.targets("activity.created") if webhook else []
        for url, secret in targets:
            if not self.faults.take_lost_webhook():
                self._deliver_recorded(url, secret, "activity.created", activity, contact)
        return activity

    def activities(self, contact_id: str) -> list[dict[str, Any]]:
        """All of a contact's activities in listing order, as the API renders them now."""
        with self._lock:
            return self._store.activities(contact_id)

    def activity(self, activity_id: str) -> dict[str, Any]:
        """One activity by id, as the API renders it now; KeyError if unknown."""
        with self._lock:
            return self._store.activity(activity_id)

    def contact_ids(self) -> list[str]:
        with self._lock:
            return self._store.contact_ids()

    # --- hooks ----------------------------------------------------------------------------

    def on_page_served(self, callback: PageHook, *, once: bool = False) -> PageHook:
        """Call `callback` after each well-formed page is computed and before it is sent, so
        whatever it changes is in place before the client can ask for the next page."""
        with self._lock:
            self._hooks.add(callback, once=once)
        return callback

    def remove_hook(self, callback: PageHook) -> None:
        with self._lock:
            self._hooks.remove(callback)

    def insert_after_page(
        self, contact_id: str, page: int, activities: Sequence[Mapping[str, Any]]
    ) -> None:
        """Once page `page` of `contact_id` has been served, add `activities` (keyword
        arguments of `add_activity`, e.g. {"created_date": ...}); fires once."""
        wanted = contact_id.lower()

        def insert(served: PageServed) -> None:
            if served.contact_id != wanted or served.page != page:
                return
            self.remove_hook(insert)
            for spec in activities:
                self.add_activity(wanted, **dict(spec))

        self.on_page_served(insert)

    # --- counters ---------------------------------------------------------------------------

    @property
    def total_requests(self) -> int:
        with self._lock:
            return self._traffic.total_requests

    @property
    def connections_opened(self) -> int:
        with self._lock:
            return self._traffic.connections

    def listing_requests(self, contact_id: str) -> int:
        with self._lock:
            return self._traffic.listing_requests.get(contact_id.lower(), 0)

    @property
    def listing_request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._traffic.listing_requests)

    @property
    def request_log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._traffic.log)

    def reset_stats(self) -> None:
        with self._lock:
            self._traffic.reset()

    def connection_opened(self) -> None:
        with self._lock:
            self._traffic.connections += 1

    def record(self, record: RequestRecord) -> None:
        with self._lock:
            self._traffic.record(record)

    # --- webhooks -----------------------------------------------------------------------------

    def register_webhook(self, url: str, secret: str) -> None:
        """Deliver `activity.created` to `url` whenever an activity is added."""
        with self._lock:
            self._webhooks.add(url, secret)

    def unregister_webhooks(self) -> None:
        with self._lock:
            self._webhooks.clear()

    @property
    def registered_webhooks(self) -> list[dict[str, Any]]:
        """What POST /v1/webhooks registered (id, url, events, active), without the secrets."""
        with self._lock:
            return self._webhooks.registered()

    @property
    def webhook_deliveries(self) -> list[WebhookDelivery]:
        with self._lock:
            return self._webhooks.deliveries

    def deliver_webhook(
        self,
        url: str,
        secret: str,
        event: str = "activity.created",
        activity: Mapping[str, Any] | None = None,
        contact_id: str | None = None,
        *,
        signature: str | None = None,
        timeout: float = 10.0,
    ) -> int:
        """POST one signed delivery to `url` and return the receiver's status code.

        `activity` defaults to the contact's newest; `contact_id` to the activity's contact.
        `signature` replaces the computed header value, to test a receiver's rejection.
        Connection failures raise OSError.
        """
        if activity is None:
            if contact_id is None:
                raise ValueError("give an activity or a contact_id")
            activity = self.activities(contact_id)[0]
        if contact_id is None:
            with self._lock:
                contact_id = self._store.contact_of(str(activity.get("id")))
        return webhooks.deliver(
            url,
            secret,
            event,
            activity,
            contact_id,
            workspace_id=self.workspace_id,
            timestamp=fake_data.format_timestamp(self.clock.now()),
            signature=signature,
            timeout=timeout,
            record=self._record_delivery,
        )

    def _record_delivery(self, delivery: WebhookDelivery) -> None:
        with self._lock:
            self._webhooks.record(delivery)

    def _deliver_recorded(
        self, url: str, secret: str, event: str, activity: Mapping[str, Any], contact_id: str
    ) -> None:
        # Automatic deliveries must not break add_activity: the failure is in the record.
        with contextlib.suppress(OSError):
            self.deliver_webhook(url, secret, event, activity, contact_id)

    # --- the API ------------------------------------------------------------------------------
