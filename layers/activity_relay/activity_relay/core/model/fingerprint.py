"""A bounded summary of which activities of a contact the relay has already accounted for.

Storing every published id would grow without bound; this keeps, whatever the history:

* the recent window: the ids accounted for whose `created_date` lies within RECENT_WINDOW
  of the newest one (the head). New activities normally land there, above or just below the
  head (LeadLex accepts dates up to 24 h ahead), so the common case is exact and cheap;
* at most MAX_BUCKETS buckets splitting the history by `created_date`. Each holds its
  count and the first SKETCH_SIZE power sums of its members' id hashes modulo a prime.

Counts let the engine locate, by position in the list, the date range where an activity
appeared that is older than the head (a backdated `created_date`). The power sums then name
it: knowing the current members of a bucket (a superset of the accounted ones), the sums of
the difference are the differences of the sums, and up to SKETCH_SIZE missing hashes are the
roots of the polynomial that Newton's identities build from them.

A first sync that INITIAL_SYNC tells to skip the older history reads only the top of the list:
what lies below is `unread`, counted but never named, all of it dated at or below
`unread_through`, which the buckets' and the recent window's floors stay strictly above.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PRIME = (1 << 61) - 1
SKETCH_SIZE = 16  # backdated activities one bucket can name between two syncs
TARGET_BUCKET_SIZE = 100  # one API page: decoding a bucket costs about one request
MAX_BUCKETS = 256  # about 36 KB encoded, far below DynamoDB's 400 KB item limit
RECENT_WINDOW = 48 * 3600 * 1_000_000  # µs: twice the 24 h LeadLex lets a date run ahead
RECENT_LIMIT = 1_000  # ids kept near the head at most (16 KB); a busier window narrows
_FORMAT_VERSION = 2  # 1 lacks the unread history
_HEADER = ">BqqI"
_UNREAD = ">Qq"


def id_hash(activity_id: str) -> int:
    digest = hashlib.blake2b(activity_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") % PRIME


def _powers(value: int) -> list[int]:
    powers, current = [], 1
    for _ in range(SKETCH_SIZE):
        current = current * value % PRIME
        powers.append(current)
    return powers


class SketchOverflow(Exception):
    """More activities are missing from one bucket than its sketch can name."""


class SketchMismatch(Exception):
    """The current members of a bucket do not contain what the bucket accounted for."""


@dataclass(slots=True)
class Bucket:
    floor: int  # the oldest created_date (epoch µs) this bucket covers
    count: int = 0
    sums: list[int] = field(default_factory=lambda: [0] * SKETCH_SIZE)

    def add(self, hashed: int) -> None:
        self.count += 1
        sums, power = self.sums, 1
        for k in range(SKETCH_SIZE):
            power = power * hashed % PRIME
            sums[k] = (sums[k] + power) % PRIME

    def absorb(self, older: Bucket) -> None:
        self.floor = older.floor
        self.count += older.count
        self.sums = [(a + b) % PRIME for a, b in zip(self.sums, older.sums, strict=True)]

    def missing(self, current: Sequence[tuple[int, str]]) -> list[str]:
        """Which of `current` (hash, id) pairs this bucket has not accounted for."""
        extra = len(current) - self.count
        if extra < 0:
            raise SketchMismatch(f"{len(current)} current members, {self.count} accounted")
        if extra == 0:
            return []
        if extra > SKETCH_SIZE:
            raise SketchOverflow(f"{extra} unaccounted members exceed the sketch")
        sums = [0] * SKETCH_SIZE
        for hashed, _ in current:
            sums = [(s + p) % PRIME for s, p in zip(sums, _powers(hashed), strict=True)]
        differences = [(s - own) % PRIME for s, own in zip(sums, self.sums, strict=True)]
        coefficients = _elementary_symmetric(differences[:extra])
        roots = [item for hashed, item in current if _evaluate(coefficients, hashed) == 0]
        if len(roots) != extra:
            raise SketchMismatch(f"expected {extra} unaccounted members, named {len(roots)}")
        return roots


def _elementary_symmetric(power_sums: Sequence[int]) -> list[int]:
    """e_0..e_m from p_1..p_m (Newton's identities, modulo PRIME)."""
    e = [1]
    for k in range(1, len(power_sums) + 1):
        acc = 0
        for i in range(1, k + 1):
            term = e[k - i] * power_sums[i - 1]
            acc = acc + term if i % 2 == 1 else acc - term
        e.append(acc % PRIME * pow(k, -1, PRIME) % PRIME)
    return e


def _evaluate(e: Sequence[int], x: int) -> int:
    """The monic polynomial whose roots have elementary symmetric sums e, at x."""
    value = 0
    for k, coefficient in enumerate(e):
        value = (value * x + (coefficient if k % 2 == 0 else -coefficient)) % PRIME
    return value


@dataclass(slots=True)
class Fingerprint:
    """What has been accounted for. Buckets run newest first; floors strictly decrease."""

    head: int | None = None
    # id hash -> created, for every activity accounted for at or above recent_floor
    recent: dict[int, int] = field(default_factory=dict)
    recent_floor: int | None = None
    buckets: list[Bucket] = field(default_factory=list)
    # The bottom of the list that was never read: how many, and the newest date among them.
    unread: int = 0
    unread_through: int | None = None

    @property
    def total(self) -> int:
        return sum(bucket.count for bucket in self.buckets) + self.unread

    def leave_unread(self, count: int, through: int) -> None:
        """Account for `count` activities below all that was read, dated at or below
        `through`, by number only. Everything named must be dated above `through`."""
        assert count > 0
        assert all(bucket.floor > through for bucket in self.buckets)
        self.unread, self.unread_through = count, through
        # Whatever a later read meets dated above `through` lies in a bucket's range, so its
        # sketch can name it; at or below, it is in the unread part.
        if self.buckets:
            self.buckets[-1].floor = through + 1
        floor = through + 1
        self.recent_floor = floor if self.recent_floor is None else max(self.recent_floor, floor)
        self._prune_recent()

    def absorb_unread(self, read: Fingerprint) -> None:
        """The unread part, now read and accounted for in `read`, becomes known history."""
        assert self.unread_through is not None
        assert read.head is None or read.head <= self.unread_through
        self.buckets.extend(read.buckets)
        self.unread, self.unread_through = 0, None
        while len(self.buckets) > MAX_BUCKETS:
            self._merge_smallest_pair()

    def copy(self) -> Fingerprint:
        return Fingerprint.decode(self.encode())

    def is_recent(self, activity_id: str) -> bool:
        """True when an activity dated at or above recent_floor is already accounted for."""
        return id_hash(activity_id) in self.recent

    def bucket_index(self, created: int) -> int | None:
        """The bucket covering `created`, or None when it is older than every bucket."""
        for index, bucket in enumerate(self.buckets):
            if bucket.floor <= created:
                return index
        return None

    def clear_bucket(self, index: int) -> None:
        """Forget what bucket `index` accounted for (its date range stays)."""
        self.buckets[index] = Bucket(floor=self.buckets[index].floor)

    def add_all(self, items: Iterable[tuple[str, int]]) -> None:
        """Account for (id, created) pairs, oldest first so that buckets fill evenly."""
        for activity_id, created in sorted(items, key=lambda item: (item[1], item[0])):
            self._add(activity_id, created)

    def _add(self, activity_id: str, created: int) -> None:
        hashed = id_hash(activity_id)
        if self.head is None or created > self.head:
            if not self.buckets or self.buckets[0].count >= TARGET_BUCKET_SIZE:
                self.buckets.insert(0, Bucket(floor=created))
            self.head = created
            floor = created - RECENT_WINDOW
            self.recent_floor = (
                floor if self.recent_floor is None else max(self.recent_floor, floor)
            )
        assert self.recent_floor is not None
        if created >= self.recent_floor:
            self.recent[hashed] = created
            if len(self.recent) > 2 * RECENT_LIMIT:
                self._prune_recent()
        index = self.bucket_index(created)
        if index is None:
            index = len(self.buckets) - 1
            self.buckets[index].floor = created
        self.buckets[index].add(hashed)
        if len(self.buckets) > MAX_BUCKETS:
            self._merge_smallest_pair()

    def _prune_recent(self) -> None:
        """Drop entries below the floor, then the oldest beyond RECENT_LIMIT, raising the
        floor past them: whatever is at or above the floor stays known."""
        assert self.recent_floor is not None
        floor = self.recent_floor
        kept = sorted((c, h) for h, c in self.recent.items() if c >= floor)
        if len(kept) > RECENT_LIMIT:
            floor = kept[-RECENT_LIMIT - 1][0] + 1
            kept = [(c, h) for c, h in kept if c >= floor]
        self.recent_floor = floor
        self.recent = {h: c for c, h in kept}

    def _merge_smallest_pair(self) -> None:
        pairs = range(len(self.buckets) - 1)
        newer = min(pairs, key=lambda i: self.buckets[i].count + self.buckets[i + 1].count)
        self.buckets[newer].absorb(self.buckets.pop(newer + 1))

    def encode(self) -> bytes:
        if self.recent_floor is not None:
            self._prune_recent()
        parts = [
            struct.pack(
                _HEADER, _FORMAT_VERSION, self.head or 0, self.recent_floor or 0, len(self.recent)
            ),
            struct.pack(_UNREAD, self.unread, self.unread_through or 0),
        ]
        parts.extend(struct.pack(">Qq", h, c) for h, c in sorted(self.recent.items()))
        parts.append(struct.pack(">I", len(self.buckets)))
        for bucket in self.buckets:
            parts.append(
                struct.pack(f">qI{SKETCH_SIZE}Q", bucket.floor, bucket.count, *bucket.sums)
            )
        return b"".join(parts)

    @classmethod
    def decode(cls, data: bytes) -> Fingerprint:
        version, head, recent_floor, recent_count = struct.unpack_from(_HEADER, data)
        if version not in (1, _FORMAT_VERSION):
            raise ValueError(f"unknown fingerprint format {version}")
        offset = struct.calcsize(_HEADER)
        unread, unread_through = 0, 0
        if version >= 2:
            unread, unread_through = struct.unpack_from(_UNREAD, data, offset)
            offset += struct.calcsize(_UNREAD)
        flat = struct.unpack_from(f">{'Qq' * recent_count}", data, offset)
        recent = dict(zip(flat[::2], flat[1::2], strict=True))
        offset += 16 * recent_count
        (bucket_count,) = struct.unpack_from(">I", data, offset)
        offset += 4
        layout = f">qI{SKETCH_SIZE}Q"
        buckets = []
        for _ in range(bucket_count):
            floor, count, *sums = struct.unpack_from(layout, data, offset)
            offset += struct.calcsize(layout)
            buckets.append(Bucket(floor=floor, count=count, sums=list(sums)))
        return cls(
            head=head if buckets else None,
            recent=recent,
            recent_floor=recent_floor if buckets or unread else None,
            buckets=buckets,
            unread=unread,
            unread_through=unread_through if unread else None,
        )
