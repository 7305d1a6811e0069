"""Secrets Manager: the only code that reads secrets (the LeadLex API key, webhook secrets).

Values are cached per container by Powertools Parameters for MAX_AGE_SECONDS; `refresh=True`
fetches afresh, for a caller that has just seen a secret fail (a rotated key or signing secret
then needs no redeploy). The value is never logged and never part of an error message.

The Secrets Manager client is the caller's (`connect`), from the session and retry settings of
its other clients: a second boto3 session would load botocore's data files again, about 35 ms
of a cold start (benchmarks/cold_start.py).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools.utilities.parameters import SecretsProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient

MAX_AGE_SECONDS = 300

# The one provider of the container, holding Powertools' cache of the values it read.
_providers: dict[str, SecretsProvider] = {}


class SecretUnusable(Exception):
    """The secret exists but holds nothing usable; the message names the secret, not its value."""


class SecretUnreadable(GetParameterError):
    """Secrets Manager could not be asked, or did not answer (throttled, unreachable, failing):
    asking again later may work."""


class SecretRefused(SecretUnreadable):
    """Secrets Manager answered that this secret cannot be read, and will answer so again until
    someone acts: no such secret, access denied, its KMS key unusable, scheduled for deletion."""


# Secrets Manager's answers that no retry changes (the rest, throttling and 5xx above all, and
# connection failures, may pass).
REFUSALS = frozenset(
    {
        "ResourceNotFoundException",
        "AccessDeniedException",
        "AccessDenied",
        "DecryptionFailure",
        "InvalidRequestException",
        "InvalidParameterException",
        "ValidationException",
    }
)


def read_secret(
    secret_id: str,
    *,
    json_field: str | None = None,
    refresh: bool = False,
    connect: Callable[[], SecretsManagerClient] | None = None,
) -> str:
    """The secret's text, stripped. With `json_field`, a secret holding a JSON object yields
    that field instead (a plain-text secret is taken as it is). `connect` makes the client on
    the first read (else Powertools makes its own)."""
    if "secrets" not in _providers:
        _providers["secrets"] = SecretsProvider(boto3_client=connect() if connect else None)
    try:
        value = _providers["secrets"].get(secret_id, max_age=MAX_AGE_SECONDS, force_fetch=refresh)
    except GetParameterError as error:
        code = _error_code(error)
        if code in REFUSALS:
            raise SecretRefused(f"secret {secret_id} cannot be read: {error}") from None
        raise SecretUnreadable(f"secret {secret_id} could not be read: {error}") from None
    text = (value.decode() if isinstance(value, bytes) else str(value)).strip()
    if json_field is not None and text.startswith("{"):
        try:
            document = json.loads(text)
        except ValueError:
            raise SecretUnusable(f"secret {secret_id} looks like JSON but is not valid") from None
        field = document.get(json_field) if isinstance(document, dict) else None
        if not isinstance(field, str) or not field.strip():
            raise SecretUnusable(f"secret {secret_id} is JSON without a string {json_field} field")
        return field.strip()
    if not text:
        raise SecretUnusable(f"secret {secret_id} is empty")
    return text


def _error_code(error: BaseException) -> str | None:
    """The AWS error code behind Powertools' GetParameterError (it wraps without `from`)."""
    seen: BaseException | None = error
    while seen is not None:
        response = getattr(seen, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code")
            if isinstance(code, str):
                return code
        seen = seen.__cause__ or seen.__context__
    return None


def forget_secrets() -> None:
    """Drop every cached value and the client that read it (a local stack that went away)."""
    _providers.clear()
