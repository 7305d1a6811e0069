"""Is a LeadLex delivery signed with our secret?

A delivery is a POST whose `X-LeadLex-Signature: sha256=<hex>` is the HMAC-SHA256 of the raw
body with the signing secret LeadLex returned at registration.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from enum import StrEnum

SIGNATURE_PREFIX = "sha256="


class SignatureProblem(StrEnum):
    """Why a delivery is not authenticated; safe to log (no secret, no digest)."""

    MISSING = "missing"
    WRONG_SCHEME = "wrong_scheme"
    MISMATCH = "mismatch"


def signature_problem(body: bytes, header: str | None, secret: str) -> SignatureProblem | None:
    """None when `header` is `sha256=<hex HMAC-SHA256 of body with secret>`, compared in
    constant time; else what is wrong with it."""
    if header is None or not header.strip():
        return SignatureProblem.MISSING
    scheme, separator, given = header.strip().partition("=")
    if not separator or scheme.lower() != SIGNATURE_PREFIX[:-1]:
        return SignatureProblem.WRONG_SCHEME
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    # Bytes, not str: compare_digest refuses non-ASCII text, and a header may carry any.
    if hmac.compare_digest(expected.encode(), given.strip().lower().encode()):
        return None
    return SignatureProblem.MISMATCH


class RotatingSecret:
    """The signing secret, re-read when a delivery fails verification, so that a secret rotated
    in its store is picked up without a redeploy.

    `load(refresh)` returns the secret (refresh=True: bypass any cache). A failed verification
    re-reads it at most once per `refresh_interval` seconds: unsigned requests to a public URL
    must not become one Secrets Manager call each.
    """

    def __init__(
        self,
        load: Callable[[bool], str],
        *,
        clock: Callable[[], float],
        refresh_interval: float = 30.0,
    ) -> None:
        self._load = load
        self._clock = clock
        self._refresh_interval = refresh_interval
        self._last_refresh: float | None = None

    def verify(self, body: bytes, header: str | None) -> SignatureProblem | None:
        problem = signature_problem(body, header, self._load(False))
        if problem is not SignatureProblem.MISMATCH or not self._may_refresh():
            return problem
        self._last_refresh = self._clock()
        return signature_problem(body, header, self._load(True))

    def _may_refresh(self) -> bool:
        return (
            self._last_refresh is None
            or self._clock() - self._last_refresh >= self._refresh_interval
        )
