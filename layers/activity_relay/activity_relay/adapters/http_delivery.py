"""Outbound webhook POSTs to user-given URLs, safely.

Before each POST the URL passes the rules `relay webhooks add` applied
(core/webhooks_out/targets.py: https only, no literal address that is not public, a host that
encodes for DNS); a URL that fails them is refused for good (`blocked`), never retried.
requests-hardened does the rest of the SSRF part: it resolves the host once, refuses the address
unless it is public (loopback, private, link-local incl. 169.254.169.254, CGNAT 100.64/10,
unique-local fc00::/7 incl. fd00:ec2::254, multicast, NAT64, 6to4... IPv4 and IPv6,
IPv4-mapped IPv6 checked as IPv4) and connects to exactly that address, keeping the hostname for
TLS (SNI and certificate check); it also never follows redirects and applies a default timeout.
The address it resolved is checked once more by `address_refusal` (_CheckedAdapter), which also
refuses what requests-hardened lets through because Python calls it global: IPv4-compatible
IPv6 (::127.0.0.1) and site-local fec0::/10. What the library lacks is wrapped here too: no
proxies from the environment (a proxy would make the checked address meaningless), no cookies
carried between endpoints, a response body read only up to MAX_RESPONSE_BYTES, and one deadline
for the whole attempt (http_deadline.py): resolving, connecting, TLS, sending and reading the
answer together within the timeout.

A local stack may allow loopback targets over http (`allow_local`); the template never does.
"""

from __future__ import annotations

import http.cookiejar
import ipaddress
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress

from activity_relay.adapters.http_deadline import (
    DeadlineAdapter,
    DeadlineExceeded,
    run_with_deadline,
)
from activity_relay.core.webhooks_out.attempts import AttemptOutcome
from activity_relay.core.webhooks_out.ports import WebhookConfigError
from activity_relay.core.webhooks_out.targets import address_refusal, check_target


class _CheckedAdapter(DeadlineAdapter):
    """requests-hardened's adapter, with the address it resolved judged by our rules too, and
    its connections registered with the attempt's deadline (DeadlineAdapter)."""

    def build_connection_pool_key_attributes(self, *args: Any, **kwargs: Any) -> Any:
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(*args, **kwargs)
        resolved = str(host_params["host"]).strip("[]")
        refusal = address_refusal(
            ipaddress.ip_address(resolved), allow_loopback=self._allow_loopback
        )
        if refusal is not None:
            raise InvalidIPAddress(f"{resolved}, which {refusal}")
        return host_params, pool_kwargs


TIMEOUT_SECONDS = 15.0
"""One attempt as a whole (CONTRACT.md): DNS, connect, TLS, headers and body."""
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
        # Its adapters' pools also register each socket with the attempt, for the deadline.
        for prefix in ("https://", "http://"):
            session.mount(
                prefix,
                _CheckedAdapter(is_https_proto=prefix == "https://", allow_loopback=allow_local),
            )
        session.trust_env = False
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self._session = session

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> AttemptOutcome:
        try:
            check_target(url, allow_local=self._allow_local, any_port=True)
        except WebhookConfigError as refused:
            # The same URL fails the same way next time: not retried.
            return AttemptOutcome(None, error=f"refused: {refused}", blocked=True)
        started = time.monotonic()

        def elapsed() -> int:
            return int((time.monotonic() - started) * 1000)

        try:
            return run_with_deadline(lambda: self._post(url, body, headers, elapsed), self._timeout)
        except DeadlineExceeded:
            return AttemptOutcome(
                None, error=f"timeout after {self._timeout:g} s", duration_ms=elapsed()
            )
        except InvalidIPAddress as refused:
            host = urlsplit(url).hostname
            return AttemptOutcome(
                None,
                error=f"refused: {host} resolves to {refused}, not a public address",
                duration_ms=elapsed(),
                blocked=True,
            )
        except (requests.exceptions.InvalidURL, UnicodeError) as refused:
            # A host `requests` cannot encode (IDNA) encodes no better next time.
            return AttemptOutcome(
                None, error=f"refused: {refused}", duration_ms=elapsed(), blocked=True
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

    def _post(
        self, url: str, body: bytes, headers: dict[str, str], elapsed: Callable[[], int]
    ) -> AttemptOutcome:
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
