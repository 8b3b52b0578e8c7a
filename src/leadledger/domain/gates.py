"""The gate evaluator: what a record still lacks before it may enter a stage."""

from __future__ import annotations

from dataclasses import dataclass, field

from leadledger.domain.facts import ContactFacts
from leadledger.domain.policy import Meaning, Policy, Stage


@dataclass(frozen=True, slots=True, kw_only=True)
class Missing:
    """One unmet requirement, with a sentence a rep can act on."""

    requirement: str
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GateResult:
    """The verdict of a gate: what is missing, and the evidence that satisfied it."""

    stage: str
    missing: tuple[Missing, ...]
    snapshot: dict[str, object] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        """True when nothing is missing."""
        return not self.missing


def _contact_field_present(facts: ContactFacts, name: str) -> bool:
    c = facts.contact
    value = {
        "email": c.email,
        "name": c.name,
        "company": c.company or (facts.account.name if facts.account else None),
        "source": c.source,
        "title": c.title,
        "owner": c.owner,
        "account": c.account_id,
    }.get(name)
    return value not in (None, "")


def _evidence_snapshot(facts: ContactFacts, names: tuple[str, ...]) -> dict[str, object]:
    return {
        n: {
            "value": facts.evidence[n].value,
            "confirmed_by": facts.evidence[n].confirmed_by,
            "confirmed_at": facts.evidence[n].confirmed_at.isoformat(),
        }
        for n in names
        if n in facts.evidence
    }


def _fit_and_signal(facts: ContactFacts, policy: Policy, why: str) -> list[Missing]:
    missing = []
    if facts.fit < policy.scoring.fit_minimum:
        missing.append(
            Missing(
                requirement="icp_fit",
                message=f"{why}: ICP fit {facts.fit:g} is below the fit minimum "
                f"{policy.scoring.fit_minimum:g}",
            )
        )
    if facts.buying_signal_count == 0:
        kinds = ", ".join(policy.buying_signal_events)
        missing.append(
            Missing(requirement="buying_signal", message=f"{why}: no buying signal on record ({kinds})")
        )
    return missing


def _trial_path(facts: ContactFacts, stage: Stage, policy: Policy) -> GateResult | None:
    """Product-led trial: usage plus fit qualify a trial user, in place of the stage's gate."""
    rule = policy.edge_cases.trial
    if rule is None or rule.to_stage != stage.name or facts.contact.source != rule.source:
        return None
    if facts.trial_usage_count >= rule.min_usage_events and facts.fit >= policy.scoring.fit_minimum:
        return GateResult(
            stage=stage.name,
            missing=(),
            snapshot={
                "path": "product-led trial",
                "trial_usage_events": facts.trial_usage_count,
                "fit": facts.fit,
            },
        )
    return None


def evaluate_gate(
    facts: ContactFacts,
    stage: Stage,
    policy: Policy,
    *,
    from_stage: str | None = None,
    reason: str = "",
) -> GateResult:
    """List everything `facts` lacks to enter `stage` under `policy`; empty means it may enter."""
    trial = _trial_path(facts, stage, policy)
    if trial is not None:
        return trial
    gate = stage.gate
    missing: list[Missing] = []
    snap: dict[str, object] = {}

    if gate.enter_from and from_stage not in gate.enter_from:
        direct = policy.edge_cases.direct_purchase
        won_amounts = [o.amount or 0.0 for o in facts.won_opportunities]
        if direct is not None and won_amounts and max(won_amounts) <= direct.max_amount:
            snap["path"] = f"direct purchase up to {direct.max_amount:g}"
        else:
            allowed = ", ".join(gate.enter_from)
            missing.append(
                Missing(
                    requirement="enter_from",
                    message=f"{stage.name} can only be entered from {allowed} "
                    f"(currently {from_stage or 'none'})",
                )
            )
    for name in gate.fields:
        if not _contact_field_present(facts, name):
            missing.append(Missing(requirement=f"field:{name}", message=f"contact has no {name}"))
    if gate.icp_fit:
        snap["fit"] = facts.fit
        if facts.fit < policy.scoring.fit_minimum:
            missing.append(
                Missing(
                    requirement="icp_fit",
                    message=f"ICP fit {facts.fit:g} is below the fit minimum {policy.scoring.fit_minimum:g}",
                )
            )
    if gate.score_threshold:
        snap["score"] = round(facts.score, 2)
        snap["threshold"] = policy.scoring.mql_threshold
        if facts.score < policy.scoring.mql_threshold:
            missing.append(
                Missing(
                    requirement="score_threshold",
                    message=f"score {facts.score:.1f} is below the threshold "
                    f"{policy.scoring.mql_threshold:g}",
                )
            )
    if gate.owner:
        snap["owner"] = facts.contact.owner
        if not facts.contact.owner:
            missing.append(Missing(requirement="owner", message="no owner assigned"))
    if gate.evidence:
        absent = [n for n in gate.evidence if n not in facts.evidence]
        snap["evidence"] = _evidence_snapshot(facts, gate.evidence)
        if absent:
            missing.append(
                Missing(
                    requirement="evidence:" + ",".join(absent),
                    message="missing qualification evidence: " + ", ".join(absent),
                )
            )
    if gate.enterprise_evidence and facts.is_enterprise(policy):
        absent = [n for n in gate.enterprise_evidence if n not in facts.evidence]
        snap["enterprise_evidence"] = _evidence_snapshot(facts, gate.enterprise_evidence)
        if absent:
            missing.append(
                Missing(
                    requirement="enterprise:" + ",".join(absent),
                    message="enterprise account: missing " + ", ".join(absent),
                )
            )
    if gate.two_way_interaction:
        snap["two_way_interactions"] = facts.two_way_count
        if facts.two_way_count == 0:
            missing.append(
                Missing(
                    requirement="two_way_interaction",
                    message="no two-way interaction with a rep on record (reply, call or meeting)",
                )
            )
    if gate.buying_signal:
        snap["buying_signals"] = facts.buying_signal_count
        if facts.buying_signal_count == 0:
            kinds = ", ".join(policy.buying_signal_events)
            missing.append(
                Missing(requirement="buying_signal", message=f"no buying signal on record ({kinds})")
            )
    if gate.open_opportunity:
        ready = [
            o
            for o in facts.opportunities
            if o.is_open and o.amount is not None and o.expected_close is not None
        ]
        if ready:
            snap["opportunity"] = {"id": ready[0].id, "amount": ready[0].amount}
        else:
            missing.append(
                Missing(
                    requirement="open_opportunity",
                    message="no open opportunity with an amount and an expected close date "
                    "on the contact's account",
                )
            )
    if gate.signed_and_booked:
        won = facts.won_opportunities
        if won:
            snap["won_opportunities"] = [
                {"id": o.id, "signed_at": str(o.signed_at), "booked_at": str(o.booked_at)} for o in won
            ]
        else:
            signed_only = [o for o in facts.opportunities if o.signed_at and not o.booked_at]
            detail = " (a signed contract is not booked yet)" if signed_only else ""
            missing.append(
                Missing(
                    requirement="signed_and_booked",
                    message="no opportunity on the account has both a contract signed date "
                    f"and a booked date{detail}",
                )
            )
    if gate.reason and not reason.strip():
        missing.append(Missing(requirement="reason", message=f"a reason is required to enter {stage.name}"))

    partner = policy.edge_cases.partner_source
    if partner and facts.contact.source == partner and stage.meaning is Meaning.PROSPECT:
        # Source is attribution, not qualification: a partner referral proves neither.
        have = {m.requirement for m in missing}
        missing += [m for m in _fit_and_signal(facts, policy, "partner-sourced") if m.requirement not in have]
    return GateResult(stage=stage.name, missing=tuple(missing), snapshot=snap)
