"""The functions' configuration: read from the environment once, validated, typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlparse

from activity_relay.core.model import InitialSync
from activity_relay.core.pacing import PacePolicy
from activity_relay.core.sweep import SweepPolicy
from activity_relay.core.webhooks import DEFAULT_SCHEDULE, RetrySchedule, WebhookConfigError

DEFAULT_API_BASE_URL = "https://data.leadlex.com/functions/v1/api-gateway"
DEFAULT_EVENT_SOURCE = "leadlex.activities"


class ConfigurationError(Exception):
    """A missing or invalid setting. The message names the variable and never its secret."""


@dataclass(frozen=True, slots=True)
class Settings:
    api_base_url: str
    api_key: str | None
    api_key_secret_id: str | None
    watermark_table_name: str
    topic_arn: str | None
    event_bus_name: str | None
    dead_letter_queue_url: str
    # Where a sync that stops at a checkpoint queues its continuation, and where a contact
    # that another invocation is syncing goes back, delayed.
    contact_queue_url: str
    event_source: str
    initial_sync: InitialSync
    quota_reserve: int = 0
    contact_concurrency: int = 10
    pacing: bool = True

    @property
    def pace(self) -> PacePolicy | None:
        return PacePolicy(reserve=self.quota_reserve) if self.pacing else None

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks; the key must not.
        key = "<set>" if self.api_key else None
        return (
            f"Settings(api_base_url={self.api_base_url!r}, api_key={key}, "
            f"api_key_secret_id={self.api_key_secret_id!r}, "
            f"watermark_table_name={self.watermark_table_name!r}, topic_arn={self.topic_arn!r}, "
            f"event_bus_name={self.event_bus_name!r}, "
            f"dead_letter_queue_url={self.dead_letter_queue_url!r}, "
            f"contact_queue_url={self.contact_queue_url!r}, "
            f"event_source={self.event_source!r}, initial_sync={self.initial_sync!r}, "
            f"quota_reserve={self.quota_reserve}, contact_concurrency={self.contact_concurrency}, "
            f"pacing={self.pacing})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def optional(name: str) -> str | None:
            return _optional(env, name)

        def required(name: str) -> str:
            return _required(env, name)

        api_base_url = (optional("LEADLEX_API_BASE_URL") or DEFAULT_API_BASE_URL).rstrip("/")
        parsed = urlparse(api_base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ConfigurationError(
                f"LEADLEX_API_BASE_URL must be an http(s) URL, got {api_base_url!r}"
            )
        if api_base_url.endswith("/v1"):
            raise ConfigurationError("LEADLEX_API_BASE_URL must not include the /v1 path")

        api_key = optional("LEADLEX_API_KEY")
        secret_id = optional("LEADLEX_API_KEY_SECRET_ID")
        if api_key is None and secret_id is None:
            raise ConfigurationError(
                "LEADLEX_API_KEY_SECRET_ID is required (or LEADLEX_API_KEY for local use)"
            )

        topic_arn = optional("ACTIVITY_TOPIC_ARN")
        bus_name = optional("ACTIVITY_EVENT_BUS_NAME")
        if topic_arn is None and bus_name is None:
            raise ConfigurationError(
                "ACTIVITY_TOPIC_ARN or ACTIVITY_EVENT_BUS_NAME must be set (at least one)"
            )
        if topic_arn is not None and not topic_arn.startswith("arn:"):
            raise ConfigurationError(f"ACTIVITY_TOPIC_ARN must be an ARN, got {topic_arn!r}")

        initial_sync_text = optional("INITIAL_SYNC") or "all"
        try:
            initial_sync = InitialSync.parse(initial_sync_text)
        except ValueError as error:
            raise ConfigurationError(f"INITIAL_SYNC: {error}") from None

        return cls(
            quota_reserve=_integer(env, "LEADLEX_QUOTA_RESERVE", default=0, low=0),
            contact_concurrency=_integer(env, "CONTACT_CONCURRENCY", default=10, low=1, high=50),
            pacing=_pacing(env),
            api_base_url=api_base_url,
            api_key=api_key,
            api_key_secret_id=secret_id,
            watermark_table_name=required("WATERMARK_TABLE_NAME"),
            topic_arn=topic_arn,
            event_bus_name=bus_name,
            dead_letter_queue_url=required("DEAD_LETTER_QUEUE_URL"),
            contact_queue_url=required("CONTACT_QUEUE_URL"),
            event_source=optional("EVENT_SOURCE") or DEFAULT_EVENT_SOURCE,
            initial_sync=initial_sync,
        )


def _optional(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name, "").strip() or None


def _required(env: Mapping[str, str], name: str) -> str:
    value = _optional(env, name)
    if value is None:
        raise ConfigurationError(f"{name} is required but not set")
    return value


def _integer(
    env: Mapping[str, str], name: str, *, default: int, low: int, high: int | None = None
) -> int:
    text = env.get(name, "").strip()
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


DEFAULT_DAILY_QUOTA = 100
"""The smallest plan's daily quota: what the sweep assumes before any response told it more."""
DEFAULT_REQUESTS_PER_MINUTE = 10
"""The smallest plan's per-minute limit, which LeadLex reports in no header."""


@dataclass(frozen=True, slots=True)
class SweepSettings:
    """The sweep function's configuration."""

    watermark_table_name: str
    contact_queue_url: str
    quota_reserve: int
    default_daily_quota: int
    requests_per_minute: int
    stale_after: timedelta | None
    """None: no reconciliation of contacts not synced for a while."""
    pacing: bool = True

    @property
    def policy(self) -> SweepPolicy:
        pace = PacePolicy(reserve=self.quota_reserve, default_limit=self.default_daily_quota)
        return SweepPolicy(
            quota_reserve=self.quota_reserve,
            default_daily_quota=self.default_daily_quota,
            requests_per_minute=self.requests_per_minute,
            stale_after=self.stale_after,
            pace=pace if self.pacing else None,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> SweepSettings:
        def required(name: str) -> str:
            return _required(env, name)

        stale_hours = _integer(env, "STALE_AFTER_HOURS", default=0, low=0)
        return cls(
            watermark_table_name=required("WATERMARK_TABLE_NAME"),
            contact_queue_url=required("CONTACT_QUEUE_URL"),
            quota_reserve=_integer(env, "LEADLEX_QUOTA_RESERVE", default=0, low=0),
            default_daily_quota=_integer(
                env, "DEFAULT_DAILY_QUOTA", default=DEFAULT_DAILY_QUOTA, low=1
            ),
            requests_per_minute=_integer(
                env, "LEADLEX_REQUESTS_PER_MINUTE", default=DEFAULT_REQUESTS_PER_MINUTE, low=1
            ),
            stale_after=timedelta(hours=stale_hours) if stale_hours else None,
            pacing=_pacing(env),
        )


# --- Pacing the daily quota (PACING) ------------------------------------------------------------


def _pacing(env: Mapping[str, str]) -> bool:
    """PACING: "on" (the default) spreads the day's budget over the day; "off" spends it first
    come, first served. Read by the sync and the sweep function alike."""
    text = env.get("PACING", "").strip().lower() or "on"
    if text not in ("on", "off"):
        raise ConfigurationError(f"PACING must be on or off, got {text!r}")
    return text == "on"


# --- Webhooks out (the deliver_webhooks function) --------------------------------------------

ALLOW_LOCAL_TARGETS_VARIABLE = "WEBHOOK_ALLOW_LOCAL_TARGETS"
"""Set to `true` by a local stack only (never by template.yaml): http and loopback targets."""


@dataclass(frozen=True, slots=True)
class WebhookSettings:
    endpoint_table_name: str
    delivery_queue_url: str
    dead_letter_queue_url: str
    schedule: RetrySchedule
    concurrency: int = 10
    allow_local_targets: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> WebhookSettings:
        schedule_text = _optional(env, "WEBHOOK_RETRY_SCHEDULE") or DEFAULT_SCHEDULE
        try:
            schedule = RetrySchedule.parse(schedule_text)
        except WebhookConfigError as error:
            raise ConfigurationError(f"WEBHOOK_RETRY_SCHEDULE: {error}") from None
        allow = (_optional(env, ALLOW_LOCAL_TARGETS_VARIABLE) or "false").lower()
        if allow not in ("true", "false"):
            raise ConfigurationError(f"{ALLOW_LOCAL_TARGETS_VARIABLE} must be true or false")
        return cls(
            endpoint_table_name=_required(env, "WEBHOOK_ENDPOINT_TABLE_NAME"),
            delivery_queue_url=_required(env, "WEBHOOK_DELIVERY_QUEUE_URL"),
            dead_letter_queue_url=_required(env, "WEBHOOK_DEAD_LETTER_QUEUE_URL"),
            schedule=schedule,
            concurrency=_integer(env, "WEBHOOK_CONCURRENCY", default=10, low=1, high=50),
            allow_local_targets=allow == "true",
        )

    @property
    def delivery_queue_name(self) -> str:
        """The last part of the URL, which is also the last part of the queue's ARN."""
        return self.delivery_queue_url.rstrip("/").rsplit("/", 1)[-1]


# --- The webhook receiver (LeadLex activity.created → the contact queue) ----------------------


@dataclass(frozen=True, slots=True)
class ReceiveSettings:
    """The webhook receiver's configuration: where contact ids go, and the signing secret (its
    Secrets Manager id in production, the secret itself locally)."""

    contact_queue_url: str
    webhook_secret: str | None
    webhook_secret_id: str | None

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks; the signing secret must not.
        secret = "<set>" if self.webhook_secret else None
        return (
            f"ReceiveSettings(contact_queue_url={self.contact_queue_url!r}, "
            f"webhook_secret={secret}, webhook_secret_id={self.webhook_secret_id!r})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ReceiveSettings:
        secret = _optional(env, "LEADLEX_WEBHOOK_SECRET")
        secret_id = _optional(env, "LEADLEX_WEBHOOK_SECRET_ID")
        if secret is None and secret_id is None:
            raise ConfigurationError(
                "LEADLEX_WEBHOOK_SECRET_ID is required (or LEADLEX_WEBHOOK_SECRET for local use)"
            )
        return cls(
            contact_queue_url=_required(env, "CONTACT_QUEUE_URL"),
            webhook_secret=secret,
            webhook_secret_id=secret_id,
        )
