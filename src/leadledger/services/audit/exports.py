"""Audit a CRM export where it lies: read the files, map them onto the policy, run the rule pack."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from leadledger.domain.audit import AuditReport, AuditSettings, AuditSnapshot, run_audit
from leadledger.domain.policy import Policy
from leadledger.errors import LeadledgerError
from leadledger.policyfile import BUILTIN, builtin_policy_text, load_policy_file, parse_policy
from leadledger.services.audit.frames import read_frame
from leadledger.services.audit.hubspot import hubspot_snapshot
from leadledger.services.audit.ownformat import own_snapshot
from leadledger.services.audit.salesforce import salesforce_snapshot

FORMATS = ("hubspot", "salesforce", "csv")


def resolve_policy(spec: str) -> Policy:
    """A built-in policy by name, or a policy YAML file."""
    if spec in BUILTIN:
        return parse_policy(builtin_policy_text(spec), spec)
    path = Path(spec)
    if not path.is_file():
        raise LeadledgerError(f"no built-in policy {spec!r} ({', '.join(BUILTIN)}) and no such file")
    return load_policy_file(path)[0]


def export_snapshot(files: list[Path], fmt: str, policy: Policy) -> AuditSnapshot:
    """The export files as one audit snapshot (each file's kind told by its header)."""
    frames = [read_frame(p) for p in files]
    if fmt == "hubspot":
        return hubspot_snapshot(frames)
    if fmt == "salesforce":
        return salesforce_snapshot(frames)
    if fmt == "csv":
        return own_snapshot(frames, policy)
    raise LeadledgerError(f"unknown export format {fmt!r} (one of {', '.join(FORMATS)})")


def audit_export(
    files: list[Path], fmt: str, policy_spec: str, now: datetime, settings: AuditSettings | None = None
) -> AuditReport:
    """The hygiene audit of an export, under a built-in policy or a policy file, as of `now`."""
    policy = resolve_policy(policy_spec)
    return run_audit(export_snapshot(files, fmt, policy), policy, now, settings)
