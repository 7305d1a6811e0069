"""The state table as the webhook fast path uses it (codec.py): read a contact's state, claim
an activity, confirm or withdraw the claim. Every write is one conditional UpdateItem, so the
table serialises a claim against a sync's announcement and saves (core/webhooks_in/fast_path.py).

A failure to reach DynamoDB raises ReceiverUnavailable: the receiver answers 503 and LeadLex
delivers the webhook again.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from activity_relay.adapters.dynamodb.codec import (
    PUBLISHING,
    RECONCILE_PARTITION,
    StateTableAdapter,
    claim_attribute,
    condition_failed,
    decode_claims,
    encode_claim,
    iso,
)
from activity_relay.core.model import Fingerprint, WebhookClaim
from activity_relay.core.webhooks_in.ports import ClaimRequest, LedgerEntry, ReceiverUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.type_defs import UniversalAttributeValueTypeDef


class DynamoDbWebhookLedger(StateTableAdapter):
    def look(self, contact_id: str) -> LedgerEntry:
        with _reachable("read the contact's state"):
            item: dict[str, Any] = self._client.get_item(
                TableName=self._table_name,
                Key={"contact_id": {"S": contact_id}},
                ConsistentRead=True,
            ).get("Item", {})
        version = item.get("version", {}).get("N")
        fingerprint = item.get("fingerprint", {}).get("B") if version is not None else None
        return LedgerEntry(
            version=int(version) if version is not None else None,
            seen=Fingerprint.decode(fingerprint) if fingerprint is not None else None,
            claims=decode_claims(item),
            publishing=frozenset(int(n) for n in item.get(PUBLISHING, {}).get("NS", [])),
        )

    def claim(self, request: ClaimRequest) -> bool:
        values: dict[str, UniversalAttributeValueTypeDef] = {
            ":claim": encode_claim(request.claim),
            ":hash": {"N": str(request.claim.id_hash)},
            ":reconcile": {"S": RECONCILE_PARTITION},
            ":due": {"S": iso(request.reconcile_at)},
            ":asked": {"S": iso(self._clock())},
        }
        if request.version is None:
            unchanged = "attribute_not_exists(#version)"
        else:
            unchanged = "#version = :version"
            values[":version"] = {"N": str(request.version)}
        if request.replacing is None:
            unclaimed = "attribute_not_exists(#claim)"
        else:
            unclaimed = "#claim.t = :replacing"
            values[":replacing"] = {"S": iso(request.replacing.claimed_at)}
        condition = (
            f"{unchanged} AND {unclaimed}"
            f" AND (attribute_not_exists({PUBLISHING}) OR NOT contains({PUBLISHING}, :hash))"
        )
        try:
            with _reachable("claim the activity"):
                self._client.update_item(
                    TableName=self._table_name,
                    Key={"contact_id": {"S": request.contact_id}},
                    # The contact's reconciliation, unless it waits for something already.
                    UpdateExpression=(
                        "SET #claim = :claim,"
                        " deferred_partition = if_not_exists(deferred_partition, :reconcile),"
                        " deferred_until = if_not_exists(deferred_until, :due),"
                        " deferred_asked_at = :asked"
                    ),
                    ConditionExpression=condition,
                    ExpressionAttributeNames={
                        "#claim": claim_attribute(request.claim.id_hash),
                        "#version": "version",
                    },
                    ExpressionAttributeValues=values,
                )
        except _ConditionFailed:
            return False
        return True

    def confirm(self, contact_id: str, claim: WebhookClaim) -> None:
        self._if_still(contact_id, claim, "SET #claim.p = :true", {":true": {"BOOL": True}})

    def withdraw(self, contact_id: str, claim: WebhookClaim) -> None:
        self._if_still(contact_id, claim, "REMOVE #claim", {})

    def _if_still(
        self,
        contact_id: str,
        claim: WebhookClaim,
        update: str,
        values: dict[str, UniversalAttributeValueTypeDef],
    ) -> None:
        try:
            with _reachable("settle the claim"):
                self._client.update_item(
                    TableName=self._table_name,
                    Key={"contact_id": {"S": contact_id}},
                    UpdateExpression=update,
                    ConditionExpression="#claim.t = :claimed",
                    ExpressionAttributeNames={"#claim": claim_attribute(claim.id_hash)},
                    ExpressionAttributeValues={**values, ":claimed": {"S": iso(claim.claimed_at)}},
                )
        except _ConditionFailed:
            pass  # taken over or settled meanwhile: nothing of this claim is left to change


class _ConditionFailed(Exception):
    pass


@contextmanager
def _reachable(doing: str) -> Iterator[None]:
    try:
        yield
    except ClientError as error:
        if condition_failed(error):
            raise _ConditionFailed from error
        raise ReceiverUnavailable(f"could not {doing}: {error}") from None
    except BotoCoreError as error:
        raise ReceiverUnavailable(f"could not {doing}: {error}") from None
