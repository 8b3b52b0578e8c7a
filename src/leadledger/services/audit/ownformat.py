"""Files in leadledger's own CSV columns (the import format) as an audit snapshot, not imported.

With an evidence file and an events file beside the contacts, every check runs as on the ledger;
without them, the qualification checks report what they could not see.
"""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime

import polars as pl

from leadledger.domain.audit import AuditAccount, AuditContact, AuditDeal, AuditSnapshot, DealState
from leadledger.domain.facts import latest_evidence
from leadledger.domain.policy import Policy
from leadledger.domain.records import TWO_WAY_BY_DEFAULT, Account, Contact, Evidence
from leadledger.domain.scoring import fit_values, score_fit
from leadledger.services.audit.accounts import export_snapshot
from leadledger.services.audit.frames import Frame, detect, number, parse_dates

KINDS = {
    "opportunities": ("opportunity_id",),
    "evidence": ("confirmed_by",),
    "events": ("event_id",),
    "contacts": ("email",),
    "accounts": ("domain",),
}
WON_STAGES = frozenset({"closed_won", "won"})
LOST_STAGES = frozenset({"closed_lost", "lost"})


def _domain(text: str | None) -> str | None:
    """'https://www.Acme.com/about' → 'acme.com'."""
    if not text:
        return None
    d = re.sub(r"^[a-z]+://", "", text.strip().lower()).split("/")[0]
    return d.removeprefix("www.") or None


def _accounts(f: Frame) -> dict[str, AuditAccount]:
    churned = parse_dates(f, "churned_at")
    out: dict[str, AuditAccount] = {}
    for i, row in enumerate(f.records()):
        key = _domain(row.get("domain"))
        if key is None:
            continue
        employees = number(row.get("employees"))
        out[key] = AuditAccount(
            key=key, name=row.get("name") or key, domain=key, owner=row.get("owner"),
            employees=int(employees) if employees is not None else None,
            industry=(row.get("industry") or "").lower() or None,
            annual_revenue=number(row.get("annual_revenue")),
            country=(row.get("country") or "").lower() or None, churned_at=churned.get(i),
        )
    return out


def _evidence(f: Frame) -> dict[str, list[Evidence]]:
    at = parse_dates(f, "confirmed_at")
    out: dict[str, list[Evidence]] = defaultdict(list)
    for i, r in enumerate(f.rows()):
        email = (r.get(f.col("email") or "") or "").lower()
        when = at.get(i)
        if email and when is not None:
            out[email].append(Evidence(
                contact_id=0, field=(r.get(f.col("field") or "") or "").lower(),
                value=r.get(f.col("value") or "") or "",
                confirmed_by=r.get(f.col("confirmed_by") or "") or "",
                confirmed_at=when,
            ))
    return out


def _activity(f: Frame, policy: Policy) -> dict[str, tuple[int, int, int, datetime | None]]:
    """Per email: (two-way events, buying signals, trial usage events, last activity)."""
    two_way_default = [t.value for t in TWO_WAY_BY_DEFAULT]
    kind = pl.col(f.col("type") or "type").str.to_lowercase()
    two_way = (
        pl.col(f.col("two_way") or "two_way").str.to_lowercase().is_in(["true", "yes", "1"])
        if f.has("two_way")
        else kind.is_in(two_way_default)
    )
    at = parse_dates(f, "occurred_at")
    df = f.df.with_columns(
        pl.col(f.col("email") or "email").str.to_lowercase().alias("_email"),
        two_way.fill_null(kind.is_in(two_way_default)).alias("_two_way"),
        kind.is_in(list(policy.buying_signal_events)).alias("_buying"),
        (kind == "trial_usage").alias("_trial"),
        pl.Series("_at", [at.get(i) for i in range(f.df.height)], dtype=pl.Datetime("us", "UTC")),
    ).group_by("_email").agg(
        pl.col("_two_way").sum(), pl.col("_buying").sum(), pl.col("_trial").sum(), pl.col("_at").max()
    )
    return {r[0]: (int(r[1]), int(r[2]), int(r[3]), r[4]) for r in df.iter_rows()}


def _deal_state(stage: str, signed: datetime | None, booked: datetime | None, lost: str | None) -> DealState:
    if (signed is not None and booked is not None) or stage in WON_STAGES:
        return DealState.WON
    return DealState.LOST if lost or stage in LOST_STAGES else DealState.OPEN


def _deals(f: Frame, names: dict[str, str], emails: set[str]) -> list[AuditDeal]:
    dates = {k: parse_dates(f, k) for k in ("expected_close", "signed_at", "booked_at")}
    out = []
    for i, row in enumerate(f.records()):
        get = row.get
        account = _domain(get("account_domain")) or names.get((get("account_name") or "").casefold())
        people = []
        for part in (get("contacts") or "").split(";"):
            email, _, role = part.strip().partition(":")
            if email.strip():
                people.append((email.strip().lower(), role.strip().lower() or "contact"))
        stage = (get("stage") or "discovery").lower()
        signed, booked = dates["signed_at"].get(i), dates["booked_at"].get(i)
        out.append(AuditDeal(
            key=get("opportunity_id") or f"row {i + 2}", name=get("name") or f"deal on row {i + 2}",
            account=account, state=_deal_state(stage, signed, booked, get("lost_reason")), stage=stage,
            amount=number(get("amount")), expected_close=dates["expected_close"].get(i), signed_at=signed,
            booked_at=booked, owner=get("owner"), type=(get("type") or "new").lower(),
            contacts=tuple((e, role) for e, role in people if e in emails or not emails),
        ))
    return out


def own_snapshot(frames: list[Frame], policy: Policy) -> AuditSnapshot:
    """leadledger-format contacts (+ accounts, opportunities, evidence, events) → one snapshot."""
    files = detect(frames, KINDS)
    accounts = _accounts(files["accounts"]) if "accounts" in files else {}
    evidence = _evidence(files["evidence"]) if "evidence" in files else None
    activity = _activity(files["events"], policy) if "events" in files else None
    contacts: list[AuditContact] = []
    if "contacts" in files:
        f = files["contacts"]
        created, entered = parse_dates(f, "created_at"), parse_dates(f, "stage_entered_at")
        for i, row in enumerate(f.records()):
            get = row.get
            email = (get("email") or "").lower()
            if not email:
                continue
            account = _domain(get("account_domain")) or email.rsplit("@", 1)[-1]
            acc = accounts.get(account)
            person = Contact(id=0, email=email, seniority=(get("seniority") or "").lower() or None,
                             role=(get("role") or "").lower() or None, source=get("source"))
            fit = score_fit(fit_values(person, Account(
                id=0, name=acc.name, domain=account, industry=acc.industry, employees=acc.employees,
                annual_revenue=acc.annual_revenue, country=acc.country,
            ) if acc else None), policy.scoring)[0] if accounts else None
            act = activity.get(email, (0, 0, 0, None)) if activity is not None else None
            contacts.append(AuditContact(
                key=email, email=email, label=(get("stage") or "lead").lower(), source_label=get("stage"),
                name=" ".join(p for p in (get("first_name"), get("last_name")) if p),
                company=get("company"), account=account if acc or not accounts else None,
                owner=get("owner"), source=(get("source") or "").lower() or None, title=get("title"),
                created_at=created.get(i), label_since=entered.get(i),
                fit=fit, evidence=latest_evidence(evidence.get(email, [])) if evidence is not None else None,
                two_way_count=act[0] if act else None, buying_signal_count=act[1] if act else None,
                trial_usage_count=act[2] if act else None, last_activity_at=act[3] if act else None,
            ))
    names = {a.name.casefold(): k for k, a in accounts.items()}
    emails = {c.email for c in contacts if c.email}
    deals = _deals(files["opportunities"], names, emails) if "opportunities" in files else []
    limits = []
    if evidence is None:
        limits.append("No evidence file: qualification evidence is not checked.")
    if activity is None:
        limits.append("No events file: two-way interactions, buying signals and activity are not checked.")
    if not accounts:
        limits.append("No accounts file: ICP fit and enterprise size are not checked.")
    limits.append("Scores are not recomputed from an export: MQL score thresholds are taken as met.")
    return export_snapshot("csv export", accounts, contacts, deals, limits)
