"""Each function's runtime is built once per container, at its first invocation, and kept.

`built_once` registers what it caches, so `reset()` forgets every runtime built so far, with
the boto3 session and the secrets they read (a test, or a local stack whose environment
changed), without a hand-kept list to forget one from.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import cache

_forgetters: list[Callable[[], None]] = []


def built_once[R](build: Callable[[], R]) -> Callable[[], R]:
    """`build`, called on the first call only; a build that raises caches nothing."""
    cached = cache(build)
    _forgetters.append(cached.cache_clear)
    return cached


def reset() -> None:
    """Forget every runtime and what they hold: the next invocation reads the environment
    again, with a new session (its credentials may have changed) and secrets read afresh."""
    for forget in _forgetters:
        forget()
    if "activity_relay.adapters.secrets" in sys.modules:  # else no secret was ever read
        from activity_relay.adapters.secrets import forget_secrets

        forget_secrets()  # and the Secrets Manager client, which may point at a stack now gone
