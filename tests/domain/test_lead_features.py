"""The ledger's training row for a lead uses nothing that happened at or after the decision time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from leadledger.domain.predict.lead_features import RECENT_DAYS, lead_features, lead_row
from leadledger.domain.records import Event
from tests.builders import account, contact

TYPES = ("pricing_page_view", "demo_request", "email_open", "reply")
DECISION = datetime(2026, 3, 1, tzinfo=UTC)
LEAD = contact(id=1, seniority="vp", role="sales", source="webinar",
               created_at=DECISION - timedelta(days=60))
ACME = account(id=1, industry="software", employees=120, annual_revenue=5e6, country="DE")


def event(i: int, kind: str, at: datetime, two_way: bool = False) -> Event:
    return Event(id=f"e{i}", contact_id=1, type=kind, occurred_at=at, two_way=two_way)


def row(events: list[Event]) -> dict[str, str | None]:
    return lead_row(LEAD, ACME, events, DECISION, event_types=TYPES, half_life_days=30)


offsets = st.integers(min_value=0, max_value=400 * 86_400)  # seconds
kinds = st.sampled_from((*TYPES, "webinar_attended"))
events_before = st.lists(st.tuples(kinds, offsets.map(lambda s: s + 1), st.booleans()), max_size=25)
events_after = st.lists(st.tuples(kinds, offsets, st.booleans()), min_size=1, max_size=25)


@settings(max_examples=100, deadline=None)
@given(before=events_before, after=events_after)
def test_no_event_at_or_after_the_decision_time_changes_the_row(
    before: list[tuple[str, int, bool]], after: list[tuple[str, int, bool]]
) -> None:
    past = [event(i, k, DECISION - timedelta(seconds=s), w) for i, (k, s, w) in enumerate(before)]
    future = [event(1000 + i, k, DECISION + timedelta(seconds=s), w) for i, (k, s, w) in enumerate(after)]
    expected = row(past)
    assert row(past + future) == expected
    assert row(future[::-1] + past[::-1]) == expected  # order of the records does not matter either


def test_a_row_by_hand() -> None:
    events = [
        event(1, "pricing_page_view", DECISION - timedelta(days=30)),  # decays to half
        event(2, "pricing_page_view", DECISION - timedelta(days=2)),
        event(3, "reply", DECISION - timedelta(days=3), two_way=True),
        event(4, "demo_request", DECISION),  # at the decision time: too late
        event(5, "webinar_attended", DECISION - timedelta(days=1)),  # not a feature type: still activity
    ]
    r = row(events)
    assert (r["industry"], r["employees"], r["seniority"], r["opted_out"]) == ("software", "120", "vp", "no")
    assert r["pricing_page_view count"] == "2"
    assert float(r["pricing_page_view decayed"] or 0) == pytest.approx(0.5 + 0.5 ** (2 / 30))
    assert r["pricing_page_view days since last"] == "2"
    assert (r["demo_request count"], r["demo_request days since last"]) == ("0", None)
    assert r["two-way conversations"] == "1"
    assert r[f"events in the last {RECENT_DAYS} days"] == "3"
    assert (r["days since last event"], r["days since created"]) == ("1", "60")
    assert list(r) == [s.name for s in lead_features(TYPES)]
