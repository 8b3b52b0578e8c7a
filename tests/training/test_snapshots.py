"""Snapshot times of a lead: weekly while open, before sales contact, with a known label window, capped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from leadledger.services.training.ledger import LedgerOutcome, Snapshots, evenly, rows_note, snapshot_times

CREATED = datetime(2026, 1, 1, tzinfo=UTC)
LATE = CREATED + timedelta(days=1000)
WEEKLY = LedgerOutcome(stage="sql", horizon_days=63, snapshots=Snapshots(every_days=7, within_days=30))


def days(times: list[datetime]) -> list[int]:
    return [(t - CREATED).days for t in times]


def test_weekly_up_to_the_horizon_while_open() -> None:
    assert days(snapshot_times(CREATED, None, WEEKLY, LATE)) == [7, 14, 21, 28, 35, 42, 49, 56, 63]
    reached = CREATED + timedelta(days=30)
    assert days(snapshot_times(CREATED, reached, WEEKLY, LATE)) == [7, 14, 21, 28]
    assert snapshot_times(CREATED, CREATED + timedelta(days=7), WEEKLY, LATE) == []  # reached at the 1st


def test_the_label_window_must_have_ended() -> None:
    as_of = CREATED + timedelta(days=50)  # day 20 + 30 = 50 is the last known window
    assert days(snapshot_times(CREATED, None, WEEKLY, as_of)) == [7, 14]


def test_stops_at_sales_contact_unless_asked() -> None:
    contacted = CREATED + timedelta(days=15)
    assert days(snapshot_times(CREATED, None, WEEKLY, LATE, contacted)) == [7, 14]
    after = LedgerOutcome(stage="sql", horizon_days=21, snapshots=Snapshots(7, 30, after_contact=True))
    assert days(snapshot_times(CREATED, None, after, LATE, contacted)) == [7, 14, 21]


def test_capped_evenly_keeping_the_first_and_last() -> None:
    capped = LedgerOutcome(stage="sql", horizon_days=63, snapshots=Snapshots(7, 30, per_lead=3))
    assert days(snapshot_times(CREATED, None, capped, LATE)) == [7, 35, 63]
    assert evenly([CREATED], 1) == [CREATED]


def test_the_note_says_what_a_row_is() -> None:
    note = rows_note(WEEKLY, 41_230, 8_112)
    assert note.startswith("1 row per lead per week while open and before sales contact")
    assert note.endswith("41,230 rows from 8,112 leads")
    single = LedgerOutcome(stage="sql", decision_days=7)
    assert rows_note(single, 10, 10) == "1 row per lead, as of day 7: 10 rows from 10 leads"


def test_the_data_minimum_counts_leads_not_rows() -> None:
    from leadledger.services.training.run import outcome_counts
    from leadledger.services.training.table import LeadTable

    rows = LeadTable(source="t", features=(), columns={}, outcomes=[False, True, True, False, False],
                     lines=[1, 1, 1, 2, 3], order=None, groups=[1, 1, 1, 2, 3])
    assert outcome_counts(rows) == (1, 2)  # lead 1 converted (twice over), leads 2 and 3 did not
    single = LeadTable(source="t", features=(), columns={}, outcomes=[True, False], lines=[1, 2], order=None)
    assert outcome_counts(single) == (1, 1)
