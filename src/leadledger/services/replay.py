"""`leadledger replay`: the recorded history re-run under another policy, side by side with the active one."""

from __future__ import annotations

import gc
import multiprocessing
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, Engine, func, select

from leadledger.domain.policy import Policy
from leadledger.domain.records import Account
from leadledger.domain.replay.compare import FunnelTally, ReplayFunnel, same_entries
from leadledger.domain.replay.crossing import ceilings, hot_moments
from leadledger.domain.replay.engine import ContactReplay, ReplaySetup, replay_contact
from leadledger.domain.replay.history import ContactHistory, DatedOpportunity, EventsNeeded
from leadledger.policyfile import BUILTIN, builtin_policy_text, load_policy_file, parse_policy
from leadledger.store import replay_reads
from leadledger.store.db import from_db, make_engine
from leadledger.store.policies import load_active_policy
from leadledger.store.schema import contact_activity, policies, stage_changes

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
    # contact_activity keeps each contact's last event time: a million rows to read, not 20M events
    last = [conn.execute(select(func.max(c))).scalar()
            for c in (stage_changes.c.at, contact_activity.c.last_activity_at)]
    found = [ts for v in last if (ts := from_db(v)) is not None]
    return max(found, default=datetime(1970, 1, 1, tzinfo=UTC)) + timedelta(seconds=1)


@dataclass(frozen=True, slots=True)
class _Job:
    """What every chunk of a replay needs, read once before the chunks."""

    setups: tuple[ReplaySetup, ReplaySetup]
    accounts: dict[int, Account]
    opportunities: dict[int, list[DatedOpportunity]]
    until: datetime
    created: tuple[datetime, datetime]
    with_events: bool  # a policy re-derives or re-judges: replays may need the events
    same_fit: bool  # both policies score fit alike: a contact's fit is computed once


@dataclass(slots=True)
class _Chunk:
    """One id range replayed: its two tallies and how its replays compare."""

    tallies: tuple[FunnelTally, FunnelTally]
    differing: int = 0
    newly: int = 0
    no_longer: int = 0

    def merge(self, other: _Chunk) -> None:
        for mine, theirs in zip(self.tallies, other.tallies, strict=True):
            mine.merge(theirs)
        self.differing += other.differing
        self.newly += other.newly
        self.no_longer += other.no_longer


@dataclass(frozen=True, slots=True)
class _Promotion:
    """What one pass over a range's event columns tells a setup's score promotion, per contact."""

    ceilings: dict[int, float]  # every contact's `score_ceiling`
    moments: dict[int, list[datetime]]  # its hot moments, where NumPy could tell and they matter


_NO_HINTS = _Promotion({}, {})


def _replay_pair(h: ContactHistory, job: _Job, fits: tuple[float, float],
                 hints: tuple[_Promotion, _Promotion]) -> list[ContactReplay | None]:
    """The contact's replay under both setups (None where it needs events it was read without)."""
    out: list[ContactReplay | None] = []
    cid = h.contact.id
    for setup, fit, hint in zip(job.setups, fits, hints, strict=True):
        try:
            out.append(replay_contact(h, setup, job.until, fit=fit, moments=hint.moments.get(cid),
                                      ceiling=hint.ceilings.get(cid)))
        except EventsNeeded:
            out.append(None)
    return out


def _derives_promotion(setup: ReplaySetup, histories: list[ContactHistory]) -> bool:
    """Whether any of these contacts' replays under `setup` may re-derive the score promotion."""
    if setup.policy.auto_promotion is None:
        return False
    latest = {h.ledger[-1].policy_version for h in histories}  # the version `_plan` asks about
    return any(setup.derives("promotion", setup.recorded.get(v)) for v in latest)


def _promotion(
    setup: ReplaySetup, ids: list[int], fits: list[float], cols: replay_reads.EventColumns,
    positions: npt.NDArray[np.int64], counts: npt.NDArray[np.int64], since: npt.NDArray[np.int64],
) -> _Promotion:
    """The contacts' ceilings, and hot moments for those that could reach the bar (see `crossing`)."""
    scoring = setup.policy.scoring
    fit = np.array(fits, dtype=np.float64)
    ceiling = ceilings(scoring, fit, counts, cols.names)
    # the walk looks at moments only if the promotion survives `_relevant` and `_reachable`
    chosen = np.flatnonzero((fit >= scoring.fit_minimum) & (ceiling >= scoring.mql_threshold - 1e-6))
    where = positions[chosen]
    has = where >= 0
    lo = np.where(has, cols.starts[np.maximum(where, 0)], 0)
    sizes = np.where(has, cols.starts[np.maximum(where, 0) + 1] - lo, 0)
    starts = np.zeros(len(chosen) + 1, dtype=np.int64)
    np.cumsum(sizes, out=starts[1:])
    take = np.repeat(lo - starts[:-1], sizes) + np.arange(starts[-1])  # the chosen contacts' rows
    found = hot_moments(scoring, fit[chosen], since[chosen], starts,
                        cols.micros[take], cols.codes[take], cols.names)
    moments = {ids[k]: [replay_reads.from_epoch_micros(m) for m in at]
               for k, at in zip(chosen.tolist(), found, strict=True) if at is not None}
    return _Promotion(dict(zip(ids, ceiling.tolist(), strict=True)), moments)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause the cycle collector while a range is replayed.

    A range makes about a million short-lived objects, which reference counting frees; each
    collection they trigger would scan the job's accounts and deals again (a sixth of the time).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _replay_chunk(conn: Connection, job: _Job, lo: int, hi: int) -> _Chunk:
    """`_replay_range`, with the cycle collector paused."""
    with _cycle_collector_paused():
        return _replay_range(conn, job, lo, hi)


def _replay_range(conn: Connection, job: _Job, lo: int, hi: int) -> _Chunk:
    """Replay the contacts with ids in [lo, hi) under both setups and tally them.

    The events are read once, as columns: the first pass replays every contact without `Event`
    objects (ceilings and hot moments computed for the whole range stand in for them), and only
    the replays that then ask for the events are done again with them.
    """
    until, setups = job.until, job.setups
    chunk = _Chunk((FunnelTally(setups[0].policy), FunnelTally(setups[1].policy)))
    histories = list(replay_reads.read_histories(conn, lo, hi, job.accounts, job.opportunities,
                                                 created=job.created))
    first = [setups[0].fit(h) for h in histories]
    fits = [first, first if job.same_fit else [setups[1].fit(h) for h in histories]]
    hints = [_NO_HINTS, _NO_HINTS]
    promoting = [job.with_events and _derives_promotion(s, histories) for s in setups]
    if any(promoting):
        cols = replay_reads.read_event_columns(conn, lo, hi)
        ids = [h.contact.id for h in histories]
        positions = cols.positions(ids)
        counts = cols.counts(positions)
        since = np.array([replay_reads.epoch_micros(h.ledger[0].at) for h in histories], dtype=np.int64)
        for k, setup in enumerate(setups):
            if promoting[k]:
                hints[k] = _promotion(setup, ids, fits[k], cols, positions, counts, since)
    results = [_replay_pair(h, job, (f0, f1), (hints[0], hints[1]))
               for h, f0, f1 in zip(histories, *fits, strict=True)]
    wanted = [h.contact.id for h, pair in zip(histories, results, strict=True) if None in pair]
    if wanted:  # second pass, with events, for the replays that need them
        events = replay_reads.read_events(conn, wanted)
        for k, (h, pair) in enumerate(zip(histories, results, strict=True)):
            if None in pair:
                cid = h.contact.id
                full = replace(h, events=events.get(cid, ()), events_loaded=True)
                pair[:] = [r or replay_contact(full, s, until, fit=f[k], moments=hint.moments.get(cid),
                                               ceiling=hint.ceilings.get(cid))
                           for r, s, f, hint in zip(pair, setups, fits, hints, strict=True)]
    for h, maybe in zip(histories, results, strict=True):
        done = [r for r in maybe if r is not None]
        won = h.won_booked_at()
        was, now_flagged = (
            tally.add(result, owner=h.contact.owner, account_id=h.contact.account_id,
                      won_booked_at=won if won is not None and won < until else None)
            for result, tally in zip(done, chunk.tallies, strict=True)
        )
        ledger = h.ledger if h.ledger[-1].at < until else tuple(c for c in h.ledger if c.at < until)
        if not same_entries(ledger, done[0].changes):
            chunk.differing += 1
        chunk.newly += now_flagged and not was
        chunk.no_longer += was and not now_flagged
    return chunk


# A forked worker inherits the job and opens its own connection (never the parent's).
_WORKER: dict[str, Any] = {}


def _replay_chunk_in_worker(bounds: tuple[int, int]) -> _Chunk:
    if "engine" not in _WORKER:
        _WORKER["engine"] = make_engine(_WORKER["url"])
    with _WORKER["engine"].connect() as conn:
        return _replay_chunk(conn, _WORKER["job"], *bounds)


def _chunks(
    engine: Engine, job: _Job, ranges: list[tuple[int, int]], workers: int
) -> Iterator[_Chunk]:
    """Each range's replay, in range order, computed by `workers` processes (1: in this one)."""
    url = engine.url
    in_memory = url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")
    if workers <= 1 or len(ranges) <= 1 or in_memory:
        with engine.connect() as conn:
            for lo, hi in ranges:
                yield _replay_chunk(conn, job, lo, hi)
        return
    # fork: the workers share the job (accounts, deals, policies) without copying or re-reading it
    _WORKER.clear()
    _WORKER.update(url=url.render_as_string(hide_password=False), job=job)
    try:
        with multiprocessing.get_context("fork").Pool(min(workers, len(ranges))) as pool:
            yield from pool.imap(_replay_chunk_in_worker, ranges)
    finally:
        _WORKER.clear()


def replay_report(
    engine: Engine,
    policy: Policy,
    *,
    baseline: Policy | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    progress: Progress | None = None,
    workers: int | None = None,
    chunk_size: int = CHUNK,
) -> ReplayReport:
    """Replay the stored history under `policy` and under the active policy (or `baseline`).

    Contacts are replayed in id ranges of `chunk_size`, by `workers` processes (default: one per
    core); the result does not depend on either.
    """
    began = time.perf_counter()
    with engine.connect() as conn:
        until = end or _end_of_history(conn)
        active = load_active_policy(conn)
        recorded = {r.version: parse_policy(r.yaml, f"stored policy {r.version}")
                    for r in conn.execute(select(policies.c.version, policies.c.yaml))}
        base = baseline or active
        setups = (ReplaySetup(base, recorded), ReplaySetup(policy, recorded))
        job = _Job(
            setups=setups,
            accounts=replay_reads.read_accounts(conn),
            opportunities=replay_reads.read_opportunities(conn),
            until=until,
            created=(start or datetime(1970, 1, 1, tzinfo=UTC), until),
            with_events=any(s.policy.version != v for s in setups for v in recorded),
            same_fit=base.scoring.fit_rules == policy.scoring.fit_rules,
        )
        ranges = replay_reads.id_ranges(conn, chunk_size)
    total = _Chunk((FunnelTally(base), FunnelTally(policy)))
    for i, chunk in enumerate(_chunks(engine, job, ranges, workers or os.cpu_count() or 1)):
        total.merge(chunk)
        if progress:
            progress(i + 1, len(ranges))
    return ReplayReport(
        start=start,
        end=until,
        baseline=total.tallies[0].finish(),
        replayed=total.tallies[1].finish(),
        baseline_matches_ledger=total.differing == 0 and base.version == active.version,
        contacts_differing_from_ledger=total.differing,
        newly_flagged=total.newly,
        no_longer_flagged=total.no_longer,
        seconds=time.perf_counter() - began,
    )
