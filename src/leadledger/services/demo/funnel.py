"""Each contact's early journey: lead → MQL at the threshold → SAL → qualified (SQL) or not."""

from __future__ import annotations

import math
import random
from collections import Counter

from leadledger.domain.policy import Policy
from leadledger.domain.records import Event
from leadledger.domain.scoring import score_contact
from leadledger.services.demo import vocab as V
from leadledger.services.demo.engagement import props
from leadledger.services.demo.records import contact_record
from leadledger.services.demo.world import (
    DAY,
    HOUR,
    MINUTE,
    ContactSim,
    EvidenceRow,
    Move,
    MoveKind,
    sigmoid,
    to_datetime,
    uniform_time,
)

LIST_SOURCES = ("list_import", "event_badge_scan")

# Planted qualification model (log-odds of SAL → SQL); the ground truth repeats it.
# pricing_page_view counts each view up to 5; the others are yes/no.
QUALIFY_LOG_ODDS = {
    "base": -1.5, "demo_request": 1.6, "pricing_page_view": 0.3, "decision_maker": 0.9,
    "icp_account": 0.8, "webinar_attended": 0.6, "list_or_badge_source": -0.7,
}
SAL_ACCEPT_RATE = 0.85


def rep_event(at: int, kind: str, rep: str, agenda: str) -> tuple[int, str, bool, str]:
    """A two-way interaction with a rep."""
    return (at, kind, True, props(("agenda", agenda), ("rep", rep)))


def _between(rng: random.Random, start: int, low: float, high: float) -> int:
    """A time `low`–`high` seconds after `start`."""
    return start + int(low + rng.random() * (high - low))


def score_at(c: ContactSim, policy: Policy, at: int) -> float:
    """The score as of `at` (what the MQL gate sees): the reference's, unless already known."""
    if at in c.scores:
        return c.scores[at]
    events = [
        Event(id="", contact_id=c.id, type=e[1], occurred_at=to_datetime(e[0]), two_way=e[2])
        for e in c.events if e[0] <= at
    ]
    account = c.account.as_record(at) if c.account else None
    score = score_contact(contact_record(c, "lead"), account, events, policy.scoring, to_datetime(at))
    c.scores[at] = score.total
    return score.total


def capped(points: float, cap: float | None, count: float) -> float:
    """Points for a (decayed) count, capped both ways, as `signal_points` computes them."""
    raw = points * count
    if cap is None:
        return raw
    return min(raw, cap) if points >= 0 else max(raw, -cap)


def _score_of(c: ContactSim, policy: Policy, decayed: dict[str, tuple[float, int]], at: int) -> float:
    """Fit plus the decayed, capped behaviour counts as of `at`."""
    half_life = policy.scoring.half_life_days * DAY
    total = c.fit
    for s in policy.scoring.signals:
        if s.event_type in decayed:
            count, since = decayed[s.event_type]
            total += capped(s.points, s.cap, count * 0.5 ** ((at - since) / half_life))
    return total


def _reaches(c: ContactSim, policy: Policy, score: float, at: int) -> bool:
    """Whether `score` (incremental) reaches the MQL threshold at `at`, exactly as the gate will see."""
    threshold = policy.scoring.mql_threshold
    if score >= threshold + 1e-6:
        c.scores[at] = score
        return True
    # Within rounding of the threshold the incremental sum may disagree with the reference.
    return score >= threshold - 1e-6 and score_at(c, policy, at) >= threshold


def mql_crossing(c: ContactSim, policy: Policy, after: int | None = None, now: int = 0) -> int | None:
    """The first scoring run at which fit + decayed behaviour reaches the MQL threshold.

    Scores rise only with events, so the runs that matter are at events; with `after` (a record
    recycled at that time), the first run an hour later counts too, and only later ones.
    """
    sc = policy.scoring
    if c.fit < sc.fit_minimum:
        return None
    signals = {s.event_type: (s.points, s.cap) for s in sc.signals}
    counts = Counter(e[1] for e in c.events)
    best = sum(capped(*signals[k], n) for k, n in counts.items() if k in signals and signals[k][0] > 0)
    if c.fit + best < sc.mql_threshold:  # even undecayed, the events cannot reach the threshold
        return None
    half_life = sc.half_life_days * DAY
    first_run = None if after is None else after + HOUR
    decayed: dict[str, tuple[float, int]] = {}  # type → (decayed count, as of)
    seen: Counter[str] = Counter()
    # Upper bounds on the score let most events pass unevaluated (decay only ever lowers it):
    ceiling = c.fit  # fit plus undecayed, capped points so far
    bound = math.inf  # the last evaluated score plus the points of every positive event since
    for at, kind, _, _ in c.events:
        if first_run is not None and at > first_run:
            if first_run >= now:
                return None
            bound = _score_of(c, policy, decayed, first_run)
            if _reaches(c, policy, bound, first_run):
                return first_run
            first_run = None
        signal = signals.get(kind)
        if signal is None:
            continue
        count, since = decayed.get(kind, (0.0, at))
        decayed[kind] = (count * 0.5 ** ((at - since) / half_life) + 1.0, at)
        seen[kind] += 1
        points, cap = signal
        if points <= 0:
            continue
        ceiling += points if cap is None else max(0.0, min(points, cap - points * (seen[kind] - 1)))
        bound += points
        if min(ceiling, bound) < sc.mql_threshold or (after is not None and at <= after + HOUR):
            continue
        bound = _score_of(c, policy, decayed, at)
        if _reaches(c, policy, bound, at):
            return at
    if first_run is None or first_run >= now:
        return None
    return first_run if _reaches(c, policy, _score_of(c, policy, decayed, first_run), first_run) else None


def trial_qualified(c: ContactSim, policy: Policy) -> int | None:
    """When the product-led trial rule would promote the contact (usage plus fit)."""
    rule = policy.edge_cases.trial
    if rule is None or c.source != rule.source or c.fit < policy.scoring.fit_minimum:
        return None
    usage = [e[0] for e in c.events if e[1] == "trial_usage"]
    return usage[rule.min_usage_events - 1] if len(usage) >= rule.min_usage_events else None


def _qualifies(rng: random.Random, c: ContactSim, at: int) -> bool:
    """Draw the SAL's outcome from the planted drivers, as known at the first touch."""
    drivers = {
        "demo_request": c.count("demo_request", at) > 0,
        "pricing_page_view": min(5, c.count("pricing_page_view", at)),
        "decision_maker": c.decision_maker,
        "icp_account": bool(c.account and c.account.icp),
        "webinar_attended": c.count("webinar_attended", at) > 0,
        "list_or_badge_source": c.source in LIST_SOURCES,
    }
    z = QUALIFY_LOG_ODDS["base"] + sum(QUALIFY_LOG_ODDS[k] * float(v) for k, v in drivers.items())
    return rng.random() < sigmoid(z)


def _first_touch(rng: random.Random, accepted: int) -> int | None:
    """Mostly within the 48 h SLA, some late, a few never."""
    r = rng.random()
    if r < 0.80:
        return accepted + min(47 * HOUR, int(rng.lognormvariate(math.log(5 * HOUR), 1.0)))
    if r < 0.95:
        return _between(rng, accepted, 49 * HOUR, 240 * HOUR)
    return None


def _qualify(rng: random.Random, c: ContactSim, policy: Policy, rep: str, touched: int, now: int) -> None:
    """Discovery: a meeting, BANT confirmed by the rep, then the move to SQL."""
    scheduled = _between(rng, touched, 30 * MINUTE, 3 * DAY)
    held = _between(rng, scheduled, DAY, 7 * DAY)
    events = [rep_event(scheduled, "meeting_scheduled", rep, "discovery")]
    events += [rep_event(uniform_time(rng, touched, held), "reply", rep, "follow-up")
               for _ in range(rng.randrange(3))]
    events.append(rep_event(held, "meeting_held", rep, "discovery"))
    fields = ["need", "authority", "timeline"] + (["budget"] if rng.random() < 0.7 else [])
    limit = policy.enterprise_min_employees
    enterprise = limit is not None and c.account is not None and c.account.employees >= limit
    if enterprise:
        fields += ["champion", "initiative", "next_meeting"]
    evidence = []
    for i, name in enumerate(fields):
        at = _between(rng, held, 30 * MINUTE + i * HOUR, (4 + 12 * i) * HOUR)
        evidence.append(EvidenceRow(at=at, field=name, value=rng.choice(V.EVIDENCE_VALUES[name]),
                                    confirmed_by=rep))
        if name == "next_meeting":
            events.append(rep_event(at, "meeting_scheduled", rep, "technical deep-dive"))
    qualified = _between(rng, max(e.at for e in evidence), HOUR, 2 * DAY)
    c.events += [e for e in events if e[0] < now]
    c.evidence += [e for e in evidence if e.at < now]
    if qualified < now:
        c.moves.append(Move(qualified, "sql", rep, "qualified: need, authority and timeline confirmed",
                            MoveKind.GATE, rep))
        c.sql_at = qualified


def _not_qualified(rng: random.Random, c: ContactSim, rep: str, touched: int, now: int) -> None:
    """Rejected back to marketing, disqualified, recycled, or left hanging at SAL."""
    decided = _between(rng, touched, 2 * DAY, 25 * DAY)
    if rng.random() < 0.5 and decided < now:
        c.events.append(rep_event(uniform_time(rng, touched, decided), "reply", rep, "follow-up"))
    r = rng.random()
    if decided >= now or r >= 0.9:
        return
    if r < 0.4:
        c.moves.append(Move(decided, "mql", rep, rng.choice(V.SAL_REJECT_REASONS), MoveKind.BACKWARD, rep))
    elif r < 0.65:
        c.moves.append(Move(decided, "disqualified", rep, rng.choice(V.DISQUALIFY_REASONS),
                            MoveKind.GATE, rep))
    else:
        c.moves.append(Move(decided, "nurture", rep, rng.choice(V.NURTURE_REASONS), MoveKind.GATE, rep))


def _sales(rng: random.Random, c: ContactSim, policy: Policy, mql_at: int, now: int) -> None:
    """Sales accepts (or not), touches the record, and qualifies it (or not)."""
    if rng.random() >= SAL_ACCEPT_RATE:
        return
    accepted = mql_at + min(10 * DAY, int(rng.lognormvariate(math.log(16 * HOUR), 0.9)))
    if accepted >= now:
        return
    rep = rng.choice(V.SDRS)
    c.moves.append(Move(accepted, "sal", rep, "accepted by sales", MoveKind.GATE, rep))
    touched = _first_touch(rng, accepted)
    if touched is None or touched >= now:
        return
    c.events.append(rep_event(touched, "call", rep, "first touch"))
    if _qualifies(rng, c, touched):
        _qualify(rng, c, policy, rep, touched, now)
    else:
        _not_qualified(rng, c, rep, touched, now)


def _trial_check_in(rng: random.Random, c: ContactSim, rep: str, promoted: int, now: int) -> None:
    """The rep calls the product-qualified user and confirms the BANT basics on the call."""
    touched = _between(rng, promoted, HOUR, 40 * HOUR)
    if touched >= now:
        return
    c.events.append(rep_event(touched, "call", rep, "trial check-in"))
    for i, name in enumerate(("need", "authority", "timeline")):
        at = touched + 30 * MINUTE + i * HOUR
        if at < now:
            c.evidence.append(EvidenceRow(at, name, rng.choice(V.EVIDENCE_VALUES[name]), rep))


def promote_trial(rng: random.Random, c: ContactSim, at: int, now: int) -> None:
    """The product-led trial rule moves the user to SQL at `at`; a rep checks in."""
    rep = c.owner or rng.choice(V.SDRS)
    c.moves.append(Move(at, "sql", "rule:trial", "product usage and ICP fit", MoveKind.GATE, rep))
    c.sql_at = at
    _trial_check_in(rng, c, rep, at, now)


def simulate_funnel(rng: random.Random, c: ContactSim, policy: Policy, now: int) -> None:
    """Plan a contact's moves from creation to SQL (or wherever it stops)."""
    c.moves = [Move(c.created_at, policy.first_stage.name, f"source:{c.source}",
                    f"created by {c.source.replace('_', ' ')}", MoveKind.CREATE, None)]
    mql_at = mql_crossing(c, policy)
    trial_at = trial_qualified(c, policy)
    promoted = None if trial_at is None else trial_at + int(rng.random() * DAY)  # next scoring run
    if mql_at is not None and (promoted is None or mql_at < promoted):
        c.moves.append(Move(mql_at, "mql", "rule:score", "score reached the threshold", MoveKind.GATE, None))
        _sales(rng, c, policy, mql_at, now)
    if promoted is None or promoted >= now or (c.sql_at is not None and c.sql_at <= promoted):
        return
    # The trial rule fires whatever sales was doing with the record (lead, MQL, SAL or side stage).
    c.truncate(promoted)
    promote_trial(rng, c, max(promoted, c.moves[-1].at + 1), now)
