"""`make demo` end to end: its four rounds, both subscribers, the ending's `relay events show`,
exit status 0."""

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
    _, rest = rest.split("== Round 4")
    fourth, ending = rest.split("== Did round 3's note reach its endpoints?")
    for round_ in (first, second, fourth):
        assert re.search(r"^\s+topic\s+\S+\s+(call|meeting)\s", round_, re.MULTILINE)
        assert re.search(r"^\s+bus\s+\S+\s+\w+\s", round_, re.MULTILINE)
        assert "— as expected" in round_
    assert len(re.findall(r"^\s+bus\s", second, re.MULTILINE)) == 3, "only the new activities"
    # Round 2: the webhooks carried the two new activities, a poll found the backdated one
    assert len(re.findall(r"^\s+bus\s.*\swebhook\s", second, re.MULTILINE)) == 2
    assert len(re.findall(r"^\s+bus\s.*\spoll\s", second, re.MULTILINE)) == 1
    # Round 4: nothing enqueued by hand; LeadLex's signed webhooks carried the two activities,
    # published at once with no LeadLex request (the fast path)
    assert len(re.findall(r"signed webhook → 202$", fourth, re.MULTILINE)) == 2
    assert "from the webhooks: 0 LeadLex request(s)" in fourth
    assert len(re.findall(r"^\s+bus\s.*\swebhook\s", fourth, re.MULTILINE)) == 2
    # The ending: `relay events show` of round 3's note, its publication and signed deliveries
    assert "$ relay events show act_" in ending
    assert re.search(r"^\s+type\s+note$", ending, re.MULTILINE)
    assert "published once:" in ending
    assert re.search(r"^\s+\S+\s+via (webhook|poll)$", ending, re.MULTILINE)
    assert "each POST signed (webhook-id = the event id)" in ending
    assert len(re.findall(r"  delivered after 1 attempt\(s\)$", ending, re.MULTILINE)) == 1
    assert len(re.findall(r"  delivered after 3 attempt\(s\)$", ending, re.MULTILINE)) == 1
    assert len(re.findall(r"^\s+#\d  \S+  HTTP 500 .* retry$", ending, re.MULTILINE)) == 2
    assert "— as expected" in ending
    assert "everything started has stopped" in text
