"""Domain views of simulated records, so the demo is judged by the same gates as real data."""

from __future__ import annotations

from leadledger.domain.policy import Scoring
from leadledger.domain.records import Contact
from leadledger.domain.scoring import FitValue, fit_rule_matches, fit_values
from leadledger.services.demo.world import ContactSim, to_datetime


def contact_record(
    c: ContactSim, stage: str, owner: str | None = None, entered: int | None = None
) -> Contact:
    """The contact as the domain sees it, in `stage` with `owner`."""
    return Contact(
        id=c.id, email=c.email, first_name=c.first_name, last_name=c.last_name, company=c.company,
        title=c.title, seniority=c.seniority, role=c.role,
        account_id=c.account.id if c.account else None, owner=owner, source=c.source,
        opted_out=c.opted_out, stage=stage,
        stage_entered_at=to_datetime(entered) if entered is not None else None,
        created_at=to_datetime(c.created_at),
    )


class FitScorer:
    """ICP fit points, as `score_fit` sums them, with each rule's verdict cached per value."""

    def __init__(self, scoring: Scoring) -> None:
        self.rules = scoring.fit_rules
        self.verdicts: dict[tuple[int, FitValue], bool] = {}

    def _matches(self, i: int, value: FitValue) -> bool:
        key = (i, value)
        if key not in self.verdicts:
            self.verdicts[key] = fit_rule_matches(self.rules[i], value)
        return self.verdicts[key]

    def fit(self, c: ContactSim) -> float:
        """The contact's fit (it does not change over the simulated year)."""
        account = c.account.as_record(c.created_at) if c.account else None
        values = fit_values(contact_record(c, "lead"), account)
        # Same rules, same order, same sum as score_fit: the gate sees the identical number.
        return sum(r.points for i, r in enumerate(self.rules) if self._matches(i, values.get(r.field)))
