"""The sync function's configuration: read from the environment once, validated, typed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from activity_relay.engine import InitialSync

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
    event_source: str
    initial_sync: InitialSync

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks; the key must not.
        key = "<set>" if self.api_key else None
        return (
            f"Settings(api_base_url={self.api_base_url!r}, api_key={key}, "
            f"api_key_secret_id={self.api_key_secret_id!r}, "
            f"watermark_table_name={self.watermark_table_name!r}, topic_arn={self.topic_arn!r}, "
            f"event_bus_name={self.event_bus_name!r}, "
            f"dead_letter_queue_url={self.dead_letter_queue_url!r}, "
            f"event_source={self.event_source!r}, initial_sync={self.initial_sync!r})"
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def optional(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def required(name: str) -> str:
            value = optional(name)
            if value is None:
                raise ConfigurationError(f"{name} is required but not set")
            return value

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
            api_base_url=api_base_url,
            api_key=api_key,
            api_key_secret_id=secret_id,
            watermark_table_name=required("WATERMARK_TABLE_NAME"),
            topic_arn=topic_arn,
            event_bus_name=bus_name,
            dead_letter_queue_url=required("DEAD_LETTER_QUEUE_URL"),
            event_source=optional("EVENT_SOURCE") or DEFAULT_EVENT_SOURCE,
            initial_sync=initial_sync,
        )
