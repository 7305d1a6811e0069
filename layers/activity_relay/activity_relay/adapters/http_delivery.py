"""Outbound webhook POSTs to user-given URLs, safely.

requests-hardened does the SSRF part: it resolves the host once, refuses the address unless
it is public (loopback, private, link-local incl. 169.254.169.254, CGNAT 100.64/10, unique-local
fc00::/7 incl. fd00:ec2::254, multicast, NAT64, 6to4... IPv4 and IPv6, IPv4-mapped IPv6 checked
as IPv4) and connects to exactly that address, keeping the hostname for TLS (SNI and
certificate check); it also never follows redirects and applies a default timeout. What it
lacks is wrapped here: https only, no proxies from the environment (a proxy would make the
checked address meaningless), no cookies carried between endpoints, and a response body read
only up to MAX_RESPONSE_BYTES.

A local stack may allow loopback targets over http (`allow_local`); the template never does.
"""

from __future__ import annotations

import http.cookiejar
import time
from urllib.parse import urlsplit

import requests
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress

from activity_relay.core.webhooks_out.attempts import AttemptOutcome

TIMEOUT_SECONDS = 15.0
MAX_RESPONSE_BYTES = 4096
USER_AGENT = "leadlex-relay-webhooks/1.0 (Standard Webhooks)"


class HardenedSender:
    def __init__(
        self,
        *,
        allow_local: bool = False,
        timeout_seconds: float = TIMEOUT_SECONDS,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self._allow_local = allow_local
        self._timeout = timeout_seconds
        self._max_response_bytes = max_response_bytes
        session = HTTPSession(
            Config(
                ip_filter_enable=True,
                ip_filter_allow_loopback_ips=allow_local,
                never_redirect=True,
                default_timeout=(timeout_seconds, timeout_seconds),
                user_agent_override=USER_AGENT,
            )
        )
        session.trust_env = False
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._session = session

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        scheme = urlsplit(url).scheme
        if scheme != "https" and not (self._allow_local and scheme == "http"):
            return AttemptOutcome(
                None, error=f"refused: {scheme or 'no'} scheme, https only", blocked=True
            )
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            with self._session.post(
                url,
                data=body,
                headers=headers,
                stream=True,
                allow_redirects=False,
                timeout=(self._timeout, self._timeout),
            ) as response:
                # Bounded: an endpoint answering gigabytes gets MAX_RESPONSE_BYTES read.
                response.raw.read(self._max_response_bytes, decode_content=False)
                status = response.status_code
                error = None
                if 300 <= status < 400:
                    error = f"redirect to {response.headers.get('Location', '?')} not followed"
                return AttemptOutcome(
                    status,
                    error=error,
                    retry_after=response.headers.get("Retry-After"),
                    duration_ms=elapsed(),
                )
        except InvalidIPAddress as refused:
            host = urlsplit(url).hostname
            return AttemptOutcome(
                None,
                error=f"refused: {host} resolves to {refused}, not a public address",
                duration_ms=elapsed(),
                blocked=True,
            )
        except requests.Timeout:
            return AttemptOutcome(
                None, error=f"timeout after {self._timeout:g} s", duration_ms=elapsed()
            )
        except requests.ConnectionError as failed:
            return AttemptOutcome(
                None, error=f"connection failed: {type(failed).__name__}", duration_ms=elapsed()
            )
        except requests.RequestException as failed:
            return AttemptOutcome(None, error=f"request failed: {failed}", duration_ms=elapsed())
