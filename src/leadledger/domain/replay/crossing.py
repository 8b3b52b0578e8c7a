"""The event moments at which contacts' scores reach the MQL threshold: a whole range at once.

The replay walk jumps between the event moments at which the score reaches the threshold
(`engine._hot_moments`), found with one `ScoreClock` per contact, event by event. Here the same
decayed, capped totals are computed for every event of a range with NumPy. The sums are not
added in the clock's order, so their last bits may differ: a moment counts only when its total
is clearly over or under the bar (by `MARGIN`, far above the rounding error and far below any
score step), and a contact with a total inside that band keeps the exact per-contact search.
Most contacts never come near the threshold: they need no clock and no events at all.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from leadledger.domain.policy import Scoring
from leadledger.domain.replay.rules import REBASE_HALF_LIVES
from leadledger.domain.scoring import SECONDS_PER_DAY

MARGIN = 1e-6  # on top of the walk's own 1e-6 settling band; rounding here is ~1e-12 of a score
MICROS = 1_000_000

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]


def _segment_cumsum(values: Floats, first: Ints) -> Floats:
    """Running sums restarting at each segment (`first[i]`: index of row i's segment start).

    A doubling scan (log2 of the longest segment passes) instead of one global cumulative sum
    minus an offset: the error stays relative to each contact's own sums, not to the range's.
    """
    out = values.copy()
    idx = np.arange(len(out))
    longest = int((idx - first).max(initial=0)) + 1
    step = 1
    while step < longest:
        reach = idx[step:] - step >= first[step:]  # the row `step` back is in the same segment
        out[step:] += np.where(reach, out[:-step], 0.0)  # np.where copies: no overlap with the target
        step *= 2
    return out


def _segment_starts(owner: Ints) -> Ints:
    """For each row of a sorted owner column, the index of its owner's first row."""
    n = len(owner)
    new = np.ones(n, dtype=bool)
    new[1:] = owner[1:] != owner[:-1]
    return np.maximum.accumulate(np.where(new, np.arange(n), 0))


def hot_moments(
    scoring: Scoring,
    fits: Floats,
    since: Ints,
    starts: Ints,
    micros: Ints,
    codes: Ints,
    names: list[str],
) -> list[list[int] | None]:
    """Per contact, `engine._hot_moments` as epoch µs, or None where only the exact clock can tell.

    Contact k's events are rows starts[k]:starts[k+1] of `micros` (epoch microseconds, oldest
    first) and `codes` (event types, as indexes into `names`); `fits` are the contacts' fit
    points, `since` their creation (epoch µs). A contact gets None when a total lands within
    `MARGIN` of the walk's threshold (threshold − 1e-6) or its clock would rebase.
    """
    n_contacts = len(starts) - 1
    if len(micros) == 0:
        return [[] for _ in range(n_contacts)]
    owner = np.repeat(np.arange(n_contacts), np.diff(starts))
    first = starts[:-1][owner]
    per_second = 1.0 / (scoring.half_life_days * SECONDS_PER_DAY)
    half_lives = (micros - micros[first]).astype(np.float64) / MICROS * per_second
    # the clock rebases past REBASE_HALF_LIVES: such a contact keeps the exact search
    rebased = np.zeros(n_contacts, dtype=bool)
    np.logical_or.at(rebased, owner, half_lives > REBASE_HALF_LIVES / 2)
    half_lives = np.minimum(half_lives, REBASE_HALF_LIVES)
    weight = np.exp2(half_lives)
    decay = np.exp2(-half_lives)
    code_of = {name: i for i, name in enumerate(names)}
    total = fits[owner].astype(np.float64)
    for signal in scoring.signals:
        code = code_of.get(signal.event_type)
        mine = codes == code if code is not None else None
        if mine is None or not mine.any():
            continue
        rows = np.flatnonzero(mine)  # this type's events: each contact's sum runs over them alone
        sums = _segment_cumsum(weight[rows], _segment_starts(owner[rows]))
        latest = np.cumsum(mine) - 1  # this type's latest event at or before each row
        seen = latest >= 0
        latest[~seen] = 0
        seen &= owner[rows][latest] == owner  # … of the same contact
        raw = signal.points * (np.where(seen, sums[latest], 0.0) * decay)
        if signal.cap is not None:
            raw = np.minimum(raw, signal.cap) if signal.points >= 0 else np.maximum(raw, -signal.cap)
        total += raw
    # a moment is the last event at its time; the clock reads the total there
    last_at_time = np.ones(len(micros), dtype=bool)
    last_at_time[:-1] = (micros[1:] != micros[:-1]) | (owner[1:] != owner[:-1])
    near = scoring.mql_threshold - 1e-6  # `_hot_moments`' own bar
    moment = last_at_time & (micros >= since[owner])
    unsure = rebased.copy()
    np.logical_or.at(unsure, owner, moment & (np.abs(total - near) <= MARGIN))
    sure = np.flatnonzero(moment & (total > near + MARGIN))
    bounds = np.searchsorted(owner[sure], np.arange(n_contacts + 1))
    at = micros[sure].tolist()
    return [None if unsure[k] else at[bounds[k]:bounds[k + 1]] for k in range(n_contacts)]


def ceilings(scoring: Scoring, fits: Floats, counts: Ints, names: list[str]) -> Floats:
    """Per contact, `rules.score_ceiling` from its events per type (row of `counts`, column per name).

    Summed signal by signal in the policy's order, like `ceiling_of_counts`; a signal a contact
    lacks adds 0.0, which leaves a float as it was: the totals are the same floats.
    """
    code_of = {name: i for i, name in enumerate(names)}
    behaviour = np.zeros(len(fits), dtype=np.float64)
    for signal in scoring.signals:
        code = code_of.get(signal.event_type)
        if signal.points <= 0 or code is None:
            continue
        seen = counts[:, code]
        raw = signal.points * seen.astype(np.float64)
        if signal.cap is not None:
            raw = np.minimum(raw, signal.cap)
        behaviour += np.where(seen > 0, raw, 0.0)
    return fits + behaviour
