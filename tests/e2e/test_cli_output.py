"""What the relay CLI prints for people is plain words: no Python reprs (True, None, {...})."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from relay_cli.plain import plain
from relay_local.embedded import EmbeddedRelay
from tests.support.embedded import run_cli

pytestmark = pytest.mark.e2e

PYTHON_REPR = re.compile(r"\b(True|False|None)\b")


def test_webhooks_show_prints_plain_values(relay: EmbeddedRelay, state_file: Path) -> None:
    # Given an endpoint that is enabled, has never failed and has no description
    added = run_cli(state_file, "webhooks", "add", "http://127.0.0.1:9/hook", "--json")
    endpoint_id = json.loads(added.out)["endpoint_id"]

    shown = run_cli(state_file, "webhooks", "show", endpoint_id)

    assert shown.status == 0, shown.err
    assert not PYTHON_REPR.search(shown.out), shown.out
    for field, value in (("enabled", "yes"), ("disabled_reason", "-"), ("secrets_sealed", "yes")):
        assert re.search(rf"^{field} +{re.escape(value)}$", shown.out, re.MULTILINE), field


@pytest.mark.parametrize(
    ("value", "shown"),
    [(True, "yes"), (False, "no"), (None, "-"), ({"a": [1]}, '{"a": [1]}'), ("x", "x"), (3, "3")],
)
def test_plain_values(value: object, shown: str) -> None:
    assert plain(value) == shown
