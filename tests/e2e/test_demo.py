"""`make demo` end to end: both rounds, both subscribers, exit status 0."""

from __future__ import annotations

import io
import re

import pytest

from relay_local import demo

pytestmark = pytest.mark.e2e


def test_the_demo_shows_both_subscribers_and_then_only_what_is_new() -> None:
    out = io.StringIO()

    status = demo.main([], out=out)

    text = out.getvalue()
    assert status == 0, text
    first, rest = text.split("== Round 2")
    second, rest = rest.split("== Round 3")
    _, fourth = rest.split("== Round 4")
    for round_ in (first, second, fourth):
        assert re.search(r"^\s+topic\s+\S+\s+(call|meeting)\s", round_, re.MULTILINE)
        assert re.search(r"^\s+bus\s+\S+\s+\w+\s", round_, re.MULTILINE)
        assert "— as expected" in round_
    assert len(re.findall(r"^\s+bus\s", second, re.MULTILINE)) == 3, "only the new activities"
    # Round 4: nothing enqueued by hand; LeadLex's signed webhooks brought the two activities.
    assert len(re.findall(r"signed webhook → 202$", fourth, re.MULTILINE)) == 2
    assert len(re.findall(r"^\s+bus\s", fourth, re.MULTILINE)) == 2
    assert "everything started has stopped" in text
