"""`load_demo`: simulate a year of B2B funnel activity and load it in one transaction."""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from sqlalchemy import Connection, Engine, func, select

from leadledger.domain.policy import Policy
from leadledger.errors import LeadledgerError
from leadledger.services.demo import deals, engagement, funnel
from leadledger.services.demo import vocab as V
from leadledger.services.demo.ledger import LedgerEntry, contact_entries
from leadledger.services.demo.mislabels import Mislabel, plant_mislabels
from leadledger.services.demo.people import make_accounts, make_contacts, number
from leadledger.services.demo.records import FitScorer
from leadledger.services.demo.rules import apply_rules
from leadledger.services.demo.world import World
from leadledger.services.demo.writer import write_world
from leadledger.store import activity, db, funnel_summary
from leadledger.store.policies import load_active_policy
from leadledger.store.schema import accounts, contacts

Progress = Callable[[str, int, int], None]
T = TypeVar("T")
ACCOUNTS_AT_SCALE_1 = 2_000
CONTACTS_AT_SCALE_1 = 10_000
REQUIRED_STAGES = ("lead", "mql", "sal", "sql", "opportunity", "customer", "nurture", "disqualified")
GROUND_TRUTH_KEY = "demo_ground_truth"
TRUE_DRIVERS = (
    "demo_request", "pricing_page_view", "webinar_attended", "seniority", "employees", "industry",
    "trial_usage",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class DemoReport:
    """What the demo loaded."""

    accounts: int
    contacts: int
    events: int
    evidence: int
    opportunities_won: int
    opportunities_lost: int
    opportunities_open: int
    stage_changes: int
    mislabeled: int
    stages: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready counts (`stages`: contacts per stage, in lifecycle order)."""
        return asdict(self)


def _rng(seed: int, part: str) -> random.Random:
    """An independent, reproducible stream per part, so one part's draws never shift another's."""
    return random.Random(f"leadledger-demo:{seed}:{part}")


class _Steps:
    """Reports (step, done, total) to the caller's progress bar, about fifty times per step."""

    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress

    def each(self, name: str, items: Sequence[T]) -> Iterator[T]:
        """Yield `items`, reporting as they are done."""
        total = len(items)
        every = max(1, total // 50)
        for i, item in enumerate(items, 1):
            yield item
            if self.progress and (i % every == 0 or i == total):
                self.progress(name, i, total)

    @contextmanager
    def once(self, name: str) -> Iterator[None]:
        """A step without countable items: 0 of 1, then 1 of 1."""
        if self.progress:
            self.progress(name, 0, 1)
        yield
        if self.progress:
            self.progress(name, 1, 1)


def build_world(
    seed: int, scale: float, now: int, policy: Policy, progress: Progress | None = None
) -> tuple[World, list[Mislabel]]:
    """Simulate the year: people, engagement, funnels, deals, dormancy, then the planted errors."""
    steps = _Steps(progress)
    with steps.once("accounts and contacts"):
        n_accounts = max(1, round(ACCOUNTS_AT_SCALE_1 * scale))
        n_contacts = max(20, round(CONTACTS_AT_SCALE_1 * scale))
        accts = make_accounts(_rng(seed, "accounts"), n_accounts)
        people = make_contacts(_rng(seed, "contacts"), accts, n_contacts, now)
        number(_rng(seed, "ids"), accts, people)
    world = World(now=now, accounts=accts, contacts=people)
    fits, sends, rng = FitScorer(policy.scoring), engagement.campaign_sends(now), _rng(seed, "engagement")
    for c in steps.each("engagement", people):
        c.fit = fits.fit(c)
        engagement.engage(rng, c, now, sends)
    rng = _rng(seed, "funnel")
    for c in steps.each("journeys", people):
        funnel.simulate_funnel(rng, c, policy, now)
    with steps.once("deals"):
        deals.simulate_deals(_rng(seed, "deals"), world)
        apply_rules(_rng(seed, "rules"), world, policy)
        truth = plant_mislabels(_rng(seed, "mislabels"), world)
    world.opportunities.sort(key=lambda o: (o.created_at, o.account.id, o.type))
    for i, o in enumerate(world.opportunities, 1):
        o.id = i
    for c in people:
        c.events.sort(key=lambda e: (e[0], e[1]))
    return world, truth


def _ledger(world: World, policy: Policy, steps: _Steps) -> list[LedgerEntry]:
    """Every planned move judged by the policy's gates, with its evidence snapshot."""
    entries: list[LedgerEntry] = []
    for c in steps.each("ledger", world.contacts):
        entries += contact_entries(c, world, policy)
    return entries


def _check_ready(conn: Connection, policy: Policy) -> None:
    """Refuse a database that already holds data, or whose policy is not lead-first shaped."""
    n = conn.execute(select(func.count()).select_from(contacts)).scalar_one()
    if n:
        raise LeadledgerError(
            f"the database already holds {n} contacts; `leadledger demo` needs an empty database "
            "(use a new --db)"
        )
    n = conn.execute(select(func.count()).select_from(accounts)).scalar_one()
    if n:
        raise LeadledgerError(
            f"the database already holds {n} accounts; `leadledger demo` needs an empty database "
            "(use a new --db)"
        )
    absent = [s for s in REQUIRED_STAGES if policy.stage(s) is None]
    if absent:
        raise LeadledgerError(
            f"the demo data follows the lead-first model, but the active policy {policy.version} has "
            f"no stage {', '.join(absent)} (initialise with --model lead-first)"
        )


def ground_truth(seed: int, now: datetime, scale: float, mislabels: list[Mislabel]) -> dict[str, object]:
    """What an audit or a predictive model should find in this data."""
    return {
        "seed": seed,
        "now": now.isoformat(),
        "scale": scale,
        "mislabeled": [m.to_dict() for m in mislabels],
        "true_drivers": list(TRUE_DRIVERS),
        "driver_definitions": {
            "seniority": "c_level, vp or director",
            "employees": "50 or more at an account in a target industry",
            "industry": "one of " + ", ".join(V.TARGET_INDUSTRIES),
            "demo_request": "at least one demo request",
            "pricing_page_view": "count of pricing page views (up to 5)",
            "webinar_attended": "attended at least one webinar",
            "trial_usage": "free-trial users with 5+ usage events and ICP fit qualify product-led",
        },
        "models": {
            "intent_log_odds": engagement.INTENT_LOG_ODDS,
            "source_intent_log_odds": V.SOURCE_INTENT,
            "qualification_log_odds": funnel.QUALIFY_LOG_ODDS,
            "opportunity_log_odds": deals.OPEN_LOG_ODDS,
            "win_log_odds": deals.WIN_LOG_ODDS,
        },
    }


def load_demo(
    engine: Engine, *, now: datetime, seed: int = 7, scale: float = 1.0, progress: Progress | None = None
) -> DemoReport:
    """Load a deterministic, realistic demo data set into an initialised, empty database."""
    if not scale > 0:
        raise LeadledgerError(f"scale must be positive (got {scale})")
    if not db.is_initialized(engine):
        raise LeadledgerError("the database is not initialised: run `leadledger init` first")
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    with db.transaction(engine) as conn:
        policy = load_active_policy(conn)
        _check_ready(conn, policy)
        anchor, _ = activity.decay_params(conn)
        world, truth = build_world(seed, scale, int(now.timestamp()), policy, progress)
        entries = _ledger(world, policy, _Steps(progress))
        written = write_world(conn, world, entries, policy.version, progress)
        with _Steps(progress).once("activity aggregates"):
            activity.rebuild(conn, policy.scoring.half_life_days, anchor)
        with _Steps(progress).once("funnel summary"):
            funnel_summary.rebuild(conn, policy)
        truth_json = json.dumps(ground_truth(seed, now, scale, truth), sort_keys=True)
        activity.set_meta(conn, GROUND_TRUTH_KEY, truth_json)
    return _report(world, policy, written, len(truth))


def _report(world: World, policy: Policy, written: dict[str, int], mislabeled: int) -> DemoReport:
    """Counts of what was loaded."""
    states = Counter(o.state(world.now) for o in world.opportunities)
    per_stage = Counter(c.stage for c in world.contacts)
    return DemoReport(
        accounts=written["accounts"], contacts=written["contacts"], events=written["events"],
        evidence=written["evidence"], opportunities_won=states["won"], opportunities_lost=states["lost"],
        opportunities_open=states["open"], stage_changes=written["stage_changes"], mislabeled=mislabeled,
        stages={s.name: per_stage[s.name] for s in policy.stages},
    )
