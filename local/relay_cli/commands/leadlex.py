"""``relay leadlex register-webhook``: subscribe the stack's receiver to LeadLex's
``activity.created`` and keep the signing secret LeadLex shows once.

The URL defaults to the stack's ``WebhookUrl`` Output (the receiver's Function URL), the API key
to ``LEADLEX_API_KEY`` or else the key's secret (``--api-key-secret-id``, or the deployed stack's
``LeadLexApiKeySecret`` parameter), the API base to ``--base-url``, ``LEADLEX_API_BASE_URL``, the
local stack's sandbox, or LeadLex's own. The returned secret goes into the stack's
``WebhookSecretArn`` secret, where the receiver reads it without a redeploy.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import IO, Any

import requests
from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.runtime.sync import DEFAULT_API_BASE_URL
from relay_cli.exit_status import EXIT_PARTIAL, EXIT_USAGE
from relay_cli.target import STATE_FILE, Target, UsageError

EVENTS = ("activity.created",)
DESCRIPTION = "LeadLex activity relay: activity.created → contact queue"


def add_parser(commands: Any) -> None:
    """`relay leadlex …` and its sub-commands."""
    leadlex = commands.add_parser("leadlex", help="LeadLex itself: webhook registration")
    actions = leadlex.add_subparsers(dest="leadlex_command", required=True, metavar="ACTION")
    register = actions.add_parser(
        "register-webhook",
        help="register the receiver for activity.created and store the signing secret",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    register.add_argument("--url", help="the receiver's URL (default: the stack's WebhookUrl)")
    register.add_argument("--base-url", help="LeadLex API base, without /v1")
    register.add_argument("--api-key-secret-id", help="Secrets Manager id of the LeadLex key")
    register.add_argument(
        "--webhook-secret-id", help="where to store the secret (default: WebhookSecretArn)"
    )
    register.add_argument(
        "--description", default=DESCRIPTION, help="what LeadLex shows for the registration"
    )
    register.add_argument(
        "--print-secret", action="store_true", help="print the secret instead of storing it"
    )
    register.set_defaults(run=run_register)


def run_register(args: argparse.Namespace, target: Target, out: IO[str], err: IO[str]) -> int:
    url = args.url or target.outputs.get("WebhookUrl")
    if not url:
        raise UsageError("no receiver URL: pass --url, or --stack-name of a deployed stack")
    base_url = _base_url(args, target)
    api_key = _api_key(args, target)
    store_in = (
        None
        if args.print_secret
        else args.webhook_secret_id or target.outputs.get("WebhookSecretArn")
    )

    try:
        secret = register_webhook(base_url, api_key, url, description=args.description)
    except DuplicateWebhook:
        print(
            f"relay: LeadLex has a webhook for {url} already (409 duplicate_webhook). It shows "
            "a secret only when registering: delete that webhook in LeadLex and run this again, "
            "or, if you kept its secret, store it with\n"
            f"  aws secretsmanager put-secret-value --secret-id {store_in or '<WebhookSecretArn>'}"
            " --secret-string '<the secret>'",
            file=err,
        )
        return EXIT_USAGE
    except RegistrationFailed as failed:
        print(f"relay: {failed}", file=err)
        return EXIT_USAGE

    print(f"registered {url} for {', '.join(EVENTS)} with LeadLex ({base_url})", file=out)
    if store_in is None:
        print(
            "signing secret (shown once; store it where the receiver reads it, e.g. "
            "aws secretsmanager put-secret-value --secret-id <WebhookSecretArn> "
            f"--secret-string …):\n{secret}",
            file=out,
        )
        return 0
    try:
        target.session().client(
            "secretsmanager", endpoint_url=target.endpoint_url
        ).put_secret_value(SecretId=store_in, SecretString=secret)
    except (BotoCoreError, ClientError, UsageError) as error:
        # LeadLex will not show this secret again: it must not be lost with the error. The
        # registration is done, the storing not: partly done.
        print(
            f"relay: could not store the secret in {store_in} ({error}); store it there by "
            f"hand:\n{secret}",
            file=err,
        )
        return EXIT_PARTIAL
    print(
        f"signing secret stored in {store_in}; the receiver reads it on the next delivery "
        "(no redeploy)",
        file=out,
    )
    return 0


class RegistrationFailed(Exception):
    """LeadLex refused the registration, or answered without a secret."""


class DuplicateWebhook(RegistrationFailed):
    """409 duplicate_webhook: the URL is registered already (and its secret not shown again)."""


def register_webhook(
    base_url: str, api_key: str, url: str, *, description: str = DESCRIPTION
) -> str:
    """Register `url` for activity.created with LeadLex; the signing secret it returns once."""
    try:
        response = requests.post(
            f"{base_url.rstrip('/')}/v1/webhooks",
            json={"url": url, "events": list(EVENTS), "description": description, "active": True},
            headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
            timeout=15,
            allow_redirects=False,
        )
    except requests.RequestException as error:
        raise RegistrationFailed(f"could not reach LeadLex at {base_url}: {error}") from None
    code, message = _error(response)
    if response.status_code == 409 or code == "duplicate_webhook":
        raise DuplicateWebhook(f"{url} is registered already")
    if response.status_code >= 300:
        request_id = response.headers.get("X-Request-ID", "-")
        raise RegistrationFailed(
            f"LeadLex answered {response.status_code} {code or '-'}: {message or '-'} "
            f"(X-Request-ID {request_id})"
        )
    secret = _secret(response)
    if secret is None:
        raise RegistrationFailed("LeadLex registered the webhook but returned no secret")
    return secret


def _base_url(args: argparse.Namespace, target: Target) -> str:
    base = args.base_url or os.environ.get("LEADLEX_API_BASE_URL")
    if not base and target.local:
        state_file = Path(args.state_file or os.environ.get("RELAY_STATE_FILE") or STATE_FILE)
        if state_file.exists():
            base = json.loads(state_file.read_text(encoding="utf-8")).get("leadlex_base_url")
    return str(base or DEFAULT_API_BASE_URL).rstrip("/")


def _api_key(args: argparse.Namespace, target: Target) -> str:
    key = os.environ.get("LEADLEX_API_KEY", "").strip()
    if key:
        return key
    secret_id = args.api_key_secret_id or _stack_parameter(args, target, "LeadLexApiKeySecret")
    if not secret_id:
        raise UsageError(
            "no LeadLex key: set LEADLEX_API_KEY, pass --api-key-secret-id, or --stack-name"
        )
    client = target.session().client("secretsmanager", endpoint_url=target.endpoint_url)
    text = client.get_secret_value(SecretId=secret_id).get("SecretString", "").strip()
    if text.startswith("{"):
        text = str(json.loads(text).get("api_key", "")).strip()
    if not text:
        raise UsageError(f"secret {secret_id} holds no LeadLex key")
    return text


def _stack_parameter(args: argparse.Namespace, target: Target, name: str) -> str | None:
    stack_name = args.stack_name or os.environ.get("RELAY_STACK_NAME")
    if not stack_name:
        return None
    cloudformation: Any = target.session().client(
        "cloudformation", endpoint_url=target.endpoint_url
    )
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    for parameter in stack.get("Parameters", []):
        if parameter.get("ParameterKey") == name:
            return str(parameter.get("ParameterValue") or "") or None
    return None


def _error(response: requests.Response) -> tuple[str | None, str | None]:
    try:
        error = response.json().get("error") or {}
    except (ValueError, AttributeError):
        return None, None
    if not isinstance(error, dict):
        return None, None
    return error.get("code"), error.get("message")


def _secret(response: requests.Response) -> str | None:
    """The secret wherever the answer carries it: `data.secret`, `data.webhook.secret`, or
    `secret` (the docs show no example)."""
    try:
        document = response.json()
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    data = _object(document.get("data"))
    webhook = _object(data.get("webhook"))
    for candidate in (data.get("secret"), webhook.get("secret"), document.get("secret")):
        if isinstance(candidate, str) and candidate.strip():
            return candidate.strip()
    return None


def _object(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}
