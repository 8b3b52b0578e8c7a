"""The range-wide search for the moments a score reaches the threshold, against the exact clock."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from leadledger.domain.policy import Policy
from leadledger.domain.records import Event
from leadledger.domain.replay.crossing import ceilings, hot_moments
from leadledger.domain.replay.engine import _hot_moments
from leadledger.domain.replay.rules import score_ceiling
from tests.builders import T0

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KINDS = ("demo_request", "pricing_page_view", "email_open", "unsubscribe", "webinar_attended", "call")


Contacts = list[tuple[float, datetime, list[Event]]]


def _micros(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def _contacts(seed: int, n: int) -> Contacts:
    """Random contacts: fit, creation and events (some at the same moment, some before creation)."""
    rng = random.Random(seed)
    out = []
    for k in range(n):
        times = sorted(T0 + timedelta(days=rng.randrange(0, 400), hours=rng.choice((0, 0, 5)))
                       for _ in range(rng.randrange(0, 25)))
        events = [Event(id=f"{k}-{i}", contact_id=k, type=rng.choice(KINDS), occurred_at=t)
                  for i, t in enumerate(times)]
        fit = float(rng.choice((0, 15, 30, 45, 60)))
        out.append((fit, T0 + timedelta(days=rng.randrange(0, 200)), events))
    return out


def _found(policy: Policy, contacts: Contacts) -> list[list[datetime] | None]:
    """`hot_moments` of the contacts, as datetimes."""
    names = list(KINDS)
    events = [e for _, _, evs in contacts for e in evs]
    starts = np.cumsum([0] + [len(evs) for _, _, evs in contacts]).astype(np.int64)
    found = hot_moments(
        policy.scoring,
        np.array([fit for fit, _, _ in contacts]),
        np.array([_micros(since) for _, since, _ in contacts], dtype=np.int64),
        starts,
        np.array([_micros(e.occurred_at) for e in events], dtype=np.int64),
        np.array([names.index(e.type) for e in events], dtype=np.int64),
        names,
    )
    return [None if f is None else [EPOCH + timedelta(microseconds=m) for m in f] for f in found]


@pytest.mark.parametrize("threshold", [40.0, 60.0, 90.0, 135.0])
@pytest.mark.parametrize("half_life", [45.0, 3.0])
def test_the_moments_found_are_the_clocks(lead_first: Policy, threshold: float, half_life: float) -> None:
    policy = replace(lead_first, scoring=replace(lead_first.scoring, mql_threshold=threshold,
                                                 half_life_days=half_life))
    contacts = _contacts(int(threshold + half_life), 300)
    found = _found(policy, contacts)
    exact = [_hot_moments(evs, policy.scoring, fit, since) for fit, since, evs in contacts]
    assert all(f == e for f, e in zip(found, exact, strict=True) if f is not None)
    assert sum(f is None for f in found) < len(contacts) * 0.1  # left to the clock: a few, near the bar
    assert sum(f == [] for f in found) > 0 and sum(bool(f) for f in found) > 0


def test_a_score_landing_exactly_on_the_threshold_is_left_to_the_clock(lead_first: Policy) -> None:
    # one demo request (45 points) on a fit of 55: exactly 100 at the moment it arrives
    policy = replace(lead_first, scoring=replace(lead_first.scoring, mql_threshold=100.0))
    event = Event(id="e", contact_id=1, type="demo_request", occurred_at=T0 + timedelta(days=3))
    assert _hot_moments([event], policy.scoring, 55.0, T0) == [event.occurred_at]
    assert _found(policy, [(55.0, T0, [event]), (54.0, T0, [event]), (56.0, T0, [event])]) == [
        None, [], [event.occurred_at]]  # on the bar: the clock decides
    later = T0 + timedelta(days=4)  # created after the event: no moment from creation on
    assert _found(policy, [(56.0, later, [event])]) == [[]]


def test_a_history_spanning_hundreds_of_half_lives_keeps_the_exact_search(lead_first: Policy) -> None:
    policy = replace(lead_first, scoring=replace(lead_first.scoring, half_life_days=0.5, mql_threshold=500.0))
    events = [Event(id=str(i), contact_id=1, type="email_open", occurred_at=T0 + timedelta(days=100 * i))
              for i in range(5)]  # 800 half-lives: the clock rebases its weights
    assert _found(policy, [(0.0, T0, events)]) == [None]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_the_ceilings_of_a_range_are_each_contacts_ceiling(lead_first: Policy, seed: int) -> None:
    contacts = _contacts(seed, 400)
    names = list(KINDS)
    counts = np.array([[sum(1 for e in evs if e.type == kind) for kind in names] for _, _, evs in contacts],
                      dtype=np.int64)
    fits = np.array([fit + 0.1 * (k % 7) for k, (fit, _, _) in enumerate(contacts)])  # not only whole points
    found = ceilings(lead_first.scoring, fits, counts, names).tolist()
    exact = [score_ceiling(lead_first.scoring, fit, evs) for fit, (_, _, evs) in zip(fits.tolist(), contacts,
                                                                                        strict=True)]
    assert found == exact  # the same floats, not merely close
    assert len(set(found)) > 50 and any(f > fit for f, fit in zip(found, fits.tolist(), strict=True))
