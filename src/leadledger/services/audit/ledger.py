"""Audit the ledger: read a snapshot in one transaction, run the pure rule pack over it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine

from leadledger.domain.audit import AuditReport, AuditSettings, run_audit
from leadledger.store import db
from leadledger.store.audit_reads import read_audit_snapshot
from leadledger.store.policies import load_active_policy


def audit_ledger(
    engine: Engine, now: datetime, settings: AuditSettings | None = None, *, complete: bool = False
) -> AuditReport:
    """The hygiene audit of the ledger under its active policy, as of `now` (`complete`: list everyone)."""
    with db.transaction(engine) as conn:
        policy = load_active_policy(conn)
        snapshot = read_audit_snapshot(conn, policy, now, complete=complete)
    return run_audit(snapshot, policy, now, settings)
