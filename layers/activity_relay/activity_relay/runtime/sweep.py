"""The sweep function (functions/sweep_deferred): its settings and its runtime.

On a schedule: deferred (and, with reconciliation on, stale) contacts from the state table back
onto the contact queue, as far as the quota allows (core/quota/sweep.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from activity_relay.core.quota.pacing import PacePolicy
from activity_relay.core.quota.sweep import SweepPolicy
from activity_relay.runtime.environment import Environment, utc_now
from activity_relay.runtime.registry import built_once

if TYPE_CHECKING:
    from activity_relay.core.quota.sweep import SweepResult
    from activity_relay.lambda_events import Invocation

DEFAULT_DAILY_QUOTA = 100
"""The smallest plan's daily quota: what the sweep assumes before any response told it more."""
DEFAULT_REQUESTS_PER_MINUTE = 10
"""The smallest plan's per-minute limit, which LeadLex reports in no header."""


@dataclass(frozen=True, slots=True)
class SweepSettings:
    state_table_name: str
    contact_queue_url: str
    quota_reserve: int
    default_daily_quota: int
    requests_per_minute: int
    stale_after: timedelta | None
    """None: no reconciliation of contacts not synced for a while."""
    pacing: bool = True

    @property
    def policy(self) -> SweepPolicy:
        pace = PacePolicy(reserve=self.quota_reserve, default_limit=self.default_daily_quota)
        return SweepPolicy(
            quota_reserve=self.quota_reserve,
            default_daily_quota=self.default_daily_quota,
            requests_per_minute=self.requests_per_minute,
            stale_after=self.stale_after,
            pace=pace if self.pacing else None,
        )

    @classmethod
    def from_env(cls, variables: Mapping[str, str]) -> SweepSettings:
        env = Environment(variables)
        stale_hours = env.integer("STALE_AFTER_HOURS", default=0, low=0)
        return cls(
            state_table_name=env.required("WATERMARK_TABLE_NAME"),
            contact_queue_url=env.required("CONTACT_QUEUE_URL"),
            quota_reserve=env.integer("LEADLEX_QUOTA_RESERVE", default=0, low=0),
            default_daily_quota=env.integer(
                "DEFAULT_DAILY_QUOTA", default=DEFAULT_DAILY_QUOTA, low=1
            ),
            requests_per_minute=env.integer(
                "LEADLEX_REQUESTS_PER_MINUTE", default=DEFAULT_REQUESTS_PER_MINUTE, low=1
            ),
            stale_after=timedelta(hours=stale_hours) if stale_hours else None,
            pacing=env.pacing(),
        )


class SweepRuntime:
    """The sweep function's runtime: the deferrals (the state table) and the contact queue."""

    def __init__(self, settings: SweepSettings, clock: Callable[[], datetime] = utc_now) -> None:
        from activity_relay.adapters.dynamodb.deferrals import DynamoDbDeferrals
        from activity_relay.adapters.sqs.batch import SqsBatchSender
        from activity_relay.adapters.sqs.contact_queue import SqsContactQueue
        from activity_relay.runtime.aws import AwsClients

        clients = AwsClients()
        self.settings = settings
        self._clock = clock
        self._deferrals = DynamoDbDeferrals(clients.dynamodb(), settings.state_table_name)
        self._queue = SqsContactQueue(SqsBatchSender(clients.sqs(), settings.contact_queue_url))

    def process(self, event: Mapping[str, Any], context: Invocation) -> SweepResult:
        """One scheduled run; the schedule's event carries nothing the sweep needs."""
        from activity_relay.core.quota.sweep import sweep

        return sweep(self._deferrals, self._queue, self.settings.policy, now=self._clock())


@built_once
def runtime() -> SweepRuntime:
    """Raises ConfigurationError naming the variable; nothing is cached then."""
    return SweepRuntime(SweepSettings.from_env(os.environ))
