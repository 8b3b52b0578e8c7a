"""A Salesforce leads + opportunities (+ accounts) report export as an audit snapshot.

Salesforce labels leads by Lead Status and accounts only through their opportunities: an account
with an IsWon opportunity is what the org counts as a customer. A standard report has no
contract-signed or booked date, no contact roles and no qualification evidence; the snapshot says so.
"""

from __future__ import annotations

from leadledger.domain.audit import AuditAccount, AuditContact, AuditDeal, AuditSnapshot, DealState
from leadledger.services.audit.accounts import export_snapshot, no_deals, read_accounts
from leadledger.services.audit.frames import (
    Frame,
    company_key,
    detect,
    flag,
    number,
    parse_dates,
    value_key,
    value_maps,
)

KINDS = {
    "opportunities": ("Opportunity ID", "StageName", "Opportunity Name"),
    "leads": ("Lead ID", "Lead Status"),
    "accounts": ("Account ID", "Website"),
}
SIGNED = ("Contract Signed Date", "Signed Date")
BOOKED = ("Booked Date", "Invoice Date", "Booking Date")
CONTACTED = frozenset({"workingcontacted", "working", "qualified", "closedconverted"})
LIMITS = (
    "Salesforce reports carry no qualification evidence (BANT/MEDDIC fields), no ICP fit and no "
    "buying-signal history: a lead is judged on its status, rating and last activity only.",
    "A Leads report has no status-change timestamps: the SAL first-touch SLA is not checked.",
    "A standard Opportunities report has no contact roles: single-threaded deals are not checked.",
)


def _leads(f: Frame) -> list[AuditContact]:
    stages = value_maps("salesforce", "contacts").get("stage", {})
    created, active = parse_dates(f, "Create Date", "Created Date"), parse_dates(f, "Last Activity")
    fields = {
        "id": ("Lead ID",), "email": ("Email",), "first": ("First Name",), "last": ("Last Name",),
        "company": ("Company", "Company / Account"), "status": ("Lead Status",), "owner": ("Lead Owner",),
        "title": ("Title",), "rating": ("Rating",), "converted": ("Converted", "IsConverted"),
    }
    has_activity = f.has("Last Activity")
    out = []
    for i, row in enumerate(f.records(fields)):
        get = row.get
        status = get("status") or ""
        label = stages.get(value_key(status), value_key(status) or "lead")
        # Rep activity logged on the lead is the export's only trace of a two-way conversation.
        two_way = (1 if active.get(i) else 0) if has_activity else None
        note = ", ".join(p for p in (f"status {status}" if status else "",
                                     f"rating {get('rating')}" if get("rating") else "",
                                     "converted" if flag(get("converted")) else "") if p)
        company = get("company")
        email = (get("email") or "").lower() or None
        out.append(AuditContact(
            key=get("id") or email or f"row {i + 2}", email=email, label=label, source_label=status or None,
            name=" ".join(p for p in (get("first"), get("last")) if p), company=company,
            account=company_key(company), owner=get("owner"), title=get("title"),
            created_at=created.get(i), last_activity_at=active.get(i), two_way_count=two_way,
            status_note=note or None,
        ))
    return out


def _state(won: bool | None, closed: bool | None, mapped: str) -> DealState:
    if won is not None or closed is not None:
        return DealState.WON if won else DealState.LOST if closed else DealState.OPEN
    return DealState.WON if mapped == "closed_won" else DealState.LOST if mapped == "closed_lost" \
        else DealState.OPEN


def _opportunities(f: Frame) -> list[AuditDeal]:
    vm = value_maps("salesforce", "opportunities")
    stages, types = vm.get("stage", {}), vm.get("type", {})
    close, created = parse_dates(f, "CloseDate", "Close Date"), parse_dates(f, "CreatedDate", "Created Date")
    moved = parse_dates(f, "LastStageChangeDate", "Last Stage Change Date")
    active = parse_dates(f, "LastActivityDate", "Last Activity")
    signed, booked = parse_dates(f, *SIGNED), parse_dates(f, *BOOKED)
    fields = {
        "id": ("Opportunity ID",), "name": ("Opportunity Name",), "account": ("Account Name",),
        "stage": ("StageName", "Stage"), "amount": ("Amount",), "owner": ("Owner", "Opportunity Owner"),
        "type": ("Type",), "won": ("IsWon",), "closed": ("IsClosed",),
        "probability": ("Probability", "Probability (%)"),
        "forecast": ("ForecastCategoryName", "Forecast Category"),
    }
    out = []
    for i, row in enumerate(f.records(fields)):
        get = row.get
        stage = get("stage") or ""
        out.append(AuditDeal(
            key=get("id") or f"row {i + 2}", name=get("name") or f"opportunity on row {i + 2}",
            account=company_key(get("account")),
            state=_state(flag(get("won")), flag(get("closed")), stages.get(value_key(stage), "")),
            stage=stage, amount=number(get("amount")), expected_close=close.get(i),
            signed_at=signed.get(i), booked_at=booked.get(i),
            signed_known=f.has(*SIGNED), booked_known=f.has(*BOOKED), owner=get("owner"),
            type=types.get(value_key(get("type") or ""), "new"), created_at=created.get(i),
            stage_since=moved.get(i), last_activity_at=active.get(i),
            probability=number(get("probability")), forecast_category=get("forecast"),
        ))
    return out


def _accounts(f: Frame) -> dict[str, AuditAccount]:
    return read_accounts(f, {
        "name": ("Account Name",), "domain": ("Website",), "owner": ("Account Owner",),
        "employees": ("Employees", "No. of Employees"), "industry": ("Industry",),
        "revenue": ("Annual Revenue",), "country": ("Billing Country", "Country"),
    })


def salesforce_snapshot(frames: list[Frame]) -> AuditSnapshot:
    """Leads, opportunities and (optionally) accounts reports → one snapshot."""
    files = detect(frames, KINDS)
    accounts = _accounts(files["accounts"]) if "accounts" in files else {}
    leads = _leads(files["leads"]) if "leads" in files else []
    deals = _opportunities(files["opportunities"]) if "opportunities" in files else []
    limits = list(LIMITS)
    if "opportunities" not in files:
        limits.append(no_deals("opportunities report"))
    return export_snapshot("salesforce export", accounts, leads, deals, limits)
