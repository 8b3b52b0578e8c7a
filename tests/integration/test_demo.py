"""The demo data set on real databases: deterministic, internally consistent, with planted truths."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, create_engine, func, select, text

from leadledger.domain.facts import ContactFacts, gather_facts
from leadledger.domain.gates import evaluate_gate
from leadledger.domain.policy import Policy
from leadledger.domain.records import TWO_WAY_BY_DEFAULT, EventType
from leadledger.domain.scoring import fit_values, score_fit
from leadledger.errors import LeadledgerError
from leadledger.services.demo import GROUND_TRUTH_KEY, DemoReport, load_demo
from leadledger.services.scoring import rescore
from leadledger.services.setup import init_database
from leadledger.services.sweep import sweep
from leadledger.store.activity import get_meta
from leadledger.store.db import from_db, make_engine, normalize_url
from leadledger.store.policies import load_active_policy
from leadledger.store.records import (
    account_by_id,
    contact_by_email,
    events_for,
    evidence_for,
    opportunities_for,
)
from leadledger.store.schema import (
    accounts,
    contact_activity,
    contacts,
    events,
    metadata,
    opportunities,
    stage_changes,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NAIVE_NOW = NOW.replace(tzinfo=None)
SCALE = 0.1
PG_ENV = "LEADLEDGER_TEST_PG_URL"
BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
KINDS = (
    "sql_without_evidence", "customer_without_booking", "customer_contact_in_nurture",
    "opportunity_without_open_opportunity", "stale_open_opportunity", "sal_without_owner",
)

# ---------------------------------------------------------------- databases


def _pg_server() -> str:
    url = os.environ.get(PG_ENV)
    if not url:
        if os.environ.get("LEADLEDGER_REQUIRE_PG") == "1":
            pytest.fail(f"{PG_ENV} is not set but LEADLEDGER_REQUIRE_PG=1")
        pytest.skip(f"{PG_ENV} not set")
    return normalize_url(url)


@contextmanager
def _pg_database(server: str) -> Iterator[str]:
    """A throwaway database on the server, dropped afterwards."""
    name = f"t_{uuid.uuid4().hex}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{server.rpartition('/')[0]}/{name}"
    finally:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _databases(backend: str, folder: Path) -> Iterator[Callable[[], Engine]]:
    """A factory of fresh, initialised databases on `backend`, all cleaned up on exit."""
    engines: list[Engine] = []
    cleanups: list[Any] = []
    server = _pg_server() if backend == "postgres" else ""

    def make() -> Engine:
        if backend == "sqlite":
            url = f"sqlite:///{folder}/t{len(engines) or ''}.db"
        else:
            cm = _pg_database(server)
            url = cm.__enter__()
            cleanups.append(cm)
        engine = make_engine(url)
        init_database(engine, model="lead-first", now=NOW)
        engines.append(engine)
        return engine

    try:
        yield make
    finally:
        for engine in engines:
            engine.dispose()
        for cm in cleanups:
            cm.__exit__(None, None, None)


@pytest.fixture(params=BACKENDS)
def new_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Callable[[], Engine]]:
    """Fresh, initialised databases on each backend."""
    with _databases(request.param, tmp_path) as make:
        yield make


@pytest.fixture(scope="module", params=BACKENDS)
def loaded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Engine, DemoReport]]:
    """One demo load per backend (scale 0.1), shared by the read-only tests."""
    with _databases(request.param, tmp_path_factory.mktemp("demo")) as make:
        engine = make()
        yield engine, load_demo(engine, now=NOW, seed=7, scale=SCALE)


# ---------------------------------------------------------------- helpers


def truth(conn: Connection) -> dict[str, Any]:
    raw = get_meta(conn, GROUND_TRUTH_KEY)
    assert raw is not None
    result: dict[str, Any] = json.loads(raw)
    return result


def planted(conn: Connection, kind: str | None = None) -> dict[str, dict[str, str]]:
    """Planted mislabels by email (of one kind, if given)."""
    return {m["email"]: m for m in truth(conn)["mislabeled"] if kind is None or m["kind"] == kind}


def emails_at(conn: Connection, stage: str) -> list[str]:
    rows = conn.execute(select(contacts.c.email).where(contacts.c.stage == stage).order_by(contacts.c.id))
    return list(rows.scalars())


def facts_for(conn: Connection, email: str, policy: Policy) -> ContactFacts:
    """A contact's full facts from the database, fit scored by the domain's reference."""
    contact = contact_by_email(conn, email)
    account = account_by_id(conn, contact.account_id)
    fit = score_fit(fit_values(contact, account), policy.scoring)[0]
    opps = opportunities_for(conn, [contact.account_id]).get(contact.account_id or 0, []) if account else []
    return gather_facts(
        contact=contact, account=account, events=events_for(conn, contact.id),
        evidence=evidence_for(conn, [contact.id]), opportunities=opps, fit=fit, score=0.0, policy=policy,
    )


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in primary-key order."""
    with engine.connect() as c:
        return {
            t.name: [tuple(r) for r in c.execute(select(t).order_by(*t.primary_key.columns))]
            for t in metadata.sorted_tables
        }


# ---------------------------------------------------------------- shape and ledger


def test_report_matches_the_tables(loaded: tuple[Engine, DemoReport]) -> None:
    engine, report = loaded
    with engine.connect() as c:
        def count(table: Any) -> int:
            return int(c.execute(select(func.count()).select_from(table)).scalar_one())

        assert report.accounts == count(accounts) == 200
        assert report.contacts == count(contacts) == 1_000
        assert report.events == count(events)
        assert report.stage_changes == count(stage_changes)
        assert report.opportunities_won + report.opportunities_lost + report.opportunities_open == count(
            opportunities
        )
        per_stage = dict(c.execute(select(contacts.c.stage, func.count()).group_by(contacts.c.stage)).all())
    assert {k: v for k, v in report.stages.items() if v} == per_stage
    assert all(report.stages[s] > 0 for s in ("lead", "mql", "sal", "sql", "opportunity", "customer"))
    assert report.mislabeled == 30
    d = report.to_dict()
    assert d["contacts"] == 1_000 and isinstance(d["stages"], dict)


def test_stage_equals_the_last_ledger_entry_and_entries_chain(loaded: tuple[Engine, DemoReport]) -> None:
    engine, _ = loaded
    with engine.connect() as c:
        policy = load_active_policy(c)
        ledger: dict[int, list[Any]] = defaultdict(list)
        for r in c.execute(select(stage_changes).order_by(stage_changes.c.at, stage_changes.c.id)):
            ledger[r.contact_id].append(r)
        people = c.execute(select(contacts)).all()
    assert len(ledger) == len(people)
    for p in people:
        entries = ledger[p.id]
        assert entries[0].from_stage is None and entries[0].to_stage == "lead"
        assert from_db(entries[0].at) == from_db(p.created_at)
        for before, after in pairwise(entries):
            assert after.from_stage == before.to_stage
        assert entries[-1].to_stage == p.stage
        assert from_db(entries[-1].at) == from_db(p.stage_entered_at)
        assert all(e.policy_version == policy.version for e in entries)
        assert all(isinstance(json.loads(e.evidence), dict) for e in entries)


def test_moves_carry_the_gate_snapshots(loaded: tuple[Engine, DemoReport]) -> None:
    engine, _ = loaded
    with engine.connect() as c:
        rows = c.execute(select(stage_changes)).all()
    by_move = defaultdict(list)
    for r in rows:
        snapshot = json.loads(r.evidence)
        if r.actor != "import:legacy-crm" and not snapshot.get("backward_move"):
            by_move[r.to_stage].append(snapshot)
    assert all({"fit", "score", "threshold"} <= e.keys() for e in by_move["mql"])
    assert all(e["score"] >= e["threshold"] for e in by_move["mql"])
    assert all(e.get("owner") for e in by_move["sal"])
    sql = [e for e in by_move["sql"] if e.get("path") != "product-led trial"]
    assert sql and all({"need", "authority", "timeline"} <= e["evidence"].keys() for e in sql)
    assert all(e["two_way_interactions"] > 0 and e["buying_signals"] > 0 for e in sql)
    assert all("opportunity" in e for e in by_move["opportunity"])
    assert all(e["won_opportunities"] for e in by_move["customer"])


# ---------------------------------------------------------------- planted mislabels


def test_ground_truth_lists_every_kind_as_imported(loaded: tuple[Engine, DemoReport]) -> None:
    engine, _ = loaded
    with engine.connect() as c:
        gt = truth(c)
        counts = Counter(m["kind"] for m in gt["mislabeled"])
        assert gt["seed"] == 7
        assert {"demo_request", "pricing_page_view", "seniority"} <= set(gt["true_drivers"])
        assert set(counts) == set(KINDS) and min(counts.values()) >= 5
        for m in gt["mislabeled"]:
            contact = contact_by_email(c, m["email"])
            assert contact.stage == m["label"] != m["supported_label"]
            last = c.execute(
                select(stage_changes).where(stage_changes.c.contact_id == contact.id)
                .order_by(stage_changes.c.at.desc(), stage_changes.c.id.desc()).limit(1)
            ).one()
            assert last.actor == "import:legacy-crm"
            assert json.loads(last.evidence) == {"imported_label": m["label"]}
        imported = c.execute(
            select(func.count()).where(stage_changes.c.actor == "import:legacy-crm")
        ).scalar_one()
    assert imported == len(gt["mislabeled"])


def test_customers_are_signed_and_booked_unless_planted(loaded: tuple[Engine, DemoReport]) -> None:
    engine, _ = loaded
    with engine.connect() as c:
        policy = load_active_policy(c)
        bad = planted(c, "customer_without_booking")
        nurtured = planted(c, "customer_contact_in_nurture")
        customers = emails_at(c, "customer")
        assert set(bad) <= set(customers)
        for email in customers:
            facts = facts_for(c, email, policy)
            assert facts.account_is_customer == (email not in bad), email
            if email in bad:  # a verbal yes or a proposal out: open, maybe signed, never booked
                assert not facts.won_opportunities and any(o.is_open for o in facts.opportunities)
        for email in nurtured:
            facts = facts_for(c, email, policy)
            assert facts.contact.stage in ("lead", "nurture") and facts.account_is_customer


def test_clean_sql_contacts_pass_the_sql_gate(loaded: tuple[Engine, DemoReport]) -> None:
    engine, _ = loaded
    with engine.connect() as c:
        policy = load_active_policy(c)
        sql = policy.stage("sql")
        assert sql is not None
        bad = planted(c, "sql_without_evidence")
        at_sql = emails_at(c, "sql")
        assert len(at_sql) > len(bad) + 10
        for email in at_sql:
            result = evaluate_gate(facts_for(c, email, policy), sql, policy)
            if email in bad:
                assert any(m.requirement.startswith("evidence:") for m in result.missing), email
            else:
                assert result.passed, (email, result.missing)


def test_pipeline_stages_are_backed_by_deals_and_owners(loaded: tuple[Engine, DemoReport]) -> None:
    engine, _ = loaded
    with engine.connect() as c:
        policy = load_active_policy(c)
        no_deal = planted(c, "opportunity_without_open_opportunity")
        stale = planted(c, "stale_open_opportunity")
        stale_ids = {m["opportunity"] for m in stale.values()}
        for email in emails_at(c, "opportunity"):
            facts = facts_for(c, email, policy)
            open_deals = [o for o in facts.opportunities if o.is_open]
            if email in no_deal:
                assert not open_deals
                continue
            assert open_deals and all(o.amount and o.expected_close for o in open_deals)
        open_rows = c.execute(
            select(opportunities.c.external_id, opportunities.c.expected_close).where(
                opportunities.c.booked_at.is_(None), opportunities.c.lost_reason.is_(None)
            )
        ).all()
        for r in open_rows:
            past_due = (from_db(r.expected_close) or NOW) < NOW
            assert past_due == (r.external_id in stale_ids), r.external_id
        unowned = planted(c, "sal_without_owner")
        for email in emails_at(c, "sal"):
            assert (contact_by_email(c, email).owner is None) == (email in unowned)


# ---------------------------------------------------------------- realism


def test_the_planted_signal_is_real(loaded: tuple[Engine, DemoReport]) -> None:
    engine, _ = loaded
    with engine.connect() as c:
        demo = set(c.execute(select(events.c.contact_id).where(events.c.type == "demo_request")).scalars())
        reached = set(c.execute(
            select(stage_changes.c.contact_id).where(
                stage_changes.c.to_stage == "sql", stage_changes.c.actor != "import:legacy-crm"
            )
        ).scalars())
        everyone = set(c.execute(select(contacts.c.id)).scalars())
    with_demo = len(demo & reached) / len(demo)
    without = len(reached - demo) / len(everyone - demo)
    assert with_demo > 0.25 and with_demo > 4 * without, (with_demo, without)


def test_events_look_like_engagement(loaded: tuple[Engine, DemoReport]) -> None:
    engine, _ = loaded
    with engine.connect() as c:
        rows = c.execute(
            select(events.c.event_id, events.c.type, events.c.two_way, events.c.occurred_at,
                   contacts.c.created_at).join(contacts, contacts.c.id == events.c.contact_id)
        ).all()
        aggregated = c.execute(select(func.sum(contact_activity.c.page_view_n))).scalar_one()
    types = Counter(r.type for r in rows)
    assert set(types) <= {e.value for e in EventType}
    assert len({r.event_id for r in rows}) == len(rows) and all(r.event_id.startswith("demo-") for r in rows)
    assert all(bool(r.two_way) == (r.type in TWO_WAY_BY_DEFAULT) for r in rows)
    assert all(from_db(r.created_at) <= from_db(r.occurred_at) < NOW for r in rows)  # type: ignore[operator]
    assert (types["page_view"] + types["email_open"]) / len(rows) > 0.5
    assert types["demo_request"] < types["pricing_page_view"] < types["page_view"]
    assert types["trial_usage"] > 0 and types["unsubscribe"] > 0
    assert aggregated == types["page_view"]  # the activity aggregates were rebuilt from the events


def test_free_student_and_competitor_addresses_have_no_account(loaded: tuple[Engine, DemoReport]) -> None:
    engine, _ = loaded
    with engine.connect() as c:
        rows = c.execute(select(contacts.c.email, contacts.c.account_id)).all()
    domains = {r.email.rsplit("@", 1)[1]: r.account_id for r in rows}
    assert any(d.endswith(".edu") for d in domains)
    assert "hubspot.com" in domains or "salesforce.com" in domains
    for r in rows:
        domain = r.email.rsplit("@", 1)[1]
        if domain.endswith(".edu") or domain in ("hubspot.com", "salesforce.com", "gmail.com"):
            assert r.account_id is None, r.email


# ---------------------------------------------------------------- loading


def test_same_seed_same_bytes_other_seed_differs(new_db: Callable[[], Engine]) -> None:
    first, second, third = new_db(), new_db(), new_db()
    load_demo(first, now=NOW, seed=11, scale=0.05)
    load_demo(second, now=NOW, seed=11, scale=0.05)
    load_demo(third, now=NOW, seed=12, scale=0.05)
    a, b, other = dump(first), dump(second), dump(third)
    assert a == b
    assert a["contacts"] != other["contacts"] and a["events"] != other["events"]


def test_a_non_empty_database_is_refused_and_ids_continue(new_db: Callable[[], Engine]) -> None:
    engine = new_db()
    load_demo(engine, now=NOW, seed=3, scale=0.02)
    with pytest.raises(LeadledgerError, match=r"already holds 200 contacts.*needs an empty database"):
        load_demo(engine, now=NOW, seed=3, scale=0.02)
    with engine.begin() as c:  # serial ids continue after the demo's own (PostgreSQL sequences)
        c.execute(accounts.insert().values(domain="later.example", name="Later", created_at=NAIVE_NOW,
                                           updated_at=NAIVE_NOW))
        assert c.execute(select(func.max(accounts.c.id))).scalar_one() == 41


def test_the_automatic_rules_find_the_data_settled(new_db: Callable[[], Engine]) -> None:
    engine = new_db()
    report = load_demo(engine, now=NOW, seed=7, scale=SCALE)
    scored = rescore(engine, NOW)  # what `leadledger score` does right after `leadledger demo`
    assert sum(scored.moves.moved.values()) <= report.contacts // 100, scored.moves.to_dict()
    assert set(scored.moves.refused) <= {"existing_customer"}  # planted: customers' contacts in nurture
    swept = sweep(engine, NOW)
    assert swept.breaches and sum(swept.moves.moved.values()) <= report.contacts // 100


def test_full_scale_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/t.db")
    init_database(engine, model="lead-first", now=NOW)
    steps: list[str] = []
    started = time.perf_counter()
    report = load_demo(engine, now=NOW, progress=lambda step, done, total: steps.append(step))
    elapsed = time.perf_counter() - started
    assert report.accounts == 2_000 and report.contacts == 10_000
    assert 180_000 <= report.events <= 240_000
    assert 140 <= report.mislabeled <= 160
    assert "engagement" in steps and "writing events" in steps
    with engine.connect() as c:
        first = c.execute(select(func.min(events.c.occurred_at))).scalar_one()
        churned = c.execute(select(func.count()).where(accounts.c.churned_at.is_not(None))).scalar_one()
    assert from_db(first) >= NOW - timedelta(days=366)  # type: ignore[operator]
    assert 3 <= churned <= 40
    assert elapsed < 30, f"the full demo took {elapsed:.1f}s"  # ~5–8 s here; generous for slow CI
    engine.dispose()
