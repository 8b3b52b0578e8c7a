"""The pipeline hygiene audit: which labels the evidence does not support, and what that costs.

Pure: a snapshot of records (from the ledger or a CRM export) in, findings and totals out.
"""

from leadledger.domain.audit.context import AuditSettings
from leadledger.domain.audit.findings import RULES, RULES_BY_ID, Finding, Rule, Severity
from leadledger.domain.audit.records import AuditAccount, AuditContact, AuditDeal, AuditSnapshot, DealState
from leadledger.domain.audit.run import AuditReport, RuleSummary, run_audit
from leadledger.domain.audit.totals import AuditTotals

__all__ = [
    "RULES",
    "RULES_BY_ID",
    "AuditAccount",
    "AuditContact",
    "AuditDeal",
    "AuditReport",
    "AuditSettings",
    "AuditSnapshot",
    "AuditTotals",
    "DealState",
    "Finding",
    "Rule",
    "RuleSummary",
    "Severity",
    "run_audit",
]
