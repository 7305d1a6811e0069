"""Endpoint filters: which events an endpoint receives.

Filters use the SNS filter-policy syntax over the event's message attributes (`event_type`,
`activity_type`, `entity_type`, `contact_id`), this subset of it: a policy is an object whose
keys are attribute names and whose values are lists of conditions, any of which may match
(OR), every key having to match (AND); a condition is an exact string, `{"prefix": s}`,
`{"suffix": s}`, `{"equals-ignore-case": s}`, `{"exists": true|false}` or
`{"anything-but": s | [s, ...] | {"prefix": s}}`. `{}` matches every event. Numeric
matching, `$or` and nested (message-body) policies are refused as unsupported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from activity_relay.core.contracts.event_document import FILTER_ATTRIBUTES
from activity_relay.core.webhooks_out.ports import WebhookConfigError


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
