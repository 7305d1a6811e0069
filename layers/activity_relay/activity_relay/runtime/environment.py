"""Reading a function's configuration from its environment: once, validated, typed.

Each function's settings (runtime/<function>.py) are built from these readers, so that a bad or
missing setting fails with one clear message naming the variable (CONTRACT.md), never its value
when the value is a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient


DEFAULT_EVENT_SOURCE = "leadlex.activities"
DEFAULT_WEBHOOK_RETENTION_DAYS = 14


def utc_now() -> datetime:
    """The clock every runtime reads unless a test or a benchmark gives it another."""
    return datetime.now(UTC)


class ConfigurationError(Exception):
    """A missing or invalid setting. The message names the variable and never its secret."""


class SecretUnavailable(Exception):
    """Secrets Manager could not be asked for a secret, or did not answer (throttled,
    unreachable, failing): a later try may succeed. The message names the variable, never the
    value. (A secret it refuses for good, missing or denied, is a ConfigurationError.)"""


@dataclass(frozen=True, slots=True)
class Environment:
    """The variables of one function, read with the rules every setting follows."""

    variables: Mapping[str, str]

    def optional(self, name: str) -> str | None:
        return self.variables.get(name, "").strip() or None

    def required(self, name: str) -> str:
        value = self.optional(name)
        if value is None:
            raise ConfigurationError(f"{name} is required but not set")
        return value

    def integer(self, name: str, *, default: int, low: int, high: int | None = None) -> int:
        text = self.variables.get(name, "").strip()
        if not text:
            return default
        try:
            value = int(text)
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number, got {text!r}") from None
        if value < low or (high is not None and value > high):
            bounds = f"at least {low}" if high is None else f"between {low} and {high}"
            raise ConfigurationError(f"{name} must be {bounds}, got {value}")
        return value

    def choice(self, name: str, *, default: str, choices: tuple[str, ...]) -> str:
        """One of `choices`, case and surrounding space ignored."""
        text = self.variables.get(name, "").strip().lower() or default
        if text not in choices:
            raise ConfigurationError(f"{name} must be {' or '.join(choices)}, got {text!r}")
        return text

    def pacing(self) -> bool:
        """PACING: "on" (the default) spreads the day's budget over the day; "off" spends it
        first come, first served. Read by the sync and the sweep function alike."""
        return self.choice("PACING", default="on", choices=("on", "off")) == "on"

    def channels(self) -> Channels:
        """Where events are published: ACTIVITY_TOPIC_ARN, ACTIVITY_EVENT_BUS_NAME (at least
        one) and EVENT_SOURCE, read alike by every function that publishes."""
        topic_arn = self.optional("ACTIVITY_TOPIC_ARN")
        bus_name = self.optional("ACTIVITY_EVENT_BUS_NAME")
        if topic_arn is None and bus_name is None:
            raise ConfigurationError(
                "ACTIVITY_TOPIC_ARN or ACTIVITY_EVENT_BUS_NAME must be set (at least one)"
            )
        if topic_arn is not None and not topic_arn.startswith("arn:"):
            raise ConfigurationError(f"ACTIVITY_TOPIC_ARN must be an ARN, got {topic_arn!r}")
        return Channels(topic_arn, bus_name, self.optional("EVENT_SOURCE") or DEFAULT_EVENT_SOURCE)

    def webhook_routes(self) -> WebhookRoutes:
        """The endpoint table, the delivery queue and its dead-letter queue, and how long what
        webhooks out keep lives, read alike by the fan-out and the delivery function."""
        return WebhookRoutes(
            endpoint_table_name=self.required("WEBHOOK_ENDPOINT_TABLE_NAME"),
            delivery_queue_url=self.required("WEBHOOK_DELIVERY_QUEUE_URL"),
            dead_letter_queue_url=self.required("WEBHOOK_DEAD_LETTER_QUEUE_URL"),
            retention_days=self.integer(
                "WEBHOOK_EVENT_RETENTION_DAYS",
                default=DEFAULT_WEBHOOK_RETENTION_DAYS,
                low=1,
                high=365,
            ),
        )

    def secret(self, *, value_variable: str, id_variable: str, json_field: str) -> SecretSetting:
        """A secret given by its Secrets Manager id (production) or as itself (local use)."""
        value = self.optional(value_variable)
        secret_id = self.optional(id_variable)
        if value is None and secret_id is None:
            raise ConfigurationError(
                f"{id_variable} is required (or {value_variable} for local use)"
            )
        return SecretSetting(id_variable, json_field, value=value, secret_id=secret_id)


@dataclass(frozen=True, slots=True)
class Channels:
    """The event's channels: the SNS topic and the EventBridge bus (either may be absent)."""

    topic_arn: str | None
    event_bus_name: str | None
    event_source: str


@dataclass(frozen=True, slots=True)
class WebhookRoutes:
    """Where webhooks out find their endpoints and send their deliveries."""

    endpoint_table_name: str
    delivery_queue_url: str
    dead_letter_queue_url: str
    retention_days: int = DEFAULT_WEBHOOK_RETENTION_DAYS
    """How long an event is kept for replays, and a parked delivery for its endpoint's
    `enable`."""


@dataclass(frozen=True, slots=True)
class SecretSetting:
    """A secret from the environment, else from Secrets Manager (plain text, or JSON with
    `json_field`). Its value never appears in a repr, a log line or an error."""

    id_variable: str  # named in errors: the setting to fix
    json_field: str
    value: str | None = field(default=None, repr=False)
    secret_id: str | None = None

    def read(
        self, *, refresh: bool, connect: Callable[[], SecretsManagerClient] | None = None
    ) -> str:
        """The secret; refresh=True bypasses the cache (after it was refused). Raises
        ConfigurationError when the secret holds nothing usable or Secrets Manager refuses it
        for good (no such secret, access denied: someone must act), SecretUnavailable when
        Secrets Manager could not be asked or did not answer (throttled, unreachable)."""
        if self.value is not None:
            return self.value
        assert self.secret_id is not None
        from activity_relay.adapters.secrets import (
            SecretRefused,
            SecretUnreadable,
            SecretUnusable,
            read_secret,
        )

        try:
            return read_secret(
                self.secret_id, json_field=self.json_field, refresh=refresh, connect=connect
            )
        except (SecretUnusable, SecretRefused) as unusable:
            raise ConfigurationError(f"{self.id_variable}: {unusable}") from None
        except SecretUnreadable as unreadable:
            raise SecretUnavailable(f"{self.id_variable}: {unreadable}") from None
