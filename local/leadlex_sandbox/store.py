"""The workspace's data: API keys, contacts and their activities, listed newest first.

Listing order: `created_date` descending; equal dates by insertion order, the activity added last
first. Activities are kept with their type under "activity_type" and rendered under the
sandbox's `type_field`. Seeded content depends only on the sandbox seed and the contact id.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from leadlex_sandbox import fake_data

READ_SCOPE = "activities:read"
TYPE_FIELDS = ("activity_type", "type")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(slots=True)
class Key:
    scopes: frozenset[str]
    expires_at: datetime | None
    revoked: bool = False

    def valid_at(self, now: datetime) -> bool:
        return not self.revoked and (self.expires_at is None or now < self.expires_at)


@dataclass(frozen=True, slots=True)
class Stored:
    seq: int
    created: datetime
    contact_id: str
    fields: dict[str, Any]  # canonical: the type under "activity_type"

    @property
    def sort_key(self) -> tuple[datetime, int]:
        return (self.created, self.seq)


@dataclass(slots=True)
class Contact:
    id: str
    name: str
    activities: list[Stored] = field(default_factory=list)
    newest_first: list[Stored] | None = None  # cache, dropped on every insert


def check_type_field(name: str) -> str:
    if name not in TYPE_FIELDS:
        raise ValueError(f"type_field must be one of {TYPE_FIELDS}, not {name!r}")
    return name


class Store:
    """Keys, contacts and activities. Not thread-safe: the sandbox's lock guards it.

    `rng` is the sandbox's own generator (keys, ids and generated fields come from it, so a
    seed reproduces them); contacts' seeded activities come from a generator of their own.
    """

    def __init__(self, *, seed: int, rng: random.Random, type_field: str) -> None:
        self._seed = seed
        self._rng = rng
        self._type_field = check_type_field(type_field)
        self._keys: dict[str, Key] = {}
        self._contacts: dict[str, Contact] = {}
        self._activity_contacts: dict[str, str] = {}
        self._seq = 0

    @property
    def type_field(self) -> str:
        return self._type_field

    @type_field.setter
    def type_field(self, name: str) -> None:
        self._type_field = check_type_field(name)

    # --- keys ---------------------------------------------------------------------------

    def create_key(self, scopes: Iterable[str], expires_at: datetime | None) -> str:
        key = f"wbk_live_{self._rng.getrandbits(160):040x}"
        self._keys[key] = Key(frozenset(scopes), expires_at)
        return key

    def revoke_key(self, key: str) -> None:
        self._keys[key].revoked = True

    def valid_key(self, token: str | None, now: datetime) -> Key | None:
        """The key `token` names, if it exists and is neither expired nor revoked at `now`."""
        key = self._keys.get(token or "")
        return key if key is not None and key.valid_at(now) else None

    # --- contacts and activities ----------------------------------------------------------

    def create_contact(
        self, activities: int, *, contact_id: str | None, name: str | None, now: datetime
    ) -> str:
        """A new contact's id, with `activities` seeded ones spread over the year before now."""
        if contact_id is None:
            contact_id = fake_data.random_uuid(self._rng)
        elif not UUID.match(contact_id):
            raise ValueError(f"contact id is not a UUID: {contact_id!r}")
        contact_id = contact_id.lower()
        if contact_id in self._contacts:
            raise ValueError(f"contact {contact_id} exists already")
        rng = random.Random(f"{self._seed}:{contact_id}")  # noqa: S311 - reproducible
        contact = Contact(contact_id, name or fake_data.person_name(rng))
        self._contacts[contact_id] = contact
        seeded = [
            (fake_data.past_moment(rng, now), fake_data.activity_id(rng)) for _ in range(activities)
        ]
        for created, activity_id in sorted(seeded):
            fields = fake_data.activity_fields(rng, contact_id, contact.name)
            self._insert(contact, activity_id, created, fields)
        return contact_id

    def add_activity(
        self, contact_id: str, created: datetime, fields: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        """The contact's id and the new activity as rendered; `fields` override the generated
        ones. KeyError for an unknown contact, ValueError for an `id` in use."""
        contact = self.contact(contact_id)
        generated = fake_data.activity_fields(self._rng, contact.id, contact.name)
        activity_id = fields.pop("id", None) or fake_data.activity_id(self._rng)
        if not isinstance(activity_id, str) or activity_id in self._activity_contacts:
            raise ValueError(f"activity id must be a new string: {activity_id!r}")
        if "type" in fields:
            fields["activity_type"] = fields.pop("type")
        stored = self._insert(contact, activity_id, created, generated | fields)
        return contact.id, self.render(stored)

    def activities(self, contact_id: str) -> list[dict[str, Any]]:
        return [self.render(stored) for stored in self.listing(self.contact(contact_id))]

    def activity(self, activity_id: str) -> dict[str, Any]:
        contact = self._contacts[self._activity_contacts[activity_id]]
        return next(
            self.render(stored)
            for stored in contact.activities
            if stored.fields["id"] == activity_id
        )

    def contact_ids(self) -> list[str]:
        return list(self._contacts)

    def contact_of(self, activity_id: str) -> str | None:
        return self._activity_contacts.get(activity_id)

    def contact(self, contact_id: str) -> Contact:
        """KeyError for an unknown contact."""
        return self._contacts[contact_id.lower()]

    def find_contact(self, contact_id: str) -> Contact | None:
        return self._contacts.get(contact_id.lower())

    def listing(self, contact: Contact) -> list[Stored]:
        """The contact's activities in listing order (cached until the next insert)."""
        if contact.newest_first is None:
            contact.newest_first = sorted(
                contact.activities, key=lambda stored: stored.sort_key, reverse=True
            )
        return contact.newest_first

    def render(self, stored: Stored) -> dict[str, Any]:
        if self._type_field == "activity_type":
            return dict(stored.fields)
        return {
            ("type" if name == "activity_type" else name): value
            for name, value in stored.fields.items()
        }

    def _insert(
        self, contact: Contact, activity_id: str, created: datetime, fields: Mapping[str, Any]
    ) -> Stored:
        self._seq += 1
        ordered = {"id": activity_id, **fields, "created_date": fake_data.format_timestamp(created)}
        stored = Stored(self._seq, created, contact.id, ordered)
        contact.activities.append(stored)
        contact.newest_first = None
        self._activity_contacts[activity_id] = contact.id
        return stored
