"""The set-based score evaluator agrees with the reference function on random data and policies."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select

from leadledger.domain.policy import FitRule, Policy, Scoring, Signal
from leadledger.domain.records import EventType
from leadledger.domain.scoring import score_contact
from leadledger.store import activity
from leadledger.store.batch_scoring import rescore_all
from leadledger.store.db import to_db
from leadledger.store.records import account_by_id, contact_by_email, events_for
from leadledger.store.schema import accounts, contact_activity, contacts, events, evidence, scores
from tests.builders import T0, add_events
from tests.conftest import NOW

INDUSTRIES = ["software", "retail", "healthcare", ""]
SENIORITY = ["c_level", "vp", "director", "individual"]
FIT_POOL = [
    FitRule(field="employees", op="gte", value=50, points=15, label="a"),
    FitRule(field="employees", op="between", value=(10, 500), points=4, label="b"),
    FitRule(field="annual_revenue", op="lte", value=1e7, points=-3, label="c"),
    FitRule(field="industry", op="in", value=("software", "healthcare"), points=10, label="d"),
    FitRule(field="industry", op="ne", value="retail", points=2, label="e"),
    FitRule(field="industry", op="not_in", value=("retail",), points=1, label="f"),
    FitRule(field="seniority", op="eq", value="VP", points=8, label="g"),
    FitRule(field="country", op="contains", value="u", points=1, label="h"),
    FitRule(field="tech_stack", op="contains", value="salesforce", points=5, label="i"),
    FitRule(field="tech_stack", op="not_in", value=("hubspot", "pipedrive"), points=2, label="j"),
    FitRule(field="email_domain", op="ends_with", value=".edu", points=-40, label="k"),
    FitRule(field="email_domain", op="in", value=("rival.com",), points=-100, label="l"),
    FitRule(field="source", op="eq", value="partner_referral", points=6, label="m"),
]
TYPES = [e.value for e in EventType]


@st.composite
def scorings(draw: st.DrawFn) -> Scoring:
    rules = draw(st.lists(st.sampled_from(FIT_POOL), unique_by=lambda r: r.label, max_size=8))
    types = draw(st.lists(st.sampled_from(TYPES), unique=True, min_size=1, max_size=8))
    signals = []
    for t in types:
        pts = draw(st.floats(-50, 60, allow_nan=False).filter(lambda x: abs(x) > 0.01))
        signals.append(Signal(event_type=t, points=pts, cap=draw(st.none() | st.floats(1, 100))))
    return Scoring(fit_rules=tuple(rules), signals=tuple(signals), half_life_days=45)


people = st.lists(
    st.fixed_dictionaries(
        {
            "domain": st.sampled_from(["acme.com", "uni.edu", "rival.com", "beta.io"]),
            "has_account": st.booleans(),
            "industry": st.sampled_from(INDUSTRIES),
            "employees": st.none() | st.integers(1, 20_000),
            "revenue": st.none() | st.floats(0, 1e9),
            "country": st.none() | st.sampled_from(["us", "gb", "de"]),
            "tech": st.none() | st.sampled_from(["salesforce", "hubspot,slack", "salesforce,slack", ""]),
            "seniority": st.none() | st.sampled_from(SENIORITY),
            "source": st.sampled_from(["form_fill", "partner_referral"]),
            "events": st.lists(st.tuples(st.sampled_from(TYPES), st.floats(0, 500)), max_size=12),
        }
    ),
    min_size=1,
    max_size=6,
)


def reset(engine: Engine) -> None:
    with engine.begin() as c:
        for t in (scores, contact_activity, events, evidence, contacts, accounts):
            c.execute(t.delete())


def load(engine: Engine, population: list[dict]) -> None:  # type: ignore[type-arg]
    ts = to_db(T0)
    with engine.begin() as c:
        for i, p in enumerate(population):
            acc_id = None
            if p["has_account"]:
                acc_id = c.execute(
                    accounts.insert().values(
                        domain=f"{i}.{p['domain']}",
                        name=f"A{i}",
                        industry=p["industry"] or None,
                        employees=p["employees"],
                        annual_revenue=p["revenue"],
                        country=p["country"],
                        tech_stack=p["tech"],
                        created_at=ts,
                        updated_at=ts,
                    )
                ).inserted_primary_key[0]
            cid = c.execute(
                contacts.insert().values(
                    email=f"p{i}@{p['domain']}",
                    account_id=acc_id,
                    seniority=p["seniority"],
                    source=p["source"],
                    opted_out=False,
                    stage="lead",
                    stage_entered_at=ts,
                    created_at=ts,
                    updated_at=ts,
                )
            ).inserted_primary_key[0]
            add_events(c, cid, [(t, NOW - timedelta(days=age)) for t, age in p["events"]], prefix=f"x{i}-")


@pytest.mark.parametrize("rebuild", [False, True], ids=["incremental", "rebuilt"])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(population=people, scoring=scorings(), half_life=st.floats(7, 120))
def test_batch_scores_match_the_reference(
    engine: Engine,
    lead_first: Policy,
    rebuild: bool,
    population: list[dict],
    scoring: Scoring,
    half_life: float,  # type: ignore[type-arg]
) -> None:
    reset(engine)
    load(engine, population)
    with engine.begin() as c:
        if rebuild:
            anchor, _ = activity.decay_params(c)
            activity.rebuild(c, half_life, anchor)
            scoring = replace(scoring, half_life_days=half_life)
        policy = replace(lead_first, scoring=scoring)
        rescore_all(c, policy, NOW)
        if rebuild:
            activity.rebuild(c, lead_first.scoring.half_life_days, anchor)
    with engine.connect() as c:
        stored = {r.contact_id: r for r in c.execute(select(scores))}
        for i, p in enumerate(population):
            ct = contact_by_email(c, f"p{i}@{p['domain']}")
            ref = score_contact(
                ct, account_by_id(c, ct.account_id), events_for(c, ct.id), policy.scoring, NOW
            )
            got = stored[ct.id]
            assert got.fit == pytest.approx(ref.fit, abs=1e-9), p
            assert got.behavior == pytest.approx(ref.behavior, rel=1e-9, abs=1e-9), p
            assert got.total == pytest.approx(ref.total, rel=1e-9, abs=1e-9)


def test_rebuilt_sums_keep_microseconds(engine: Engine) -> None:
    """A rebuild weighs each event at its exact instant (SQLite's julianday() keeps milliseconds only)."""
    reset(engine)
    with engine.begin() as c:
        cid = c.execute(contacts.insert().values(
            email="micro@acme.com", opted_out=False, stage="lead", stage_entered_at=to_db(NOW),
            created_at=to_db(NOW), updated_at=to_db(NOW))).inserted_primary_key[0]
        times = [NOW - timedelta(days=3, microseconds=999), NOW - timedelta(hours=5, microseconds=123_457)]
        add_events(c, cid, [("page_view", t) for t in times], prefix="micro-")
        anchor, _ = activity.decay_params(c)
        activity.rebuild(c, 7.0, anchor)  # a short half-life: a millisecond moves the weight most
        stored = c.execute(select(contact_activity.c.page_view_w).where(contact_activity.c.contact_id == cid))
        expected = sum(activity.event_weight(t, anchor, 7.0) for t in times)
        assert stored.scalar_one() == pytest.approx(expected, rel=1e-12)
