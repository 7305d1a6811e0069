"""Signing secrets sealed with the stack's KMS key (WebhookSecretKey).

Each secret is encrypted with the encryption context `{"endpoint_id": <id>}`: a ciphertext
copied onto another endpoint does not decrypt, and the key policy lets only the delivery
function's role decrypt at all, so a reader of the endpoint table (a backup, an export,
`dynamodb:GetItem`) holds nothing it can sign with. The CLI seals with kms:Encrypt; nothing
but the delivery function ever unseals.
"""

from __future__ import annotations

from typing import Any, Protocol

CONTEXT_KEY = "endpoint_id"


class KmsClient(Protocol):
    """The two KMS calls used (boto3's KMS client; its stubs are not a dependency here)."""

    def encrypt(self, **kwargs: Any) -> Any: ...

    def decrypt(self, **kwargs: Any) -> Any: ...


class KmsSecretSealer:
    def __init__(self, client: KmsClient, key_id: str | None) -> None:
        """`key_id` to seal with (the CLI); unsealing needs none, the ciphertext names its key,
        but when given it is pinned: a ciphertext of another key is refused."""
        self._client = client
        self._key_id = key_id

    def seal(self, endpoint_id: str, secret: str) -> bytes:
        if not self._key_id:
            raise ValueError("no KMS key to seal signing secrets with (WebhookSecretKeyArn)")
        response = self._client.encrypt(
            KeyId=self._key_id,
            Plaintext=secret.encode(),
            EncryptionContext={CONTEXT_KEY: endpoint_id},
        )
        return bytes(response["CiphertextBlob"])

    def unseal(self, endpoint_id: str, sealed: bytes) -> str:
        request: dict[str, Any] = {
            "CiphertextBlob": sealed,
            "EncryptionContext": {CONTEXT_KEY: endpoint_id},
        }
        if self._key_id:
            request["KeyId"] = self._key_id
        return bytes(self._client.decrypt(**request)["Plaintext"]).decode()
