"""LeadLex webhooks in: the signature over the body, and the secret as it is rotated."""

from __future__ import annotations

import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activity_relay.core.webhooks_in import signature
from activity_relay.core.webhooks_in.signature import (
    RotatingSecret,
    SignatureProblem,
    signature_problem,
)
from tests.support.clock import Clock
from tests.support.leadlex_webhooks import BODY, SECRET, sign

# --- Signature ------------------------------------------------------------------------------------


class TestSignature:
    def test_a_valid_signature_verifies(self) -> None:
        assert signature_problem(BODY, sign(BODY), SECRET) is None

    def test_upper_case_hex_and_surrounding_space_verify(self) -> None:
        header = " sha256=" + sign(BODY).removeprefix("sha256=").upper() + " "
        assert signature_problem(BODY, header, SECRET) is None

    def test_a_signature_made_with_another_secret_is_a_mismatch(self) -> None:
        assert (
            signature_problem(BODY, sign(BODY, "whsec_other"), SECRET) is SignatureProblem.MISMATCH
        )

    def test_garbage_hex_is_a_mismatch(self) -> None:
        assert signature_problem(BODY, "sha256=zz€", SECRET) is SignatureProblem.MISMATCH

    @pytest.mark.parametrize("header", [None, "", "   "])
    def test_a_missing_signature(self, header: str | None) -> None:
        assert signature_problem(BODY, header, SECRET) is SignatureProblem.MISSING

    @pytest.mark.parametrize("scheme", ["sha1=", "md5=", "v1,", "sha512=", "", "sha256:"], ids=repr)
    def test_a_wrong_scheme_prefix(self, scheme: str) -> None:
        digest = sign(BODY).removeprefix("sha256=")
        assert signature_problem(BODY, scheme + digest, SECRET) is SignatureProblem.WRONG_SCHEME

    @given(position=st.integers(min_value=0, max_value=len(BODY) - 1), flip=st.integers(1, 255))
    def test_a_body_changed_by_one_byte_does_not_verify(self, position: int, flip: int) -> None:
        changed = bytearray(BODY)
        changed[position] ^= flip
        assert signature_problem(bytes(changed), sign(BODY), SECRET) is SignatureProblem.MISMATCH

    def test_the_comparison_is_hmac_compare_digest(self, monkeypatch: pytest.MonkeyPatch) -> None:
        # Given a spy on hmac.compare_digest as the module sees it
        calls: list[tuple[bytes, bytes]] = []
        real = hmac.compare_digest

        def spy(a: bytes, b: bytes) -> bool:
            calls.append((a, b))
            return real(a, b)

        monkeypatch.setattr(signature.hmac, "compare_digest", spy)
        # When a good and a bad signature are checked
        assert signature_problem(BODY, sign(BODY), SECRET) is None
        assert signature_problem(BODY, sign(BODY, "x"), SECRET) is SignatureProblem.MISMATCH
        # Then both went through the constant-time comparison, and nothing else decided
        assert len(calls) == 2
        assert calls[0][0] == calls[0][1]
        assert calls[1][0] != calls[1][1]


class FakeSecretStore:
    """A secret store whose cached value lags behind the stored one until a refresh."""

    def __init__(self, value: str) -> None:
        self.stored = self.cached = value
        self.refreshes = 0

    def load(self, refresh: bool) -> str:
        if refresh:
            self.refreshes += 1
            self.cached = self.stored
        return self.cached


class TestRotatedSecret:
    def test_a_rotated_secret_is_picked_up_on_the_first_delivery_that_fails(self) -> None:
        # Given a receiver that has cached the old secret
        store, clock = FakeSecretStore("whsec_old"), Clock(1000.0)
        secret = RotatingSecret(store.load, clock=clock, refresh_interval=30)
        assert secret.verify(BODY, sign(BODY, "whsec_old")) is None
        # When the secret is rotated in its store and LeadLex signs with the new one
        store.stored = "whsec_new"
        # Then the first delivery signed with it verifies, after one refresh
        assert secret.verify(BODY, sign(BODY, "whsec_new")) is None
        assert store.refreshes == 1
        # And later ones verify from the cache
        assert secret.verify(BODY, sign(BODY, "whsec_new")) is None
        assert store.refreshes == 1

    def test_bad_signatures_refresh_at_most_once_per_interval(self) -> None:
        store, clock = FakeSecretStore(SECRET), Clock(1000.0)
        secret = RotatingSecret(store.load, clock=clock, refresh_interval=30)

        for _ in range(50):
            assert secret.verify(BODY, "sha256=00") is SignatureProblem.MISMATCH
        assert store.refreshes == 1

        clock.now += 30
        assert secret.verify(BODY, "sha256=00") is SignatureProblem.MISMATCH
        assert store.refreshes == 2

    def test_a_missing_signature_never_refreshes(self) -> None:
        store = FakeSecretStore(SECRET)
        secret = RotatingSecret(store.load, clock=Clock(1000.0))
        assert secret.verify(BODY, None) is SignatureProblem.MISSING
        assert secret.verify(BODY, "sha1=00") is SignatureProblem.WRONG_SCHEME
        assert store.refreshes == 0
