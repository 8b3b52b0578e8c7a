"""Policy replay over the demo history, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from leadledger.cli import app
from leadledger.domain.replay import engine
from leadledger.domain.replay.engine import ReplaySetup, replay_contact
from leadledger.policyfile import parse_policy
from leadledger.services.demo import load_demo
from leadledger.services.replay import ReplayReport, load_replay_policy, replay_report
from leadledger.store import replay_reads
from leadledger.store.db import make_engine
from leadledger.store.schema import policies, stage_changes

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
EXAMPLES = Path(__file__).parent.parent.parent / "docs" / "examples"
THRESHOLD_80 = EXAMPLES / "policies" / "lead-first-threshold-80.yaml"


@pytest.fixture
def demo(engine: Engine) -> Engine:
    """The demo (scale 0.1) on each backend."""
    load_demo(engine, now=NOW, seed=7, scale=0.1)
    return engine


def _flagged(report: ReplayReport, side: str) -> int:
    f = getattr(report, side)
    return int(next(s.reached for s in f.stages if s.stage == f.flag_stage))


def test_replays_of_the_demo_agree_with_the_ledger_and_differ_explainably(demo: Engine) -> None:
    same = replay_report(demo, load_replay_policy("lead-first"))
    with demo.connect() as c:
        entries = c.execute(select(func.count()).select_from(stage_changes)).scalar_one()
    assert same.baseline_matches_ledger and same.contacts_differing_from_ledger == 0
    assert same.baseline.entries == entries  # every stored entry came back
    assert same.replayed.to_dict() == same.baseline.to_dict()

    lower = replay_report(demo, load_replay_policy(str(THRESHOLD_80)))
    a, b = lower.baseline, lower.replayed
    assert _flagged(lower, "replayed") == _flagged(lower, "baseline") + lower.newly_flagged
    assert lower.newly_flagged > 0 and lower.no_longer_flagged == 0  # a lower bar flags a superset
    assert b.days_to_flag_median is not None and a.days_to_flag_median is not None
    assert b.days_to_flag_median <= a.days_to_flag_median  # and flags no later
    assert b.decisions_shifted > 0  # sales answered the earlier MQLs after the same delay
    assert sum(b.load_by_rep.values()) == sum(a.load_by_rep.values())  # no invented decisions

    other = replay_report(demo, load_replay_policy("prospect-first"))
    p = other.replayed
    assert [s.stage for s in p.stages] == ["prospect", "lead", "opportunity", "customer"]
    assert p.stages[0].reached == other.baseline.stages[0].reached  # every contact starts somewhere
    assert p.decisions_absorbed > 0  # MQL and SAL are all prospects there
    assert p.automatic_moves.get("rule:score→mql", 0) == 0  # no score promotion in prospect-first
    assert p.handoff_stage == "prospect" and sum(p.load_by_rep.values()) >= p.contacts  # sales' from day one
    assert all(reason and n > 0 for reason, n in p.decisions_dropped.items())


def test_replay_json_is_byte_identical_run_to_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db_url = f"sqlite:///{tmp_path / 'demo.db'}"
    monkeypatch.setenv("LEADLEDGER_DATABASE_URL", db_url)
    runner = CliRunner()
    assert runner.invoke(app, ["init"]).exit_code == 0
    load_demo(make_engine(db_url), now=NOW, seed=7, scale=0.05)
    args = ["replay", "--policy", str(THRESHOLD_80), "--json"]
    first, second = runner.invoke(app, args), runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert first.stdout == second.stdout
    body = json.loads(first.stdout)
    assert body["baseline_matches_ledger"] is True
    csv = runner.invoke(app, ["replay", "--policy", "prospect-first", "--csv"])
    assert csv.exit_code == 0 and csv.stdout.splitlines()[0] == "metric,baseline,replayed"
    bad = runner.invoke(app, ["replay", "--policy", str(tmp_path / "missing.yaml")])
    assert bad.exit_code != 0 and "missing.yaml" in bad.output


def test_the_replay_does_not_depend_on_chunks_or_worker_processes(demo: Engine) -> None:
    policy = load_replay_policy(str(THRESHOLD_80))
    one = replay_report(demo, policy, workers=1)
    steps: list[tuple[int, int]] = []
    split = replay_report(demo, policy, workers=2, chunk_size=97, progress=lambda i, n: steps.append((i, n)))
    assert len(steps) > 2 and steps[-1][0] == steps[-1][1]  # many chunks, every one reported
    assert split.to_dict() == one.to_dict()
    assert split.newly_flagged > 0 and split.baseline_matches_ledger


@pytest.mark.parametrize("name", ["lead-first", str(THRESHOLD_80), "prospect-first"])
def test_taking_the_ledger_as_recorded_is_the_walk_where_it_applies(
    demo: Engine, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `_follow_ledger` answers for the walk when no rule is re-derived: it must give the walk's result
    policy = load_replay_policy(name)
    with demo.connect() as conn:
        recorded = {r.version: parse_policy(r.yaml, r.version)
                    for r in conn.execute(select(policies.c.version, policies.c.yaml))}
        ids = replay_reads.id_ranges(conn, 10**9)[0]
        histories = list(replay_reads.read_histories(conn, *ids, replay_reads.read_accounts(conn),
                                                     replay_reads.read_opportunities(conn), with_events=True))
    setup = ReplaySetup(policy, recorded)
    until = max(h.ledger[-1].at for h in histories) + timedelta(days=1)
    fast = [replay_contact(h, setup, until) for h in histories]
    followed = sum(engine._follow_ledger(h, setup, until, r.changes[0].to_stage,
                                         setup.derived(setup.recorder(h.ledger[-1]))) is not None
                   for h, r in zip(histories, fast, strict=True))
    monkeypatch.setattr(engine, "_follow_ledger", lambda *args: None)
    walked = [replay_contact(h, setup, until) for h in histories]
    assert fast == walked
    assert followed > len(histories) // 3  # the shortcut is taken, for a good share of the contacts
