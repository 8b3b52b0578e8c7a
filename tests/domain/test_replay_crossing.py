"""The range-wide check for contacts whose score never nears the threshold, against the exact clock."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from leadledger.domain.policy import Policy
from leadledger.domain.records import Event
from leadledger.domain.replay.crossing import cold_contacts
from leadledger.domain.replay.engine import _hot_moments
from tests.builders import T0

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
KINDS = ("demo_request", "pricing_page_view", "email_open", "unsubscribe", "webinar_attended", "call")


def _micros(at: datetime) -> int:
    return (at - EPOCH) // timedelta(microseconds=1)


def _contacts(seed: int, n: int) -> list[tuple[float, datetime, list[Event]]]:
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


def _cold(policy: Policy, contacts: list[tuple[float, datetime, list[Event]]]) -> list[bool]:
    names = list(KINDS)
    events = [e for _, _, evs in contacts for e in evs]
    starts = np.cumsum([0] + [len(evs) for _, _, evs in contacts]).astype(np.int64)
    return cold_contacts(
        policy.scoring,
        np.array([fit for fit, _, _ in contacts]),
        np.array([_micros(since) for _, since, _ in contacts], dtype=np.int64),
        starts,
        np.array([_micros(e.occurred_at) for e in events], dtype=np.int64),
        np.array([names.index(e.type) for e in events], dtype=np.int64),
        names,
    ).tolist()


@pytest.mark.parametrize("threshold", [40.0, 60.0, 90.0, 135.0])
@pytest.mark.parametrize("half_life", [45.0, 3.0])
def test_a_cold_contact_has_no_moment_near_the_threshold(lead_first: Policy, threshold: float,
                                                          half_life: float) -> None:
    policy = replace(lead_first, scoring=replace(lead_first.scoring, mql_threshold=threshold,
                                                 half_life_days=half_life))
    contacts = _contacts(int(threshold + half_life), 300)
    cold = _cold(policy, contacts)
    exact = [_hot_moments(evs, policy.scoring, fit, since) == [] for fit, since, evs in contacts]
    assert all(e for c, e in zip(cold, exact, strict=True) if c)  # never cold where the clock finds a moment
    assert sum(cold) > sum(exact) * 0.9  # and it finds nearly all the cold ones (the others: margin)
    assert 0 < sum(cold) < len(contacts)


def test_a_score_landing_exactly_on_the_threshold_is_not_cold(lead_first: Policy) -> None:
    # one demo request (45 points) on a fit of 55: exactly 100 at the moment it arrives
    policy = replace(lead_first, scoring=replace(lead_first.scoring, mql_threshold=100.0))
    event = Event(id="e", contact_id=1, type="demo_request", occurred_at=T0 + timedelta(days=3))
    assert _hot_moments([event], policy.scoring, 55.0, T0) == [event.occurred_at]
    assert _cold(policy, [(55.0, T0, [event]), (54.0, T0, [event])]) == [False, True]
    later = T0 + timedelta(days=4)  # created after the event: no moment from creation on
    assert _cold(policy, [(55.0, later, [event])]) == [True]


def test_a_history_spanning_hundreds_of_half_lives_keeps_the_exact_search(lead_first: Policy) -> None:
    policy = replace(lead_first, scoring=replace(lead_first.scoring, half_life_days=0.5, mql_threshold=500.0))
    events = [Event(id=str(i), contact_id=1, type="email_open", occurred_at=T0 + timedelta(days=100 * i))
              for i in range(5)]  # 800 half-lives: the clock rebases its weights
    assert _cold(policy, [(0.0, T0, events)]) == [False]
