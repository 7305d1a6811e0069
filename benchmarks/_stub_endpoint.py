"""A local stand-in for AWS and LeadLex that answers a first invocation's calls in no time.

For the cold-start benchmark: a handler's first invocation does its real work (runtime built,
clients created, requests serialized, signed, sent over loopback and parsed) while the
answers cost nothing, so what is timed is the handler's own start, not a service's latency.

Answers, by the request's X-Amz-Target (AWS JSON protocols), Action (SNS's query protocol)
or path (LeadLex):
- Secrets Manager GetSecretValue: a JSON secret holding `api_key` and `secret`;
- DynamoDB: every read finds nothing, every write succeeds;
- SQS SendMessage / SendMessageBatch, SNS PublishBatch, EventBridge PutEvents: all accepted;
- LeadLex: one activity for any contact (a first sync that publishes one event);
- anything else: a 400 that botocore does not retry (counted in `refused`).
Binds 127.0.0.1 on a free port; stops with its `with` block.
"""

from __future__ import annotations

import hashlib
import json
import re
from http.server import BaseHTTPRequestHandler
from typing import Any

from loopback import LoopbackServer, StartStop

SECRET_VALUE = {"api_key": "cold-start-key", "secret": "cold-start-webhook-secret"}


def _dynamodb(operation: str, request: dict[str, Any]) -> dict[str, Any]:
    if operation in ("Query", "Scan"):
        return {"Items": [], "Count": 0, "ScannedCount": 0}
    if operation == "BatchGetItem":
        return {"Responses": {}, "UnprocessedKeys": {}}
    if operation == "BatchWriteItem":
        return {"UnprocessedItems": {}}
    return {}  # GetItem: no item; PutItem, UpdateItem, DeleteItem: done


def _sqs(operation: str, request: dict[str, Any]) -> dict[str, Any] | None:
    if operation == "SendMessage":
        body = str(request.get("MessageBody", ""))
        return {"MessageId": "cold-start-1", "MD5OfMessageBody": _md5(body)}
    if operation == "SendMessageBatch":
        return {
            "Successful": [
                {
                    "Id": entry["Id"],
                    "MessageId": f"cold-start-{entry['Id']}",
                    "MD5OfMessageBody": _md5(str(entry.get("MessageBody", ""))),
                }
                for entry in request.get("Entries", [])
            ],
            "Failed": [],
        }
    return None


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def _answer(target: str, request: dict[str, Any]) -> dict[str, Any] | None:
    service, _, operation = target.partition(".")
    if service == "secretsmanager" and operation == "GetSecretValue":
        name = str(request.get("SecretId", "secret"))
        return {"ARN": name, "Name": name, "SecretString": json.dumps(SECRET_VALUE)}
    if service.startswith("DynamoDB_"):
        return _dynamodb(operation, request)
    if service == "AmazonSQS":
        return _sqs(operation, request)
    if service == "AWSEvents" and operation == "PutEvents":
        entries = request.get("Entries", [])
        return {
            "FailedEntryCount": 0,
            "Entries": [{"EventId": f"e{n}"} for n in range(len(entries))],
        }
    return None


def _activities(contact_id: str) -> dict[str, Any]:
    activity = {
        "id": f"act_{contact_id[:8]}",
        "contact_id": contact_id,
        "activity_type": "note",
        "entity_type": "contact",
        "created_date": "2026-12-01T10:00:00Z",
        "title": "cold start",
    }
    return {"data": {"activities": [activity]}, "meta": {"total": 1, "page": 1}}


def _sns_publish_batch(form: str) -> bytes | None:
    if "Action=PublishBatch" not in form:
        return None
    ids = re.findall(r"PublishBatchRequestEntries\.member\.\d+\.Id=([^&]+)", form)
    members = "".join(f"<member><Id>{i}</Id><MessageId>m-{i}</MessageId></member>" for i in ids)
    return (
        '<PublishBatchResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/">'
        f"<PublishBatchResult><Successful>{members}</Successful><Failed/></PublishBatchResult>"
        "<ResponseMetadata><RequestId>cold-start</RequestId></ResponseMetadata>"
        "</PublishBatchResponse>"
    ).encode()


class StubEndpoint(StartStop):
    def __init__(self) -> None:
        self.served: list[str] = []
        self.refused: list[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # LeadLex: /v1/contacts/<id>/activities
                path = self.path.split("?")[0]
                stub.served.append(f"GET {path}")
                contact_id = path.rstrip("/").split("/")[-2]
                self._send(200, "application/json", _activities(contact_id))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                target = self.headers.get("X-Amz-Target")
                if target is None:  # SNS: the query protocol, form in, XML out
                    xml = _sns_publish_batch(raw.decode())
                    stub.served.append("sns.PublishBatch") if xml else stub.refused.append("sns")
                    self._reply(200 if xml else 400, "text/xml", xml or b"<ErrorResponse/>")
                    return
                try:
                    request = json.loads(raw) if raw else {}
                except ValueError:
                    request = {}
                answer = _answer(target, request) if isinstance(request, dict) else None
                content_type = "application/x-amz-json-1.0"
                if answer is None:
                    stub.refused.append(target)
                    error = {"__type": "ValidationException", "message": "not served here"}
                    self._send(400, content_type, error)
                else:
                    stub.served.append(target)
                    self._send(200, content_type, answer)

            def _send(self, status: int, content_type: str, document: dict[str, Any]) -> None:
                self._reply(status, content_type, json.dumps(document).encode())

            def _reply(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("x-amzn-RequestId", "cold-start")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._http = LoopbackServer(Handler, name="stub-endpoint")

    @property
    def url(self) -> str:
        return self._http.url

    def start(self) -> StubEndpoint:
        self._http.start()
        return self

    def stop(self) -> None:
        self._http.stop()
