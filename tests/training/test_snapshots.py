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


def test_past_max_rows_whole_leads_are_sampled_keeping_the_converted_share() -> None:
    from types import SimpleNamespace
    from typing import Any, cast

    from leadledger.services.training.ledger import sample_leads

    # 300 leads: every 10th converts (its last of 4 rows is converted); the others have 6 rows.
    plan: list[Any] = []
    for i in range(300):
        lead, n = SimpleNamespace(id=i), 4 if i % 10 == 0 else 6
        plan += [(lead, CREATED + timedelta(days=7 * k), i % 10 == 0 and k == n - 1) for k in range(n)]
    assert sample_leads(plan, len(plan), seed=0) == (plan, None)
    kept, before = sample_leads(plan, 600, seed=0)
    assert before == (len(plan), 300) and 570 <= len(kept) <= 600
    rows: dict[int, int] = {}
    for c, _, _ in kept:
        rows[c.id] = rows.get(c.id, 0) + 1
    assert all(n == (4 if i % 10 == 0 else 6) for i, n in rows.items())  # no lead split
    converted = sum(1 for i in rows if i % 10 == 0)
    assert abs(converted / len(rows) - 0.1) < 0.02  # the converted share of leads is kept
    assert kept == [p for p in plan if p[0].id in rows]  # plan order
    assert sample_leads(plan, 600, seed=0) == (kept, before)  # seeded
    assert sample_leads(cast(Any, plan), 600, seed=1)[0] != kept
    note = rows_note(dataclasses_replace_max(WEEKLY), len(kept), len(rows), before)
    assert f"of {len(plan):,} rows from 300 leads" in note and "under 600 rows" in note


def dataclasses_replace_max(outcome: LedgerOutcome) -> LedgerOutcome:
    import dataclasses

    return dataclasses.replace(outcome, max_rows=600)
