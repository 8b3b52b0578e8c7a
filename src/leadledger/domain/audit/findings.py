"""Findings, severities and the catalogue of rule ids (stable: scheduled jobs and dashboards key on them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How bad a finding is; ordered info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """0, 1, 2 in the order info < warning < error."""
        return _RANK[self]

    def at_least(self, other: Severity) -> bool:
        """Whether this severity is `other` or worse."""
        return self.rank >= other.rank


_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One rule of the pack: a stable id, a slug, a severity and what it checks."""

    id: str
    slug: str
    severity: Severity
    checks: str


RULES: tuple[Rule, ...] = (
    Rule(id="LL001", slug="prospect-without-qualification", severity=Severity.ERROR,
         checks="a prospect (SQL or opportunity) lacks the qualification its policy gate requires"),
    Rule(id="LL002", slug="opportunity-without-open-deal", severity=Severity.ERROR,
         checks="a contact counted as an opportunity has no open deal with an amount and a close date"),
    Rule(id="LL003", slug="customer-without-booked-contract", severity=Severity.ERROR,
         checks="a contact counted as a customer has no signed-and-booked contract on its account"),
    Rule(id="LL004", slug="customer-contact-in-nurture", severity=Severity.WARNING,
         checks="a customer account's contact sits in a lead or nurture stage"),
    Rule(id="LL005", slug="mql-counted-as-sql", severity=Severity.ERROR,
         checks="a contact counted as SQL is, on the evidence, only marketing-qualified"),
    Rule(id="LL006", slug="opportunity-past-close-date", severity=Severity.WARNING,
         checks="an open deal's expected close date has passed"),
    Rule(id="LL007", slug="opportunity-stale-in-stage", severity=Severity.WARNING,
         checks="an open deal has not moved or been worked for longer than the stale limit"),
    Rule(id="LL008", slug="no-owner", severity=Severity.WARNING,
         checks="a sales-owned contact or an open deal has no owner"),
    Rule(id="LL009", slug="sal-past-sla", severity=Severity.WARNING,
         checks="a sales-accepted lead had no first touch within the SLA"),
    Rule(id="LL010", slug="single-threaded-enterprise-deal", severity=Severity.WARNING,
         checks="an open enterprise deal involves a single contact"),
    Rule(id="LL011", slug="contact-company-lifecycle-disagree", severity=Severity.WARNING,
         checks="a contact's lifecycle label contradicts its company's"),
    Rule(id="LL012", slug="customer-after-churn", severity=Severity.ERROR,
         checks="a contact is still counted as a customer after its account churned"),
    Rule(id="LL013", slug="duplicate-email", severity=Severity.WARNING,
         checks="two records share one email address"),
    Rule(id="LL014", slug="duplicate-name-at-domain", severity=Severity.INFO,
         checks="two records carry the same person's name at the same email domain"),
    Rule(id="LL015", slug="won-without-booking", severity=Severity.ERROR,
         checks="a deal reported as won has no signed-and-booked contract"),
)
RULES_BY_ID = {r.id: r for r in RULES}


@dataclass(frozen=True, slots=True, kw_only=True)
class Finding:
    """One record whose label the evidence does not support, as a sentence a sales VP reads."""

    rule: str
    severity: Severity
    record_kind: str  # "contact" or "deal"
    key: str  # the record's key in the source (email for ledger contacts)
    record: str  # how to name the record to a person
    label: str  # the label as the source has it
    supported_label: str | None  # what the policy supports, where it can be decided
    evidence: tuple[str, ...]  # what contradicts the label
    message: str
    unchecked: tuple[str, ...] = ()  # what this source could not show
    amount: float | None = None  # deal value at stake, where there is one
    related: tuple[str, ...] = ()  # keys of related records (a deal's contacts, a duplicate's twin)

    @property
    def slug(self) -> str:
        """The rule's slug, e.g. prospect-without-qualification."""
        return RULES_BY_ID[self.rule].slug

    def to_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "rule": self.rule,
            "slug": self.slug,
            "severity": self.severity.value,
            "record_kind": self.record_kind,
            "key": self.key,
            "record": self.record,
            "label": self.label,
            "supported_label": self.supported_label,
            "evidence": list(self.evidence),
            "unchecked": list(self.unchecked),
            "amount": self.amount,
            "related": list(self.related),
            "message": self.message,
        }


def finding(rule_id: str, **kw: object) -> Finding:
    """A finding of rule `rule_id`, with the rule's severity."""
    return Finding(rule=rule_id, severity=RULES_BY_ID[rule_id].severity, **kw)  # type: ignore[arg-type]
