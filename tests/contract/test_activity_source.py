"""ActivitySource: FakeLeadLex agrees with LeadLexClient on the LeadLex sandbox over HTTP:
pages newest first, totals, the end of the list, ties, unknown and malformed contact ids."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from activity_relay.core.model import ContactNotFound, SourceError, epoch_micros
from tests.contract.conftest import PAGE_SIZE, SourceUnderTest

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_the_page_size_is_the_one_configured(activity_source: SourceUnderTest) -> None:
    assert activity_source.source.page_size == PAGE_SIZE


def test_pages_list_the_activities_newest_first_with_the_total(
    activity_source: SourceUnderTest,
) -> None:
    # Given seven activities logged a minute apart, not in date order
    contact_id = activity_source.new_contact()
    minutes = [3, 0, 6, 1, 5, 2, 4]
    ids = {
        minute: activity_source.log(contact_id, START + timedelta(minutes=minute))
        for minute in minutes
    }

    # When the three pages are read
    pages = [activity_source.source.fetch_page(contact_id, page) for page in (1, 2, 3)]

    # Then they hold 3, 3 and 1 activities, newest first, each page numbered and totalled
    assert [len(page.activities) for page in pages] == [3, 3, 1]
    assert [(page.number, page.per_page, page.total) for page in pages] == [
        (1, PAGE_SIZE, 7),
        (2, PAGE_SIZE, 7),
        (3, PAGE_SIZE, 7),
    ]
    listed = [activity for page in pages for activity in page.activities]
    assert [a.id for a in listed] == [ids[minute] for minute in sorted(minutes, reverse=True)]
    assert [a.created_micros for a in listed] == [
        epoch_micros(START + timedelta(minutes=minute)) for minute in sorted(minutes, reverse=True)
    ]


def test_a_page_past_the_end_is_empty_and_still_totalled(
    activity_source: SourceUnderTest,
) -> None:
    contact_id = activity_source.new_contact()
    activity_source.log(contact_id, START)

    page = activity_source.source.fetch_page(contact_id, 5)

    assert (page.number, page.total, page.activities) == (5, 1, ())


def test_a_contact_without_activities_has_an_empty_first_page(
    activity_source: SourceUnderTest,
) -> None:
    page = activity_source.source.fetch_page(activity_source.new_contact(), 1)

    assert (page.total, page.activities) == (0, ())


def test_activities_of_the_same_moment_list_the_last_logged_first(
    activity_source: SourceUnderTest,
) -> None:
    contact_id = activity_source.new_contact()
    first = activity_source.log(contact_id, START)
    second = activity_source.log(contact_id, START)

    page = activity_source.source.fetch_page(contact_id, 1)

    assert [a.id for a in page.activities] == [second, first]


def test_the_type_of_each_activity_is_read(activity_source: SourceUnderTest) -> None:
    contact_id = activity_source.new_contact()
    activity_source.log(contact_id, START, "email")
    activity_source.log(contact_id, START + timedelta(minutes=1), "meeting")

    page = activity_source.source.fetch_page(contact_id, 1)

    assert [a.activity_type for a in page.activities] == ["meeting", "email"]


def test_an_unknown_contact_is_not_found(activity_source: SourceUnderTest) -> None:
    with pytest.raises(ContactNotFound):
        activity_source.source.fetch_page(activity_source.unknown, 1)


def test_a_contact_id_in_capitals_names_the_same_contact(
    activity_source: SourceUnderTest,
) -> None:
    contact_id = activity_source.new_contact()
    activity_source.log(contact_id, START)

    page = activity_source.source.fetch_page(contact_id.upper(), 1)

    assert page.total == 1


@pytest.mark.parametrize("contact_id", ["not-a-uuid", "../../admin", ""])
def test_an_id_that_is_no_uuid_is_refused_not_reported_missing(
    activity_source: SourceUnderTest, contact_id: str
) -> None:
    with pytest.raises(SourceError) as refused:
        activity_source.source.fetch_page(contact_id, 1)

    assert not isinstance(refused.value, ContactNotFound)


def test_there_is_no_page_before_the_first(activity_source: SourceUnderTest) -> None:
    contact_id = activity_source.new_contact()

    with pytest.raises(ValueError, match="page"):
        activity_source.source.fetch_page(contact_id, 0)
