"""checkov's skips are reasons a reader can check: each has one, the three the audit found
false are corrected, and `make lint` scans the template as SAM expands it too, where the
receiver's Function URL (AuthType NONE) shows and is skipped for the reason that holds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from relay_local.template import load_template
from relay_local.template.expanded import expanded_template

ROOT = Path(__file__).resolve().parents[3]
TEMPLATE = load_template()


def skips(resource: dict[str, Any]) -> dict[str, str]:
    found = ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip") or []
    return {skip["id"]: " ".join(str(skip.get("comment", "")).split()) for skip in found}


def every_skip() -> list[tuple[str, str, str]]:
    return [
        (logical_id, check, comment)
        for logical_id, resource in TEMPLATE["Resources"].items()
        for check, comment in skips(resource).items()
    ]


@pytest.mark.parametrize(("logical_id", "check", "comment"), every_skip())
def test_every_skip_gives_its_reason(logical_id: str, check: str, comment: str) -> None:
    assert len(comment) > 40, f"{logical_id} skips {check} without a reason"


def test_make_lint_runs_checkov_on_the_expanded_template_too() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("\nlint-template:") :].split("\n\n", 1)[0]

    assert "relay_local.template.expanded $(EXPANDED_TEMPLATE)" in recipe
    assert "for file in template.yaml $(EXPANDED_TEMPLATE)" in recipe


def test_the_function_urls_authtype_none_is_skipped_for_the_signature() -> None:
    expanded = expanded_template()
    url = expanded["Resources"]["ReceiveWebhooksFunctionUrl"]

    assert url["Properties"]["AuthType"] == "NONE"
    reason = skips(url)["CKV_AWS_258"]
    assert "HMAC" in reason
    assert "X-LeadLex-Signature" in reason


def test_the_log_groups_do_not_claim_to_hold_no_personal_data() -> None:
    for logical_id, resource in TEMPLATE["Resources"].items():
        if resource["Type"] == "AWS::Logs::LogGroup":
            reason = skips(resource)["CKV_AWS_158"]
            assert "contact" in reason, logical_id
            assert not re.search(r"not secrets or personal data|adds cost only", reason)


def test_the_endpoint_tables_skip_does_not_claim_protection_it_lacks() -> None:
    reason = skips(TEMPLATE["Resources"]["WebhookEndpointTable"])["CKV_AWS_119"]

    assert "not protection from readers" not in reason
    assert "signing secrets" in reason


@pytest.mark.parametrize(
    ("function_id", "parameter"),
    [
        ("FanOutWebhooksFunction", "WebhookFanOutMaximumConcurrency"),
        ("DeliverWebhooksFunction", "WebhookDeliveryMaximumConcurrency"),
    ],
)
def test_the_webhook_functions_concurrency_is_bounded_as_their_skips_say(
    function_id: str, parameter: str
) -> None:
    function = TEMPLATE["Resources"][function_id]
    assert parameter in skips(function)["CKV_AWS_115"]
    for name, event in function["Properties"]["Events"].items():
        scaling = event["Properties"].get("ScalingConfig") or {}
        assert scaling.get("MaximumConcurrency") == {"Ref": parameter}, name
