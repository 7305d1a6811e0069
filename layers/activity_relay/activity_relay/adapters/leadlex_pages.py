"""A page of `GET /v1/contacts/{id}/activities`, read: the body LeadLex sent → an ActivityPage,
or the reason it is not one. Pure: the client (leadlex.py) does the HTTP.

Nothing doubtful is accepted. A short page above all: it would let the engine believe it has
seen everything, so a page holding fewer activities than `meta.total` implies is refused.
"""

from __future__ import annotations

import json
from typing import Any, TypeGuard

from activity_relay.core.model import Activity, ActivityPage


class UnreadablePage(ValueError):
    """The body is not a valid page; str() says what is wrong with it."""


def parse_page(body: bytes, *, page: int, per_page: int, requests: int = 1) -> ActivityPage:
    """Page `page` of `per_page`, as the body says; UnreadablePage else."""
    try:
        document = json.loads(body)
    except ValueError:
        raise UnreadablePage("body is not JSON") from None
    if not isinstance(document, dict):
        raise UnreadablePage("body is not a JSON object")
    data, meta = document.get("data"), document.get("meta")
    if not isinstance(data, dict) or not isinstance(data.get("activities"), list):
        raise UnreadablePage("data.activities is not a list")
    if not isinstance(meta, dict):
        raise UnreadablePage("meta is not an object")
    total = meta.get("total")
    if not _is_int(total) or total < 0:
        raise UnreadablePage(f"meta.total is not a non-negative integer: {total!r}")
    for name, expected in (("page", page), ("per_page", per_page)):
        if name in meta and meta[name] != expected:
            raise UnreadablePage(f"meta.{name} is {meta[name]!r}, asked for {expected}")
    items: list[Any] = data["activities"]
    if len(items) > per_page:
        raise UnreadablePage(f"{len(items)} activities on a page of {per_page}")
    expected_count = min(per_page, max(0, total - (page - 1) * per_page))
    if len(items) < expected_count:
        raise UnreadablePage(
            f"page {page} holds {len(items)} activities where meta.total={total} "
            f"implies {expected_count}"
        )
    activities = []
    for item in items:
        if not isinstance(item, dict):
            raise UnreadablePage("an activity is not a JSON object")
        try:
            activities.append(Activity.from_api(item))
        except ValueError as error:
            raise UnreadablePage(str(error)) from None
    return ActivityPage(
        number=page,
        per_page=per_page,
        total=total,
        activities=tuple(activities),
        requests=requests,
    )


def _is_int(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)
