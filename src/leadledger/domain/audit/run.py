"""`run_audit`: every rule over a snapshot, the totals, and what the source could not show."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime

from leadledger.domain.audit.contact_rules import contact_rules
from leadledger.domain.audit.context import AuditContext, AuditSettings, counts_as_won
from leadledger.domain.audit.deal_rules import deal_rules
from leadledger.domain.audit.duplicate_rules import duplicate_rules
from leadledger.domain.audit.findings import RULES, Finding, Rule, Severity
from leadledger.domain.audit.records import AuditSnapshot, DealState
from leadledger.domain.audit.totals import AuditTotals, totals
from leadledger.domain.policy import Policy


@dataclass(frozen=True, slots=True, kw_only=True)
class RuleSummary:
    """One line of the summary table: a rule, how often it fired, an example, the money at stake."""

    rule: Rule
    count: int
    amount: float
    example: str | None

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"rule": self.rule.id, "slug": self.rule.slug, "severity": self.rule.severity.value,
                "count": self.count, "amount": self.amount, "example": self.example}


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditReport:
    """The findings of one audit, their totals, and the limits of the source."""

    source: str
    policy_version: str
    now: datetime
    findings: tuple[Finding, ...]
    totals: AuditTotals
    limitations: tuple[str, ...]

    def summary(self) -> tuple[RuleSummary, ...]:
        """Per rule of the pack (including rules that found nothing), in id order."""
        counts = Counter(f.rule for f in self.findings)
        amounts: dict[str, float] = defaultdict(float)
        examples: dict[str, str] = {}
        for f in self.findings:
            amounts[f.rule] += f.amount or 0.0
            examples.setdefault(f.rule, f.key)
        return tuple(
            RuleSummary(rule=r, count=counts[r.id], amount=amounts[r.id], example=examples.get(r.id))
            for r in RULES
        )

    @property
    def worst(self) -> Severity | None:
        """The most severe finding's severity (None when the audit is clean)."""
        return max((f.severity for f in self.findings), key=lambda s: s.rank, default=None)

    def fails(self, threshold: Severity) -> bool:
        """Whether any finding is at or above `threshold` (the exit code of a scheduled job)."""
        return any(f.severity.at_least(threshold) for f in self.findings)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "source": self.source,
            "policy_version": self.policy_version,
            "now": self.now.isoformat(),
            "summary": [s.to_dict() for s in self.summary()],
            "totals": self.totals.to_dict(),
            "limitations": list(self.limitations),
            "findings": [f.to_dict() for f in self.findings],
        }


def _order(f: Finding) -> tuple[int, str, str, str]:
    return (-f.severity.rank, f.rule, f.record_kind, f.key)


def _limitations(snapshot: AuditSnapshot, findings: list[Finding]) -> tuple[str, ...]:
    """The source's own limits, plus what the rules had to take on trust."""
    out = list(snapshot.limitations)
    assumed = sum(
        1 for d in snapshot.deals
        if d.state is DealState.WON and not (d.signed_known and d.booked_known) and counts_as_won(d)
    )
    if assumed:
        out.append(
            f"{assumed} deal(s) reported won could not be checked for a signed and booked contract "
            "(the source has no contract-signed or booked date column): the CRM's won flag was taken."
        )
    unchecked = Counter(u for f in findings for u in f.unchecked)
    out += [f"not in the source, so not checked: {u} ({n} finding(s))" for u, n in sorted(unchecked.items())]
    return tuple(out)


def run_audit(
    snapshot: AuditSnapshot, policy: Policy, now: datetime, settings: AuditSettings | None = None
) -> AuditReport:
    """Run the whole rule pack over `snapshot` as of `now` under `policy`."""
    ctx = AuditContext(snapshot, policy, now, settings or AuditSettings())
    found = [*contact_rules(ctx), *deal_rules(ctx), *duplicate_rules(ctx)]
    found.sort(key=_order)
    return AuditReport(
        source=snapshot.source,
        policy_version=policy.version,
        now=now,
        findings=tuple(found),
        totals=totals(ctx, found),
        limitations=_limitations(snapshot, found),
    )
