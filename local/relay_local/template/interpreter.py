"""template.yaml read as CloudFormation reads it, without creating anything.

Loading (the short-form tags ``!Ref``, ``!GetAtt``, ``!Sub``, ... as their long forms), the
parameters (defaults, overrides and CloudFormation's checks of them), the conditions, the
intrinsic functions (``Ref``, ``Fn::GetAtt``, ``Fn::Sub``, ``Fn::If``, ``Fn::Join``,
``Fn::Select``, ``Fn::Split``, ``Fn::FindInMap``) and the order in which resources must be
created so that each one's references exist first.

    template = load_template()
    parameters = resolve_parameters(template, {"MaxReceiveCount": 3})
    resolver = Resolver(template, parameters, resources, stack_name="relay-local",
                        region="us-east-1", account_id="123456789012")
    for logical_id in creation_order(template, resolver, {"AWS::SQS::Queue"}): ...

``resources`` is the caller's mapping of what it has created so far (``ProvisionedResource``:
what ``Ref`` and ``Fn::GetAtt`` give for each); the resolver reads it as it grows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml  # type: ignore[import-untyped, unused-ignore]

__all__ = [
    "TEMPLATE_PATH",
    "ProvisionedResource",
    "Resolver",
    "TemplateError",
    "creation_order",
    "load_template",
    "resolve_parameters",
    "scalar_str",
]

TEMPLATE_PATH: Final = Path(__file__).resolve().parents[3] / "template.yaml"
"""The repository's template.yaml."""


class TemplateError(Exception):
    """The template (or a parameter override) cannot be provisioned locally."""


class _Unresolvable(TemplateError):
    """A value refers to something that does not exist locally (e.g. the Lambda function)."""


# --- Reading the template ------------------------------------------------------------------------


class _CfnLoader(yaml.SafeLoader):  # type: ignore[misc, unused-ignore]
    """SafeLoader that reads CloudFormation short forms (!Ref, !GetAtt, !Sub, ...) as long ones."""


def _construct_short_form(loader: Any, tag_suffix: str, node: Any) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CfnLoader.add_multi_constructor("!", _construct_short_form)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    """The template as plain data, short-form tags turned into their long forms."""
    with Path(path).open(encoding="utf-8") as stream:
        loaded = yaml.load(stream, Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass
    if not isinstance(loaded, dict) or not isinstance(loaded.get("Resources"), dict):
        raise TemplateError(f"{path}: not a CloudFormation template (no Resources)")
    return loaded


def resolve_parameters(
    template: Mapping[str, Any], overrides: Mapping[str, str | int] | None = None
) -> dict[str, str | None]:
    """Every template parameter's value: the override, else the default, else None.

    Overrides are checked as CloudFormation would (AllowedValues, MinValue/MaxValue,
    AllowedPattern, MinLength); a name the template does not declare is an error.
    """
    declared: Mapping[str, Any] = template.get("Parameters") or {}
    unknown = sorted(set(overrides or {}) - set(declared))
    if unknown:
        raise TemplateError(f"unknown parameter(s): {', '.join(unknown)}")
    values: dict[str, str | None] = {}
    for name, spec in declared.items():
        if overrides and name in overrides:
            value: str | None = str(overrides[name])
        elif "Default" in spec:
            value = scalar_str(spec["Default"])
        else:
            value = None
        if value is not None:
            _check_parameter(name, spec, value)
        values[name] = value
    return values


def _check_parameter(name: str, spec: Mapping[str, Any], value: str) -> None:
    allowed = spec.get("AllowedValues")
    if allowed is not None and value not in {scalar_str(v) for v in allowed}:
        raise TemplateError(f"parameter {name}={value!r} is not one of {allowed}")
    if spec.get("Type") == "Number":
        try:
            number = float(value)
        except ValueError:
            raise TemplateError(f"parameter {name}={value!r} is not a number") from None
        if "MinValue" in spec and number < float(spec["MinValue"]):
            raise TemplateError(f"parameter {name}={value} is below {spec['MinValue']}")
        if "MaxValue" in spec and number > float(spec["MaxValue"]):
            raise TemplateError(f"parameter {name}={value} is above {spec['MaxValue']}")
    if "MinLength" in spec and len(value) < int(spec["MinLength"]):
        raise TemplateError(f"parameter {name} is shorter than {spec['MinLength']}")
    pattern = spec.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), value) is None:
        raise TemplateError(f"parameter {name}={value!r} does not match {pattern}")


def scalar_str(value: Any) -> str:
    """A template scalar as CloudFormation passes it on: booleans lower-case, numbers as text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise TemplateError(f"expected a scalar, got {value!r}")


# --- Resolving intrinsic functions ---------------------------------------------------------------

_NO_VALUE: Final = object()
_SUB_VARIABLE: Final = re.compile(r"\$\{(!?)([^}]+)\}")


@dataclass(frozen=True)
class ProvisionedResource:
    """One created resource: what ``Ref`` and ``Fn::GetAtt`` give for it."""

    logical_id: str
    type: str
    ref: str
    attributes: Mapping[str, str]


class Resolver:
    """Evaluates Ref, Fn::GetAtt, Fn::Sub, Fn::If, ... against parameters and created resources.

    ``resources`` is read, never copied: what the caller adds to it later resolves too.
    """

    def __init__(
        self,
        template: Mapping[str, Any],
        parameters: Mapping[str, str | None],
        resources: Mapping[str, ProvisionedResource],
        *,
        stack_name: str,
        region: str,
        account_id: str,
    ) -> None:
        self._template = template
        self._parameters = parameters
        self._pseudo = _pseudo_parameters(stack_name, region, account_id)
        self._resources = resources

    def resolve(self, value: Any) -> Any:
        """The fragment with every intrinsic function evaluated (``AWS::NoValue`` left out)."""
        result = self._resolve(value)
        return None if result is _NO_VALUE else result

    def condition(self, name: str) -> bool:
        """Whether the template's condition ``name`` holds."""
        conditions: Mapping[str, Any] = self._template.get("Conditions") or {}
        if name not in conditions:
            raise TemplateError(f"unknown condition {name}")
        return self._condition_value(conditions[name])

    def outputs(self) -> dict[str, str]:
        """Every Output whose condition holds and whose value resolves locally, by name."""
        outputs: dict[str, str] = {}
        for name, output in (self._template.get("Outputs") or {}).items():
            if "Condition" in output and not self.condition(output["Condition"]):
                continue
            try:
                outputs[name] = scalar_str(self.resolve(output["Value"]))
            except _Unresolvable:
                continue  # e.g. the function's name: not created locally
        return outputs

    def _condition_value(self, expression: Any) -> bool:
        if isinstance(expression, Mapping) and len(expression) == 1:
            ((function, argument),) = expression.items()
            if function == "Condition":
                return self.condition(str(argument))
            if function == "Fn::Equals":
                left, right = (scalar_str(self._resolve(item)) for item in argument)
                return left == right
            if function == "Fn::Not":
                return not self._condition_value(argument[0])
            if function == "Fn::And":
                return all(self._condition_value(item) for item in argument)
            if function == "Fn::Or":
                return any(self._condition_value(item) for item in argument)
        raise TemplateError(f"unsupported condition expression: {expression!r}")

    def _resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            items = (self._resolve(item) for item in value)
            return [item for item in items if item is not _NO_VALUE]
        if not isinstance(value, Mapping):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            handler = self._functions.get(key)
            if handler is not None:
                return handler(self, argument)
            if key.startswith("Fn::"):
                raise TemplateError(f"intrinsic function {key} is not supported locally")
        resolved = {key: self._resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not _NO_VALUE}

    def _ref(self, name: Any) -> Any:
        name = str(name)
        if name == "AWS::NoValue":
            return _NO_VALUE
        if name in self._pseudo:
            return self._pseudo[name]
        if name in self._parameters:
            value = self._parameters[name]
            if value is None:
                raise TemplateError(f"parameter {name} has no default; pass it as an override")
            return value
        if name in self._resources:
            return self._resources[name].ref
        raise _Unresolvable(f"Ref {name}: not a parameter or a locally provisioned resource")

    def _get_att(self, argument: Any) -> Any:
        logical_id, attribute = (str(part) for part in self._resolve(argument))
        resource = self._resources.get(logical_id)
        if resource is None:
            raise _Unresolvable(f"GetAtt {logical_id}.{attribute}: not provisioned locally")
        try:
            return resource.attributes[attribute]
        except KeyError:
            raise TemplateError(
                f"GetAtt {logical_id}.{attribute}: attribute unknown locally "
                f"(known: {', '.join(sorted(resource.attributes))})"
            ) from None

    def _sub(self, argument: Any) -> Any:
        if isinstance(argument, list):
            text, variables = str(argument[0]), self._resolve(argument[1])
        else:
            text, variables = str(argument), {}

        def replace(match: re.Match[str]) -> str:
            literal, name = match.groups()
            if literal:
                return "${" + name + "}"
            if name in variables:
                return scalar_str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                return scalar_str(self._get_att(name.split(".", 1)))
            return scalar_str(self._ref(name))

        return _SUB_VARIABLE.sub(replace, text)

    def _if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self._resolve(when_true if self.condition(str(name)) else when_false)

    def _join(self, argument: Any) -> Any:
        delimiter, items = argument
        return str(delimiter).join(scalar_str(item) for item in self._resolve(items))

    def _select(self, argument: Any) -> Any:
        index, items = argument
        return self._resolve(items)[int(scalar_str(self._resolve(index)))]

    def _split(self, argument: Any) -> Any:
        delimiter, text = argument
        return scalar_str(self._resolve(text)).split(str(delimiter))

    def _find_in_map(self, argument: Any) -> Any:
        map_name, top_key, second_key = (scalar_str(part) for part in self._resolve(argument))
        mappings: Mapping[str, Any] = self._template.get("Mappings") or {}
        try:
            top = {str(key): item for key, item in mappings[map_name].items()}
            return self._resolve(top[top_key][second_key])
        except KeyError:
            raise TemplateError(
                f"FindInMap {map_name}/{top_key}/{second_key}: no such entry"
            ) from None

    _functions: Final[Mapping[str, Callable[[Resolver, Any], Any]]] = {
        "Ref": _ref,
        "Fn::GetAtt": _get_att,
        "Fn::Sub": _sub,
        "Fn::If": _if,
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::FindInMap": _find_in_map,
    }


def _pseudo_parameters(stack_name: str, region: str, account_id: str) -> dict[str, str]:
    return {
        "AWS::StackName": stack_name,
        "AWS::Region": region,
        "AWS::AccountId": account_id,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackId": f"arn:aws:cloudformation:{region}:{account_id}:stack/{stack_name}/local",
    }


# --- Creation order ------------------------------------------------------------------------------


def creation_order(
    template: Mapping[str, Any], resolver: Resolver, types: Collection[str]
) -> list[str]:
    """The resources of ``types`` whose Condition holds, each after those it refers to."""
    declared: Mapping[str, Any] = template["Resources"]
    wanted = [
        logical_id
        for logical_id, declaration in declared.items()
        if declaration.get("Type") in types
        and ("Condition" not in declaration or resolver.condition(declaration["Condition"]))
    ]
    order: list[str] = []
    visiting: set[str] = set()

    def visit(logical_id: str) -> None:
        if logical_id in order:
            return
        if logical_id in visiting:
            raise TemplateError(f"circular reference through {logical_id}")
        visiting.add(logical_id)
        declaration = declared[logical_id]
        depends_on = declaration.get("DependsOn") or []
        references = _references(declaration.get("Properties")) | set(
            [depends_on] if isinstance(depends_on, str) else depends_on
        )
        for other in sorted(references & set(wanted)):
            visit(other)
        visiting.discard(logical_id)
        order.append(logical_id)

    for logical_id in wanted:
        visit(logical_id)
    return order


def _references(value: Any) -> set[str]:
    """Logical ids (or parameter names) a template fragment refers to."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Ref":
                found.add(str(item))
            elif key == "Fn::GetAtt":
                parts = item.split(".", 1) if isinstance(item, str) else item
                found.add(str(parts[0]))
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found |= {
                    name.split(".", 1)[0]
                    for literal, name in _SUB_VARIABLE.findall(str(text))
                    if not literal
                }
                if isinstance(item, list):
                    found |= _references(item[1:])
            else:
                found |= _references(item)
    return found
