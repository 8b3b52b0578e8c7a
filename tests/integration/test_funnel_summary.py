"""The funnel summary stays equal to a rebuild from the ledger, and its counts equal the ledger's.

Its month rows are checked against its day rows (each the sum of its month's) and read for every
window that holds a whole month.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, select, text

from leadledger.services import contacts as svc
from leadledger.services.funnel import funnel_report
from leadledger.services.importing import import_csv
from leadledger.services.scoring import rescore
from leadledger.services.setup import init_database
from leadledger.services.sweep import sweep
from leadledger.store import funnel_reads, funnel_summary, reporting
from leadledger.store.dialect import Window
from leadledger.store.funnel_summary import KEPT
from leadledger.store.policies import load_active_policy
from tests.builders import add_account, add_contact

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent.parent / "fixtures" / "import"
STAGES = ("lead", "mql", "sal", "sql", "opportunity", "customer", "nurture", "lead")
SOURCES = ("form_fill", "webinar", "", "outbound")


def _contacts_csv(path: Path) -> Path:
    """Thirty-two contacts over three months, a few created late on the last day, at every stage."""
    lines = ["email,first_name,last_name,account_domain,source,stage,created_at"]
    for i in range(32):
        created = NOW - timedelta(days=90 - 3 * i, hours=i % 5 * 5)
        if i >= 29:  # created on the morning of NOW's day, before and after noon
            created = NOW.replace(hour=6 + 2 * (i - 29)) if i < 31 else NOW + timedelta(hours=3)
        lines.append(
            f"p{i}@acme.com,Pat,N{i},acme.com,{SOURCES[i % 4]},{STAGES[i % 8]},"
            f"{created:%Y-%m-%d %H:%M:%S}"
        )
    path.write_text("\n".join(lines) + "\n")
    return path


def _dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every summary row, by day and by month; each month row must be the sum of its day rows."""
    with engine.connect() as c:
        rows = {
            t.name: sorted(tuple(r) for r in c.execute(select(t)))
            for kept in KEPT
            for t in (kept.by_day, kept.by_month)
        }
    for kept in KEPT:
        months: Counter[tuple[Any, ...]] = Counter()
        for day, *key, n in rows[kept.by_day.name]:
            months[(day[:7], *key)] += n
        assert sorted((*k, n) for k, n in months.items()) == rows[kept.by_month.name], kept.by_month.name
    return rows


def _history(engine: Engine, tmp_path: Path) -> None:
    """Imports (new and changed contacts), manual moves, a rescore and two sweeps."""
    import_csv(engine, "accounts", FIXTURES / "accounts.csv", now=NOW)
    import_csv(engine, "contacts", FIXTURES / "contacts.csv", now=NOW)
    import_csv(engine, "contacts", _contacts_csv(tmp_path / "more.csv"), now=NOW + timedelta(hours=6))
    events = tmp_path / "events.csv"  # its bad rows go to a rejects file beside it
    events.write_bytes((FIXTURES / "events.csv").read_bytes())
    import_csv(engine, "events", events, now=NOW)
    import_csv(engine, "contacts", FIXTURES / "contacts_changed.csv", now=NOW)  # source, created change
    moves = ((0, "nurture"), (2, "disqualified"), (8, "nurture"), (10, "mql"), (11, "sal"), (12, "sql"))
    for i, to in moves:  # side states, a sales rejection, backward moves
        when = NOW - timedelta(days=1, hours=i)
        svc.move(engine, f"p{i}@acme.com", to, now=when, actor="sam", reason="wrong persona")
    rescore(engine, NOW)
    sweep(engine, NOW + timedelta(days=200))
    sweep(engine, NOW + timedelta(days=400))


WINDOWS: list[Window] = [
    (None, None),
    (NOW - timedelta(days=60), NOW),  # a partial last day
    (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)),  # whole days only
    (NOW - timedelta(days=45, hours=7), NOW + timedelta(hours=1)),  # partial first and last days
    (NOW.replace(hour=5), NOW),  # inside one day
    (None, NOW - timedelta(days=10, hours=3)),
    (NOW + timedelta(days=1), None),
    # whole months between partial ones, bounds with microseconds, a month's last and first instants
    (datetime(2026, 3, 14, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 5, 20, 0, 0, 0, 1, tzinfo=UTC)),
    (datetime(2026, 2, 28, 23, 59, 59, 999999, tzinfo=UTC), datetime(2026, 5, 1, 0, 0, 0, 1, tzinfo=UTC)),
    (datetime(2026, 3, 1, 0, 0, 0, 1, tzinfo=UTC), datetime(2026, 5, 31, 23, 59, 59, 999999, tzinfo=UTC)),
    (datetime(2026, 5, 19, 23, 59, 59, 999999, tzinfo=UTC), NOW + timedelta(days=40)),  # June by month
    (datetime(2026, 3, 14, 23, 59, 59, 999999, tzinfo=UTC), NOW + timedelta(days=1, microseconds=1)),
    (datetime(2026, 3, 1, tzinfo=UTC), None),
    (None, datetime(2026, 5, 1, tzinfo=UTC)),
]


def _same_counts(engine: Engine) -> None:
    with engine.connect() as c:
        policy = load_active_policy(c)
        for window in WINDOWS:
            got = funnel_reads.summary_counts(c, policy, window)
            assert got is not None
            counts, stays = got
            want = reporting.funnel_counts(c, policy, window)
            assert Counter(counts.journeys) == Counter(want.journeys), window
            assert Counter(counts.reaches) == Counter(want.reaches), window
            assert Counter(counts.periods) == Counter(want.periods), window
            assert Counter(stays) == Counter(reporting.stay_counts(c, window)), window


def test_summary_equals_a_rebuild_after_imports_moves_and_sweeps(engine: Engine, tmp_path: Path) -> None:
    _history(engine, tmp_path)
    with engine.connect() as c:
        assert funnel_summary.is_fresh(c, load_active_policy(c))
    kept = _dump(engine)
    assert kept["funnel_stays"] and kept["funnel_reaches"]
    assert kept["funnel_stays_monthly"] and kept["funnel_reaches_monthly"]
    with engine.begin() as c:
        funnel_summary.rebuild(c, load_active_policy(c))
    assert _dump(engine) == kept
    _same_counts(engine)


def test_migration_0008_sums_the_day_rows_into_month_rows(engine: Engine, tmp_path: Path) -> None:
    from alembic import command

    from leadledger.store import db

    _history(engine, tmp_path)
    kept = _dump(engine)
    command.downgrade(db.alembic_config(engine), "0007")
    with engine.connect() as c:
        assert not any(c.dialect.has_table(c, kept.by_month.name) for kept in KEPT)
    init_database(engine, model="lead-first", now=NOW)  # `leadledger init` upgrades: 0008 fills them
    assert _dump(engine) == kept
    with engine.connect() as c:
        assert funnel_summary.is_fresh(c, load_active_policy(c))
    _same_counts(engine)


def test_a_write_around_the_summary_makes_reports_read_the_ledger(engine: Engine, tmp_path: Path) -> None:
    _history(engine, tmp_path)
    with engine.begin() as c:
        add_contact(c, "direct@acme.com", add_account(c, "direct.com"), created_at=NOW - timedelta(days=3))
        assert not funnel_summary.is_fresh(c, load_active_policy(c))
    window = (NOW - timedelta(days=30), NOW)
    report = funnel_report(engine, NOW, start=window[0], end=window[1])
    with engine.connect() as c:
        want = reporting.funnel_counts(c, load_active_policy(c), window)
    assert report.cohorts[-1].size == sum(j.contacts for j in want.journeys)
    svc.move(engine, "p4@acme.com", "sql", now=NOW, actor="sam", reason="stalled")  # stays stale
    with engine.connect() as c:
        assert not funnel_summary.is_fresh(c, load_active_policy(c))
    init_database(engine, model="lead-first", now=NOW)  # `leadledger init` recounts it
    with engine.connect() as c:
        assert funnel_summary.is_fresh(c, load_active_policy(c))
    _same_counts(engine)


@pytest.mark.parametrize("model", ["prospect-first"])
def test_a_policy_with_other_main_stages_recounts_the_summary(
    engine: Engine, model: str, tmp_path: Path
) -> None:
    from leadledger.policyfile import builtin_policy_text
    from leadledger.services.setup import apply_policy

    _history(engine, tmp_path)
    policy_file = tmp_path / f"{model}.yaml"
    policy_file.write_text(builtin_policy_text(model))
    apply_policy(engine, policy_file, NOW)
    with engine.connect() as c:
        assert funnel_summary.is_fresh(c, load_active_policy(c))
        assert c.execute(text("SELECT count(*) FROM funnel_journeys")).scalar_one() > 0
    _same_counts(engine)


def _inside(key: str, a: str | None, b: str | None) -> bool:
    return (a is None or key >= a) and (b is None or key < b)


@given(st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
       st.integers(min_value=1, max_value=800), st.booleans(), st.booleans())
def test_whole_days_split_into_whole_months_and_the_days_around_them(
    first: date, length: int, bounded_below: bool, bounded_above: bool
) -> None:
    lo = first.isoformat() if bounded_below else None
    hi = (first + timedelta(days=length)).isoformat() if bounded_above else None
    horizon = [(date(2023, 12, 1) + timedelta(days=i)).isoformat() for i in range(365 * 5)]
    got: list[str] = []
    for months, (a, b) in funnel_reads.by_month((lo, hi)):
        got += [d for d in horizon if _inside(d[:7] if months else d, a, b)]
    assert sorted(got) == [d for d in horizon if _inside(d, lo, hi)]  # every day once, none outside
