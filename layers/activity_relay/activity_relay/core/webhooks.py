"""Webhooks out (Standard Webhooks 1.0): endpoints, their filters, signing, the retry schedule,
and what each attempt's outcome means. Pure: the queue, the table and HTTP are ports.

Filters use the SNS filter-policy syntax over the event's message attributes (`event_type`,
`activity_type`, `entity_type`, `contact_id`), this subset of it: a policy is an object whose
keys are attribute names and whose values are lists of conditions, any of which may match
(OR), every key having to match (AND); a condition is an exact string, `{"prefix": s}`,
`{"suffix": s}`, `{"equals-ignore-case": s}`, `{"exists": true|false}` or
`{"anything-but": s | [s, ...] | {"prefix": s}}`. `{}` matches every event. Numeric
matching, `$or` and nested (message-body) policies are refused as unsupported.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
import secrets as _secrets
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from enum import Enum
from typing import Any

from standardwebhooks import Webhook

FILTER_ATTRIBUTES = ("event_type", "activity_type", "entity_type", "contact_id")
"""The message attributes an endpoint filter may name (CONTRACT.md, Webhooks out)."""

SECRET_PREFIX = "whsec_"  # noqa: S105 - the Standard Webhooks prefix, not a secret
SECRET_BYTES = 32
"""Random bytes in a new secret (Standard Webhooks allows 24-64)."""

ENDPOINT_ID = re.compile(r"ep_[0-9a-f]{32}")

DISABLE_AFTER = timedelta(days=5)
"""An endpoint failing this long without a success is disabled (CONTRACT.md)."""

MAX_VISIBILITY_SECONDS = 43_200
"""SQS's longest visibility timeout (12 h): the longest one retry step can wait."""

JITTER = 0.1
"""Each retry waits its step ±10 %, so endpoints recovering from an outage are not hit at once."""

DEFAULT_SCHEDULE = "5s,5m,30m,2h,5h,10h,10h"

_DURATION = re.compile(r"(\d+)([smh])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}


class WebhookConfigError(ValueError):
    """An invalid filter, URL, secret or schedule; the message says what is wrong."""


# --- Secrets and signing ---------------------------------------------------------------------


def generate_secret(token_bytes: Callable[[int], bytes] = _secrets.token_bytes) -> str:
    """`whsec_` + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(token_bytes(SECRET_BYTES)).decode()


def check_secret(secret: str) -> None:
    if not secret.startswith(SECRET_PREFIX):
        raise WebhookConfigError("a signing secret starts with whsec_")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookConfigError("a signing secret is whsec_ + base64") from None
    if not 24 <= len(key) <= 64:
        raise WebhookConfigError("a signing secret holds 24 to 64 bytes")


@dataclass(frozen=True, slots=True)
class SigningSecret:
    value: str = field(repr=False)
    expires_at: datetime | None = None
    """Set on the old secret of a rotation: it signs alongside the new one until then."""

    def active(self, now: datetime) -> bool:
        return self.expires_at is None or now < self.expires_at


def signature_header(
    secrets: Sequence[SigningSecret], msg_id: str, timestamp: datetime, body: str
) -> str:
    """`v1,<base64>` per active secret, space-separated (several while a secret rotates)."""
    signatures = [
        Webhook(secret.value).sign(msg_id, timestamp, body)
        for secret in secrets
        if secret.active(timestamp)
    ]
    if not signatures:
        raise WebhookConfigError("the endpoint has no active signing secret")
    return " ".join(signatures)


def delivery_headers(
    secrets: Sequence[SigningSecret], msg_id: str, timestamp: datetime, body: str
) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt, signed afresh for its timestamp."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(timestamp.timestamp())),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
        "content-type": "application/json",
    }


# --- Endpoints -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    endpoint_id: str
    url: str
    secrets: tuple[SigningSecret, ...] = field(repr=False)
    filter_policy: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    enabled: bool = True
    disabled_reason: str | None = None
    created_at: datetime | None = None
    first_failure_at: datetime | None = None
    """The first failed attempt since the last success; None while healthy."""
    failure_streak: int = 0

    def rotated(self, new_secret: str, now: datetime, grace: timedelta) -> Endpoint:
        """The new secret signs from now; the current one alongside it until now + grace.
        Secrets already expired (an earlier rotation's) are dropped."""
        check_secret(new_secret)
        current = [s for s in self.secrets if s.active(now)]
        kept = [
            replace(s, expires_at=min(s.expires_at or now + grace, now + grace)) for s in current
        ][:1]
        return replace(self, secrets=(SigningSecret(new_secret), *kept))


def check_endpoint_id(endpoint_id: str) -> str:
    if not ENDPOINT_ID.fullmatch(endpoint_id):
        raise WebhookConfigError(f"not an endpoint id: {endpoint_id!r} (ep_ + 32 hex digits)")
    return endpoint_id


def new_endpoint_id(token_hex: Callable[[int], str] = _secrets.token_hex) -> str:
    return "ep_" + token_hex(16)


def check_url(url: str, *, allow_http: bool = False) -> str:
    """An https URL with a host (http too on a local stack that allows it)."""
    match = re.fullmatch(r"(https?)://([^/?#@\s]+)([/?#]\S*)?", url)
    if match is None:
        raise WebhookConfigError(f"not a URL with a host: {url!r}")
    if match.group(1) != "https" and not allow_http:
        raise WebhookConfigError(f"webhook URLs must be https: {url!r}")
    return url


# --- Filters ---------------------------------------------------------------------------------


def check_filter(policy: Any) -> Mapping[str, Any]:
    """The policy if it is one this module can evaluate, else WebhookConfigError saying why."""
    if not isinstance(policy, Mapping):
        raise WebhookConfigError("a filter is a JSON object of attribute name → list of values")
    for name, conditions in policy.items():
        if name not in FILTER_ATTRIBUTES:
            raise WebhookConfigError(
                f"filter attribute {name!r} is not one of {', '.join(FILTER_ATTRIBUTES)}"
            )
        if not isinstance(conditions, list) or not conditions:
            raise WebhookConfigError(f"filter {name!r}: a non-empty list of conditions")
        for condition in conditions:
            _check_condition(name, condition)
    return policy


def _check_condition(name: str, condition: Any) -> None:
    if isinstance(condition, str):
        return
    if isinstance(condition, Mapping) and len(condition) == 1:
        ((operator, operand),) = condition.items()
        if operator in ("prefix", "suffix", "equals-ignore-case") and isinstance(operand, str):
            return
        if operator == "exists" and isinstance(operand, bool):
            return
        if operator == "anything-but" and _anything_but_operand(operand):
            return
    raise WebhookConfigError(f"filter {name!r}: unsupported condition {condition!r}")


def _anything_but_operand(operand: Any) -> bool:
    if isinstance(operand, str):
        return True
    if isinstance(operand, list):
        return bool(operand) and all(isinstance(item, str) for item in operand)
    return (
        isinstance(operand, Mapping)
        and set(operand) == {"prefix"}
        and isinstance(operand["prefix"], str)
    )


def matches(policy: Mapping[str, Any], attributes: Mapping[str, str | None]) -> bool:
    """Whether an event with these message attributes passes the (checked) policy."""
    return all(
        any(_condition_holds(condition, attributes.get(name)) for condition in conditions)
        for name, conditions in policy.items()
    )


def _condition_holds(condition: Any, value: str | None) -> bool:
    if isinstance(condition, str):
        return value == condition
    ((operator, operand),) = condition.items()
    if operator == "exists":
        return (value is not None) is operand
    if value is None:
        return False  # as in SNS: every other operator needs the attribute present
    if operator == "prefix":
        return value.startswith(operand)
    if operator == "suffix":
        return value.endswith(operand)
    if operator == "equals-ignore-case":
        return value.casefold() == str(operand).casefold()
    # anything-but
    if isinstance(operand, str):
        return value != operand
    if isinstance(operand, list):
        return value not in operand
    return not value.startswith(operand["prefix"])


# --- The retry schedule ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """Waits between attempts: a delivery gets len(delays) + 1 attempts."""

    delays: tuple[int, ...]

    @classmethod
    def parse(cls, text: str) -> RetrySchedule:
        """`5s,5m,30m,2h` → seconds; each step 0 s to 12 h (SQS's longest visibility)."""
        delays: list[int] = []
        for part in (p.strip() for p in text.split(",")):
            match = _DURATION.fullmatch(part)
            if match is None:
                raise WebhookConfigError(
                    f"retry schedule step {part!r}: a whole number with s, m or h"
                )
            seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
            if seconds > MAX_VISIBILITY_SECONDS:
                raise WebhookConfigError(f"retry schedule step {part!r} is longer than 12 h")
            delays.append(seconds)
        return cls(tuple(delays))

    @property
    def attempts(self) -> int:
        return len(self.delays) + 1

    @property
    def retry_after_cap(self) -> int:
        """The longest wait a Retry-After can ask for: the schedule's longest step."""
        return max(self.delays, default=0)

    def delay_after(
        self, attempt: int, retry_after: int | None, uniform: Callable[[float, float], float]
    ) -> int:
        """Seconds to wait after failed attempt `attempt` (1-based): its step with jitter, or
        longer if the endpoint's Retry-After asks (capped at the schedule's longest step)."""
        step = self.delays[attempt - 1]
        jittered = round(step * uniform(1 - JITTER, 1 + JITTER))
        if retry_after is not None:
            jittered = max(jittered, min(retry_after, self.retry_after_cap))
        return max(0, min(jittered, MAX_VISIBILITY_SECONDS))


def parse_retry_after(value: str | None, now: datetime) -> int | None:
    """Retry-After as seconds from `now`: delta-seconds or an HTTP date; None if unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return int(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(0, math.ceil((when - now).total_seconds()))


# --- Attempts and what they mean -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AttemptOutcome:
    """What one POST came to: a status, or an error (timeout, refused, blocked)."""

    status: int | None
    error: str | None = None
    retry_after: str | None = None
    duration_ms: int = 0
    blocked: bool = False
    """Refused before sending (not https, address not public): nothing went out."""

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300

    def describe(self) -> str:
        return str(self.status) if self.status is not None else (self.error or "no response")


class Action(Enum):
    DELIVERED = "delivered"
    RETRY = "retry"
    DEAD_LETTER = "dead_letter"


@dataclass(frozen=True, slots=True)
class Verdict:
    action: Action
    delay_seconds: int = 0
    disable_reason: str | None = None
    """Set when this outcome disables the endpoint (410, or failing for DISABLE_AFTER)."""
    reason: str = ""


def decide(
    outcome: AttemptOutcome,
    *,
    attempt: int,
    schedule: RetrySchedule,
    failing_since: datetime | None,
    now: datetime,
    uniform: Callable[[float, float], float],
) -> Verdict:
    """The fate of a delivery after attempt `attempt`, and of its endpoint.

    `failing_since` is the endpoint's first failure since its last success, this one included.
    """
    if outcome.delivered:
        return Verdict(Action.DELIVERED, reason=outcome.describe())
    if outcome.status == 410:
        return Verdict(
            Action.DEAD_LETTER, disable_reason="the endpoint answered 410 Gone", reason="410"
        )
    if failing_since is not None and now - failing_since >= DISABLE_AFTER:
        return Verdict(
            Action.DEAD_LETTER,
            disable_reason=(
                f"failing without a success since {failing_since.isoformat()} "
                f"({DISABLE_AFTER.days} days)"
            ),
            reason=outcome.describe(),
        )
    if outcome.blocked:
        # The same URL resolves the same way next time: retrying cannot help.
        return Verdict(Action.DEAD_LETTER, reason=outcome.describe())
    if attempt >= schedule.attempts:
        return Verdict(
            Action.DEAD_LETTER, reason=f"{outcome.describe()} after {attempt} attempt(s)"
        )
    retry_after = parse_retry_after(outcome.retry_after, now)
    return Verdict(
        Action.RETRY,
        delay_seconds=schedule.delay_after(attempt, retry_after, uniform),
        reason=outcome.describe(),
    )


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt, as `relay webhooks show` lists it."""

    endpoint_id: str
    event_id: str
    attempt: int
    at: datetime
    status: int | None
    error: str | None
    duration_ms: int
    action: str
    """delivered / retry / dead_letter"""
