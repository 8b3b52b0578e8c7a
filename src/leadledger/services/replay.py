"""`leadledger replay`: the recorded history re-run under another policy, side by side with the active one."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, func, select

from leadledger.domain.policy import Policy
from leadledger.domain.replay.compare import FunnelTally, ReplayFunnel, same_entries
from leadledger.domain.replay.engine import ContactReplay, ReplaySetup, replay_contact
from leadledger.domain.replay.history import ContactHistory, EventsNeeded
from leadledger.policyfile import BUILTIN, builtin_policy_text, load_policy_file, parse_policy
from leadledger.store import replay_reads
from leadledger.store.db import from_db
from leadledger.store.policies import load_active_policy
from leadledger.store.schema import events, policies, stage_changes

Progress = Callable[[int, int], None]
CHUNK = 20_000  # contact ids per read: bounded memory at any size


def load_replay_policy(name_or_path: str) -> Policy:
    """A built-in policy by name (lead-first, prospect-first) or a policy YAML file."""
    if name_or_path in BUILTIN:
        return parse_policy(builtin_policy_text(name_or_path), name_or_path)
    return load_policy_file(Path(name_or_path))[0]


@dataclass(frozen=True, slots=True)
class ReplayReport:
    """Two policies' funnels over the same recorded history."""

    start: datetime | None
    end: datetime
    baseline: ReplayFunnel
    replayed: ReplayFunnel
    baseline_matches_ledger: bool
    contacts_differing_from_ledger: int
    newly_flagged: int  # flagged by the replayed policy only: sales never saw them on record
    no_longer_flagged: int  # flagged by the baseline only
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the timing, so the same inputs give the same bytes)."""
        return {
            "start": self.start,
            "end": self.end,
            "baseline": self.baseline.to_dict(),
            "replayed": self.replayed.to_dict(),
            "baseline_matches_ledger": self.baseline_matches_ledger,
            "contacts_differing_from_ledger": self.contacts_differing_from_ledger,
            "newly_flagged": self.newly_flagged,
            "no_longer_flagged": self.no_longer_flagged,
        }


def _end_of_history(conn: Connection) -> datetime:
    """Just after the last recorded entry or event: the default end, the same on every run."""
    last = [conn.execute(select(func.max(c))).scalar() for c in (stage_changes.c.at, events.c.occurred_at)]
    found = [ts for v in last if (ts := from_db(v)) is not None]
    return max(found, default=datetime(1970, 1, 1, tzinfo=UTC)) + timedelta(seconds=1)


def _replay(h: ContactHistory, setup: ReplaySetup, until: datetime) -> ContactReplay | None:
    """One contact's replay, or None if it needs the contact's events."""
    try:
        return replay_contact(h, setup, until)
    except EventsNeeded:
        return None


def replay_report(
    engine: Engine,
    policy: Policy,
    *,
    baseline: Policy | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Progress | None = None,
) -> ReplayReport:
    """Replay the stored history under `policy` and under the active policy (or `baseline`)."""
    began = time.perf_counter()
    with engine.connect() as conn:
        until = end or _end_of_history(conn)
        active = load_active_policy(conn)
        recorded = {r.version: parse_policy(r.yaml, f"stored policy {r.version}")
                    for r in conn.execute(select(policies.c.version, policies.c.yaml))}
        base = baseline or active
        setups = (ReplaySetup(base, recorded), ReplaySetup(policy, recorded))
        tallies = (FunnelTally(base), FunnelTally(policy))
        accounts = replay_reads.read_accounts(conn)
        opportunities = replay_reads.read_opportunities(conn)
        ranges = replay_reads.id_ranges(conn, CHUNK)
        created = (start or datetime(1970, 1, 1, tzinfo=UTC), until)
        differing = newly = no_longer = 0
        for i, (lo, hi) in enumerate(ranges):
            histories = list(replay_reads.read_histories(conn, lo, hi, accounts, opportunities,
                                                         created=created))
            results = [[_replay(h, setup, until) for setup in setups] for h in histories]
            wanted = {h.contact.id for h, pair in zip(histories, results, strict=True) if None in pair}
            if wanted:  # second pass, with events, for the replays that need them
                events = replay_reads.read_events(conn, lo, hi, wanted)
                for h, pair in zip(histories, results, strict=True):
                    if h.contact.id in wanted:
                        full = replace(h, events=events.get(h.contact.id, ()), events_loaded=True)
                        pair[:] = [r or replay_contact(full, s, until)
                                   for r, s in zip(pair, setups, strict=True)]
            for h, maybe in zip(histories, results, strict=True):
                done = [r for r in maybe if r is not None]
                won = h.won_booked_at()
                for result, tally in zip(done, tallies, strict=True):
                    tally.add(result, owner=h.contact.owner, account_id=h.contact.account_id,
                              won_booked_at=won if won is not None and won < until else None)
                if not same_entries(tuple(c for c in h.ledger if c.at < until), done[0].changes):
                    differing += 1
                was, now_flagged = (t.flags(r) for t, r in zip(tallies, done, strict=True))
                newly += now_flagged and not was
                no_longer += was and not now_flagged
            if progress:
                progress(i + 1, len(ranges))
    return ReplayReport(
        start=start,
        end=until,
        baseline=tallies[0].finish(),
        replayed=tallies[1].finish(),
        baseline_matches_ledger=differing == 0 and base.version == active.version,
        contacts_differing_from_ledger=differing,
        newly_flagged=newly,
        no_longer_flagged=no_longer,
        seconds=time.perf_counter() - began,
    )
