"""template.yaml as CloudFormation receives it: SAM's transform applied, offline.

`make lint` runs checkov on this too (the raw template hides what SAM generates: the functions'
roles and their managed policies, the Function URL and its AuthType, event source mappings), and
tests/integration/test_least_privilege.py reads the roles from it.

    python -m relay_local.template.expanded .aws-sam/expanded-template.json

samtranslator needs no AWS: local CodeUri/ContentUri paths become placeholder S3 URIs (what `sam
package` would put there) and no managed policy name needs looking up (the template names
policies by ARN or through SAM's policy templates).

checkov's skips (`Metadata.checkov.skip`, each with its reason) are written on the
AWS::Serverless::Function in template.yaml; SAM carries them to the AWS::Lambda::Function only,
so they are copied here to the resources SAM generates from that function (its Function URL,
role, event source mappings...), whose names start with the function's.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

from relay_local.template.interpreter import TEMPLATE_PATH

REGION = "us-east-1"


class _NoManagedPolicyNames:
    """What samtranslator asks IAM for (managed policy names → ARNs): none are used."""

    def load(self) -> dict[str, str]:
        return {}


def expanded_template(
    path: Path | str = TEMPLATE_PATH, parameter_overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The template after SAM's transform, with these parameter values (defaults otherwise)."""
    template = yaml_parse(Path(path).read_text(encoding="utf-8"))
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            location = properties.get(key)
            if isinstance(location, str) and not location.startswith("s3://"):
                properties[key] = f"s3://packaged/{location.strip('/')}"
    # samtranslator fills AWS::Region from the environment's default region.
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    parameters = {name: str(value) for name, value in (parameter_overrides or {}).items()}
    expanded: dict[str, Any] = transform(template, parameters, _NoManagedPolicyNames())
    _carry_checkov_skips(template, expanded)
    return expanded


def _carry_checkov_skips(template: Mapping[str, Any], expanded: dict[str, Any]) -> None:
    generated = expanded.get("Resources", {})
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        skips = ((resource.get("Metadata") or {}).get("checkov") or {}).get("skip")
        if not skips:
            continue
        for name, made in generated.items():
            if name != logical_id and name.startswith(logical_id) and "Metadata" not in made:
                made["Metadata"] = {"checkov": {"skip": copy.deepcopy(skips)}}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        raise SystemExit("usage: python -m relay_local.template.expanded OUTPUT.json")
    output = Path(args[0])
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(expanded_template(), indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
