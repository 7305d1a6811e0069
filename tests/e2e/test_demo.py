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
    first, second = text.split("== Round 2")
    for round_ in (first, second):
        assert re.search(r"^\s+topic\s+\S+\s+(call|meeting)\s", round_, re.MULTILINE)
        assert re.search(r"^\s+bus\s+\S+\s+\w+\s", round_, re.MULTILINE)
        assert "— as expected" in round_
    assert len(re.findall(r"^\s+bus\s", second, re.MULTILINE)) == 3, "only the new activities"
    assert "everything started has stopped" in text
