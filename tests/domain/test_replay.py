"""Policy replay on histories small enough to follow by hand."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from leadledger.domain.policy import Policy
from leadledger.domain.records import Event, Evidence, Opportunity, StageChange
from leadledger.domain.replay import engine
from leadledger.domain.replay.compare import FunnelTally, same_entries
from leadledger.domain.replay.engine import ContactReplay, ReplaySetup, replay_contact
from leadledger.domain.replay.history import ContactHistory, DatedOpportunity, EventsNeeded, evidence_as_of
from leadledger.domain.replay.rules import ScoreClock, map_stage, score_ceiling
from leadledger.domain.scoring import fit_values, score_contact, score_fit
from tests.builders import T0, account, contact

DAY = timedelta(days=1)
E1, E2 = T0 + 10 * DAY, T0 + 11 * DAY  # two demo requests, a day apart


def _with_threshold(p: Policy, above_fit: float, version: str) -> Policy:
    """`p` with its MQL threshold `above_fit` points over the test contact's fit."""
    fit = score_fit(fit_values(contact(), account()), p.scoring)[0]
    return replace(p, version=version, scoring=replace(p.scoring, mql_threshold=fit + above_fit))


def _history(recorded: Policy, *, loaded: bool = True) -> ContactHistory:
    """A lead that crosses fit+60 at its second demo request; sales accepts 5 hours later."""
    def entry(frm: str | None, to: str, at: object, actor: str, reason: str) -> StageChange:
        return StageChange(contact_id=1, from_stage=frm, to_stage=to, at=at, actor=actor,  # type: ignore[arg-type]
                           reason=reason, policy_version=recorded.version)

    events = tuple(
        Event(id=f"e{i}", contact_id=1, type="demo_request", occurred_at=t) for i, t in enumerate((E1, E2))
    )
    return ContactHistory(
        contact=contact(owner="ava", created_at=T0),
        account=account(),
        events=events if loaded else (),
        events_loaded=loaded,
        evidence=(),
        opportunities=(),
        ledger=(
            entry(None, "lead", T0, "source:form_fill", "created"),
            entry("lead", "mql", E2, "rule:score", "score reached the threshold"),
            entry("mql", "sal", E2 + timedelta(hours=5), "ava", "accepted by sales"),
        ),
    )


@pytest.fixture
def policies(lead_first: Policy) -> dict[str, Policy]:
    """The recording policy (fit+60) and three others to replay."""
    return {
        "60": _with_threshold(lead_first, 60, "t60"),
        "40": _with_threshold(lead_first, 40, "t40"),
        "500": _with_threshold(lead_first, 500, "t500"),
    }


def _replay(policies: dict[str, Policy], name: str, h: ContactHistory | None = None) -> ContactReplay:
    h = h or _history(policies["60"])
    return replay_contact(h, ReplaySetup(policies[name], {"t60": policies["60"]}), T0 + 100 * DAY)


def test_replaying_the_recording_policy_gives_back_the_ledger(policies: dict[str, Policy]) -> None:
    h = _history(policies["60"])
    r = _replay(policies, "60", h)
    assert same_entries(h.ledger, r.changes)
    assert (r.shifted, r.dropped) == (0, ())


def test_the_same_policy_needs_no_events(policies: dict[str, Policy]) -> None:
    h = _history(policies["60"], loaded=False)
    assert same_entries(h.ledger, _replay(policies, "60", h).changes)
    with pytest.raises(EventsNeeded):  # a lower threshold must look at the events
        _replay(policies, "40", h)


def test_a_lower_threshold_flags_at_the_first_event_and_sales_answers_after_the_same_delay(
    policies: dict[str, Policy],
) -> None:
    r = _replay(policies, "40")
    assert [(c.to_stage, c.at, c.actor) for c in r.changes] == [
        ("lead", T0, "source:form_fill"),
        ("mql", E1, "rule:score"),
        ("sal", E1 + timedelta(hours=5), "ava"),
    ]
    assert r.shifted == 1


def test_a_threshold_never_reached_drops_the_decision_that_answered_it(policies: dict[str, Policy]) -> None:
    r = _replay(policies, "500")
    assert [c.to_stage for c in r.changes] == ["lead"]
    assert [d.reason for d in r.dropped] == ["never reached mql under this policy"]


def test_stages_map_by_meaning_across_policies(lead_first: Policy, prospect_first: Policy) -> None:
    assert map_stage("sal", lead_first, prospect_first) == "prospect"  # still a lead there
    assert map_stage("sql", lead_first, prospect_first) == "lead"  # a prospect: the engaged lead
    assert map_stage("opportunity", lead_first, prospect_first) == "opportunity"
    assert map_stage("nurture", lead_first, prospect_first) == "nurture"
    assert map_stage("lead", lead_first, lead_first) == "lead"


def test_bant_evidence_counts_for_meddic_when_translated(lead_first: Policy) -> None:
    ev = Evidence(contact_id=1, field="need", value="x", confirmed_by="ava", confirmed_at=E1)
    h = replace(_history(lead_first), evidence=(ev,))
    assert set(evidence_as_of(h, E2, translate=True)) == {"need", "identified_pain"}
    assert set(evidence_as_of(h, E2, translate=False)) == {"need"}
    assert evidence_as_of(h, T0, translate=True) == {}  # not yet confirmed


def test_an_opportunity_is_seen_as_it_stood() -> None:
    won = Opportunity(id=1, account_id=1, name="Acme", signed_at=E1, booked_at=E2)
    d = DatedOpportunity(record=won, created_at=T0 + DAY, updated_at=E2)
    assert d.as_of(T0) is None
    mid = d.as_of(E1 + timedelta(hours=1))
    assert mid is not None and mid.signed_at == E1 and not mid.is_won  # signed, not yet booked
    later = d.as_of(E2)
    assert later is not None and later.is_won


def test_the_tally_counts_skipped_stages_as_passed_and_converts_step_by_step(
    policies: dict[str, Policy],
) -> None:
    p = policies["60"]
    tally = FunnelTally(p)
    flagged = _replay(policies, "60")
    never = _replay(policies, "500")
    tally.add(flagged, owner="ava", account_id=1, won_booked_at=E2 + 30 * DAY)
    tally.add(never, owner="ava", account_id=2, won_booked_at=None)
    f = tally.finish()
    reached = {s.stage: s.reached for s in f.stages}
    assert (reached["lead"], reached["mql"], reached["sal"], reached["sql"]) == (2, 1, 1, 0)
    assert f.stages[1].conversion == 0.5
    assert f.flagged_by_month == {"2026-01": 1}
    assert f.days_to_flag_median == 11.0
    assert f.load_by_rep == {"ava": 1}
    assert (f.won_accounts, f.won_accounts_flagged, f.days_flagged_before_win_median) == (1, 1, 30.0)


def test_the_score_clock_agrees_with_the_scorer_over_years_and_tiny_half_lives(lead_first: Policy) -> None:
    kinds = ("demo_request", "pricing_page_view", "email_open", "unsubscribe", "webinar_attended")
    times = [T0 + timedelta(days=i * 37 % 900, hours=i) for i in range(40)]
    events = sorted((Event(id=f"e{i}", contact_id=1, type=kinds[i % len(kinds)], occurred_at=t)
                     for i, t in enumerate(times)), key=lambda e: e.occurred_at)
    for half_life in (45.0, 0.5):  # 0.5 days over ~900 days: the clock must rebase its weights
        scoring = replace(lead_first.scoring, half_life_days=half_life)
        fit = score_fit(fit_values(contact(), account()), scoring)[0]
        clock = ScoreClock.start(scoring, fit)
        for i, e in enumerate(events):
            clock.add(e.type, e.occurred_at)
            at = e.occurred_at + timedelta(days=3)
            ref = score_contact(contact(), account(), events[: i + 1], scoring, at).total
            assert clock.total(at) == pytest.approx(ref, abs=1e-9)
            assert clock.total(at) <= score_ceiling(scoring, fit, events[: i + 1]) + 1e-9


def test_a_threshold_out_of_reach_needs_no_walk_through_the_events(policies: dict[str, Policy]) -> None:
    h = _history(policies["60"])
    fit = score_fit(fit_values(h.contact, h.account), policies["500"].scoring)[0]
    assert score_ceiling(policies["500"].scoring, fit, h.events) < policies["500"].scoring.mql_threshold
    assert score_ceiling(policies["40"].scoring, fit, h.events) >= policies["40"].scoring.mql_threshold
    setup = ReplaySetup(policies["500"], {"t60": policies["60"]})
    assert replay_contact(h, setup, E2 + 30 * DAY, fit=fit) == replay_contact(h, setup, E2 + 30 * DAY)


def _ledger_of(version: str, *moves: tuple[str | None, str, int, str]) -> tuple[StageChange, ...]:
    """Entries (from, to, day, actor) of contact 1, recorded by `version`."""
    return tuple(StageChange(contact_id=1, from_stage=frm, to_stage=to, at=T0 + day * DAY, actor=actor,
                             reason="recorded", policy_version=version) for frm, to, day, actor in moves)


# Ledgers the walk does not take as recorded, though no rule is re-derived: the shortcut must see it.
OFF_THE_RECORD = {
    # back in lead at day 20, the decision on day 25 is due 25 days after entering lead: day 5
    "a decision falls due before an earlier entry": (
        (None, "lead", 0, "source:form_fill"), ("lead", "nurture", 10, "import"),
        ("nurture", "lead", 20, "import"), ("lead", "disqualified", 25, "ava")),
    # at one moment the walk applies the outcome before the decision
    "two entries at one moment": (
        (None, "lead", 0, "source:form_fill"), ("lead", "disqualified", 10, "ava"),
        ("disqualified", "nurture", 10, "import")),
    # once past MQL, the walk drops the decision that answered MQL, even if the record comes back
    "a waiting decision is passed by": (
        (None, "lead", 0, "source:form_fill"), ("lead", "sql", 10, "import"),
        ("sql", "mql", 15, "import"), ("mql", "sal", 20, "ava")),
}


@pytest.mark.parametrize("case", OFF_THE_RECORD)
def test_the_ledger_is_walked_where_the_walk_would_not_take_it_as_recorded(
    policies: dict[str, Policy], case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded = policies["60"]
    h = replace(_history(recorded), ledger=_ledger_of(recorded.version, *OFF_THE_RECORD[case]))
    setup = ReplaySetup(recorded, {recorded.version: recorded})
    until = T0 + 100 * DAY
    assert engine._follow_ledger(h, setup, until, "lead", setup.derived(recorded)) is None
    replayed = replay_contact(h, setup, until)
    assert not same_entries(h.ledger, replayed.changes)  # taking the ledger as recorded would be wrong
    monkeypatch.setattr(engine, "_follow_ledger", lambda *args: None)
    assert replay_contact(h, setup, until) == replayed


def test_a_ledger_taken_as_recorded_keeps_its_entries(policies: dict[str, Policy]) -> None:
    recorded = policies["60"]
    h = _history(recorded)
    setup = ReplaySetup(recorded, {recorded.version: recorded})
    followed = engine._follow_ledger(h, setup, T0 + 100 * DAY, "lead", setup.derived(recorded))
    assert followed is not None and followed == replay_contact(h, setup, T0 + 100 * DAY)
    assert all(a is b for a, b in zip(followed.changes, h.ledger, strict=True))  # no copies
