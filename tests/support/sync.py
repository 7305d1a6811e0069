"""The batch relay as the sync's unit tests assemble it over their engine."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from activity_relay.core.sync.batch import BatchSync
from activity_relay.core.sync.engine import SyncEngine
from relay_local.fakes.contact_queue import MemoryContactQueue
from relay_local.fakes.state_table import MemoryStateTable
from relay_local.fakes.sync import RejectionLog


def batch_relay(
    engine: SyncEngine, store: MemoryStateTable, clock: Callable[[], datetime], **options: Any
) -> BatchSync:
    """`engine`'s batch relay, with `store` for its deferrals as runtime/sync.py wires it, and a
    fresh rejection log and contact queue unless `options` give them (as they give concurrency,
    quota, pacing or packing)."""
    options.setdefault("rejected", RejectionLog())
    options.setdefault("queue", MemoryContactQueue())
    return BatchSync(engine=engine, deferrals=store, clock=clock, **options)
