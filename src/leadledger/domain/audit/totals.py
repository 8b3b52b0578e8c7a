"""The damage in numbers: pipeline and won revenue the evidence does not support, and the funnel
as reported (by label) against the funnel as corrected (by the label the evidence supports)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise

from leadledger.domain.audit.context import AuditContext
from leadledger.domain.audit.findings import Finding
from leadledger.domain.audit.records import DealState
from leadledger.domain.policy import Meaning

# Findings whose supported label replaces the reported one in the corrected funnel, by precedence.
LABEL_RULES = ("LL001", "LL005", "LL002", "LL003", "LL012", "LL004", "LL008")
UNQUALIFIED_RULES = frozenset({"LL001", "LL005"})
DEAD_DEAL_RULES = frozenset({"LL006", "LL007"})


@dataclass(frozen=True, slots=True, kw_only=True)
class StageCount:
    """Contacts at a stage, and how many reached it or beyond, as reported and as corrected."""

    stage: str
    reported: int
    corrected: int
    reached_reported: int
    reached_corrected: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversion:
    """Share of records that reached `from_stage` and also reached `to_stage` (None: nobody reached it)."""

    from_stage: str
    to_stage: str
    reported: float | None
    corrected: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditTotals:
    """What the mislabels cost."""

    contacts: int
    mislabeled_contacts: int
    open_deals: int
    pipeline_reported: float
    pipeline_unsupported: float
    won_reported: float
    won_unsupported: float
    stages: tuple[StageCount, ...]
    conversions: tuple[Conversion, ...]

    @property
    def pipeline_supported(self) -> float:
        """Open pipeline the evidence backs."""
        return self.pipeline_reported - self.pipeline_unsupported

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {**asdict(self), "pipeline_supported": self.pipeline_supported}


def corrected_labels(findings: Sequence[Finding]) -> dict[str, str]:
    """Contact key → the label the evidence supports, for contacts whose label a finding disputes."""
    rank = {r: i for i, r in enumerate(LABEL_RULES)}
    best: dict[str, tuple[int, str]] = {}
    for f in findings:
        if f.record_kind != "contact" or f.rule not in rank or f.supported_label is None:
            continue
        if f.key not in best or rank[f.rule] < best[f.key][0]:
            best[f.key] = (rank[f.rule], f.supported_label)
    return {k: v for k, (_, v) in best.items()}


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def funnel(
    ctx: AuditContext, corrected: dict[str, str]
) -> tuple[tuple[StageCount, ...], tuple[Conversion, ...]]:
    """Per main stage: counts as labelled and as corrected; conversions between consecutive stages.

    A side state (nurture, disqualified) counts as having reached only the first stage.
    """
    main = ctx.policy.main_stages
    order = {s.name: i for i, s in enumerate(main)}
    reported: Counter[int] = Counter()
    fixed: Counter[int] = Counter()
    at_rep: Counter[str] = Counter()
    at_fix: Counter[str] = Counter()
    for c in ctx.snapshot.contacts:
        new = corrected.get(c.key, c.label)
        reported[order.get(c.label, 0)] += 1
        fixed[order.get(new, 0)] += 1
        at_rep[c.label] += 1
        at_fix[new] += 1
    for label, n in ctx.snapshot.unlisted:  # no finding disputes these labels
        reported[order.get(label, 0)] += n
        fixed[order.get(label, 0)] += n
        at_rep[label] += n
        at_fix[label] += n

    def reached(counts: Counter[int], i: int) -> int:
        return sum(n for j, n in counts.items() if j >= i)

    stages = tuple(
        StageCount(stage=s.name, reported=at_rep[s.name], corrected=at_fix[s.name],
                   reached_reported=reached(reported, i), reached_corrected=reached(fixed, i))
        for i, s in enumerate(main)
    )
    conversions = [
        Conversion(from_stage=a.stage, to_stage=b.stage,
                   reported=_rate(b.reached_reported, a.reached_reported),
                   corrected=_rate(b.reached_corrected, a.reached_corrected))
        for a, b in pairwise(stages)
    ]
    # The two benchmark steps of the domain brief: lead → prospect and prospect → customer.
    prospect = next((s for s in main if s.meaning is Meaning.PROSPECT), None)
    customer = next((s for s in main if s.meaning is Meaning.CUSTOMER), None)
    by = {s.stage: s for s in stages}
    for a_name, b in ((main[0].name, prospect), (prospect.name if prospect else None, customer)):
        if a_name is None or b is None or a_name not in by:
            continue
        a_count, b_count = by[a_name], by[b.name]
        conversions.append(Conversion(
            from_stage=a_name, to_stage=b.name,
            reported=_rate(b_count.reached_reported, a_count.reached_reported),
            corrected=_rate(b_count.reached_corrected, a_count.reached_corrected),
        ))
    return stages, tuple(conversions)


def totals(ctx: AuditContext, findings: Sequence[Finding]) -> AuditTotals:
    """Pipeline and won revenue as reported vs supported, and the funnel before and after correction."""
    unqualified = {f.key for f in findings if f.record_kind == "contact" and f.rule in UNQUALIFIED_RULES}
    dead = {f.key for f in findings if f.record_kind == "deal" and f.rule in DEAD_DEAL_RULES}
    unbooked_won = {f.key for f in findings if f.record_kind == "deal" and f.rule == "LL015"}
    prospect_stages = {s.name for s in ctx.policy.main_stages if s.meaning is Meaning.PROSPECT}
    contacts_by_account: dict[str, list[str]] = {}
    for c in ctx.snapshot.contacts:
        if c.account is not None and c.label in prospect_stages:
            contacts_by_account.setdefault(c.account, []).append(c.key)
    pipeline = unsupported = won = won_bad = 0.0
    open_deals = 0
    for d in ctx.snapshot.deals:
        amount = d.amount or 0.0
        if d.state is DealState.OPEN:
            open_deals += 1
            pipeline += amount
            linked = [k for k, _ in d.contacts] or contacts_by_account.get(d.account or "", [])
            if d.key in dead or (linked and all(k in unqualified for k in linked)):
                unsupported += amount
        elif d.state is DealState.WON:
            won += amount
            if d.key in unbooked_won:
                won_bad += amount
    # Customers without a booked contract: their account's largest live deal is counted as won too.
    claimed: dict[str, float] = {}
    for f in findings:
        if f.rule == "LL003" and f.amount:
            account = ctx.contacts[f.key].account if f.key in ctx.contacts else None
            claimed[account or f.key] = f.amount
    won += sum(claimed.values())
    won_bad += sum(claimed.values())
    corrected = corrected_labels(findings)
    stages, conversions = funnel(ctx, corrected)
    return AuditTotals(
        contacts=ctx.snapshot.contact_count,
        mislabeled_contacts=sum(1 for k, v in corrected.items() if ctx.contacts[k].label != v)
        if corrected else 0,
        open_deals=open_deals,
        pipeline_reported=pipeline,
        pipeline_unsupported=unsupported,
        won_reported=won,
        won_unsupported=won_bad,
        stages=stages,
        conversions=conversions,
    )
