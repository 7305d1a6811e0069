"""One message at a time: rejection, sync, and which failures send the message back."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import pytest

from activity_relay.engine import InitialSync, SyncEngine, SyncStatus
from activity_relay.model import ActivityPage
from activity_relay.ports import AuthenticationFailed, TransientSourceError
from activity_relay.relay import ContactMessage, CredentialsRefused, Rejected, Relay
from tests.unit.fakes import EPOCH, FakeLeadLex, MemoryStateStore, RecordingPublisher

CONTACT = "123e4567-e89b-12d3-a456-426614174000"
OTHER = "223e4567-e89b-12d3-a456-426614174000"


@dataclass
class RejectionLog:
    rejected: list[tuple[str, str, str]] = field(default_factory=list)

    def reject(self, *, message_id: str, body: str, reason: str) -> None:
        self.rejected.append((message_id, body, reason))


class RefusingLeadLex(FakeLeadLex):
    def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
        self.requests += 1
        raise AuthenticationFailed("401 invalid_key", request_id="req_1")


def make_relay(api: FakeLeadLex) -> tuple[Relay, RejectionLog, RecordingPublisher]:
    log, publisher = RejectionLog(), RecordingPublisher()
    engine = SyncEngine(
        source=api,
        store=MemoryStateStore(),
        publisher=publisher,
        initial_sync=InitialSync.parse("all"),
    )
    return Relay(engine=engine, rejected=log, clock=lambda: EPOCH), log, publisher


def test_a_malformed_message_is_rejected_with_its_body_and_reason() -> None:
    relay, log, _ = make_relay(FakeLeadLex())
    result = relay.handle(ContactMessage("m1", "hello"))
    assert isinstance(result, Rejected)
    assert log.rejected == [("m1", "hello", result.reason)]
    assert "neither a contact UUID" in result.reason


def test_a_contact_is_synced_and_published() -> None:
    api = FakeLeadLex()
    api.contacts[CONTACT] = []
    api.add(CONTACT, 0)
    relay, log, publisher = make_relay(api)
    result = relay.handle(ContactMessage("m1", f'{{"contact_id": "{CONTACT.upper()}"}}'))
    assert not isinstance(result, Rejected)
    assert (result.status, result.published) == (SyncStatus.SYNCED, 1)
    assert publisher.delivered[0].contact_id == CONTACT
    assert log.rejected == []


def test_an_unknown_contact_is_acknowledged() -> None:
    relay, _, _ = make_relay(FakeLeadLex())
    result = relay.handle(ContactMessage("m1", CONTACT))
    assert not isinstance(result, Rejected)
    assert result.status is SyncStatus.NOT_FOUND


def test_a_transient_failure_fails_only_its_own_message() -> None:
    api = FakeLeadLex()
    api.contacts[OTHER] = []

    class FlakyFirstContact(FakeLeadLex):
        def fetch_page(self, contact_id: str, page: int) -> ActivityPage:
            if contact_id == CONTACT:
                raise TransientSourceError("503 after retries")
            return api.fetch_page(contact_id, page)

    relay, _, _ = make_relay(FlakyFirstContact())
    with pytest.raises(TransientSourceError):
        relay.handle(ContactMessage("m1", CONTACT))
    result = relay.handle(ContactMessage("m2", OTHER))
    assert not isinstance(result, Rejected)
    assert result.status is SyncStatus.SYNCED


def test_a_refused_key_is_one_error_line_and_spares_the_rest_of_the_batch(caplog) -> None:
    api = RefusingLeadLex()
    relay, _, _ = make_relay(api)
    relay.begin_batch()
    with caplog.at_level(logging.ERROR), pytest.raises(AuthenticationFailed):
        relay.handle(ContactMessage("m1", CONTACT))
    with pytest.raises(CredentialsRefused):
        relay.handle(ContactMessage("m2", OTHER))

    assert api.requests == 1, "the second contact cost no request"
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "refused the API key" in errors[0].getMessage()
    assert relay.credentials_refused

    relay.begin_batch()
    assert not relay.credentials_refused
