"""A HubSpot contacts + deals (+ companies) export as an audit snapshot, without importing it.

HubSpot keeps no qualification evidence, score breakdown or two-way history in an export, so the
snapshot carries what the columns do show: the lifecycle stage, the lead status (whether sales
ever connected), owners, dates, deal stages and amounts, and a deal's contract dates where the
portal has such properties.
"""

from __future__ import annotations

import re

from leadledger.domain.audit import AuditAccount, AuditContact, AuditDeal, AuditSnapshot, DealState
from leadledger.services.audit.accounts import export_snapshot, no_deals, read_accounts
from leadledger.services.audit.frames import (
    Frame,
    company_key,
    detect,
    number,
    parse_dates,
    value_key,
    value_maps,
)

KINDS = {
    "deals": ("Deal Stage", "Deal Name"),
    "contacts": ("Email", "Email address"),
    "companies": ("Company Domain Name", "Company name"),
}
# Lead status: did sales connect (a two-way conversation) or not? Blank or unknown: cannot tell.
CONNECTED = frozenset({"connected", "inprogress", "opendeal", "badtiming"})
NOT_CONNECTED = frozenset({"new", "open", "attemptedtocontact", "attemptedtoconnect"})
SIGNED = ("Contract Signed Date", "Signed Date", "Contract signed date")
BOOKED = ("Booked Date", "Invoice Date", "Invoiced Date", "Booking Date")
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
LIMITS = (
    "HubSpot exports carry no qualification evidence (need, authority, timeline…), no ICP fit and no "
    "buying-signal history: a prospect is judged on its lead status and activity only.",
    "HubSpot has no SAL stage or first-touch timestamps: the SAL SLA is not checked.",
)


def _label(stage_map: dict[str, str], text: str | None) -> str | None:
    return stage_map.get(value_key(text), value_key(text)) if text else None


def _contacts(f: Frame, companies: dict[str, AuditAccount]) -> list[AuditContact]:
    stages = value_maps("hubspot", "contacts").get("stage", {})
    created = parse_dates(f, "Create Date")
    active = parse_dates(f, "Last Activity Date", "Last Contacted")
    fields = {
        "id": ("Record ID", "Contact ID"), "email": ("Email", "Email address"), "first": ("First Name",),
        "last": ("Last Name",), "company": ("Associated Company", "Company Name"),
        "stage": ("Lifecycle Stage",),
        "status": ("Lead Status",), "owner": ("Contact owner", "HubSpot Owner"), "title": ("Job Title",),
        "source": ("Original Source",),
    }
    out = []
    for i, row in enumerate(f.records(fields)):
        get = row.get
        email = (get("email") or "").lower() or None
        status = get("status")
        status_key = value_key(status) if status else ""
        two_way = 1 if status_key in CONNECTED else 0 if status_key in NOT_CONNECTED else None
        company = get("company")
        out.append(AuditContact(
            key=get("id") or email or f"row {i + 2}", email=email,
            label=_label(stages, get("stage")) or "lead", source_label=get("stage"),
            name=" ".join(p for p in (get("first"), get("last")) if p), company=company,
            account=company_key(company), owner=get("owner"), title=get("title"),
            created_at=created.get(i), last_activity_at=active.get(i), two_way_count=two_way,
            status_note=status,
        ))
    return out


def _deal_state(mapped: str) -> DealState:
    if mapped == "closed_won" or "won" in mapped:
        return DealState.WON
    if mapped == "closed_lost" or "lost" in mapped:
        return DealState.LOST
    return DealState.OPEN


def _deals(f: Frame, emails: dict[str, str]) -> list[AuditDeal]:
    vm = value_maps("hubspot", "opportunities")
    stages, types = vm.get("stage", {}), vm.get("type", {})
    close, created = parse_dates(f, "Close Date"), parse_dates(f, "Create Date")
    active, moved = parse_dates(f, "Last Activity Date"), parse_dates(f, "Date entered current stage")
    signed, booked = parse_dates(f, *SIGNED), parse_dates(f, *BOOKED)
    fields = {
        "id": ("Record ID", "Deal ID"), "name": ("Deal Name",), "stage": ("Deal Stage",),
        "amount": ("Amount",),
        "owner": ("Deal owner", "HubSpot Owner"), "type": ("Deal Type",), "company": ("Associated Company",),
        "contacts": ("Associated Contact", "Associated Contacts"), "n": ("Number of Associated Contacts",),
        "probability": ("Deal probability", "Probability"), "forecast": ("Forecast category",),
    }
    out = []
    for i, row in enumerate(f.records(fields)):
        get = row.get
        raw_stage = get("stage") or ""
        mapped = stages.get(value_key(raw_stage), value_key(raw_stage))
        found = EMAIL.findall(get("contacts") or "")
        people = tuple((emails.get(e.lower(), e.lower()), "contact") for e in found)
        p = number(get("probability"))
        count = number(get("n"))
        out.append(AuditDeal(
            key=get("id") or f"row {i + 2}", name=get("name") or f"deal on row {i + 2}",
            account=company_key(get("company")), state=_deal_state(mapped), stage=raw_stage,
            amount=number(get("amount")), expected_close=close.get(i), signed_at=signed.get(i),
            booked_at=booked.get(i), signed_known=f.has(*SIGNED), booked_known=f.has(*BOOKED),
            owner=get("owner"), type=types.get(value_key(get("type") or ""), "new"),
            created_at=created.get(i), stage_since=moved.get(i), last_activity_at=active.get(i),
            contacts=people, contact_count=int(count) if count is not None and not people else None,
            probability=p * 100 if p is not None and p <= 1 else p, forecast_category=get("forecast"),
        ))
    return out


def _companies(f: Frame) -> dict[str, AuditAccount]:
    stages = value_maps("hubspot", "contacts").get("stage", {})
    return read_accounts(f, {
        "name": ("Company name", "Name"), "domain": ("Company Domain Name", "Website URL"),
        "owner": ("Company owner",), "employees": ("Number of Employees",), "industry": ("Industry",),
        "revenue": ("Annual Revenue",), "country": ("Country/Region", "Country"),
        "stage": ("Lifecycle Stage",),
    }, label=lambda row: _label(stages, row.get("stage")))


def hubspot_snapshot(frames: list[Frame]) -> AuditSnapshot:
    """Contacts, deals and (optionally) companies exports → one snapshot."""
    files = detect(frames, KINDS)
    companies = _companies(files["companies"]) if "companies" in files else {}
    contacts = _contacts(files["contacts"], companies) if "contacts" in files else []
    emails = {c.email: c.key for c in contacts if c.email}
    deals = _deals(files["deals"], emails) if "deals" in files else []
    limits = list(LIMITS)
    if "deals" not in files:
        limits.append(no_deals("deals export"))
    if "companies" not in files:
        limits.append("No companies export: employee counts (enterprise deals) and company lifecycle "
                      "labels are unknown; enterprise deals are judged by amount.")
    return export_snapshot("hubspot export", companies, contacts, deals, limits)
