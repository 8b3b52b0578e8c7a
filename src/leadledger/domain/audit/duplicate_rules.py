"""Duplicates: one person on two records inflates every count they are in."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from leadledger.domain.audit.context import AuditContext
from leadledger.domain.audit.findings import Finding, finding
from leadledger.domain.audit.records import AuditContact
from leadledger.domain.audit.text import contact_name, listing, stage_label

_NON_WORD = re.compile(r"[^\w]+")


def email_key(email: str | None) -> str | None:
    """What LL013 compares: the address without case or surrounding spaces (None if blank)."""
    return email.strip().lower() if email and email.strip() else None


def person_key(name: str) -> str:
    """What LL014 compares within a domain: the name's words, lower-case, single-spaced."""
    return _NON_WORD.sub(" ", name.lower()).strip()


def _email(c: AuditContact) -> str | None:
    return email_key(c.email)


def _person(c: AuditContact) -> str:
    return person_key(c.name)


def duplicate_rules(ctx: AuditContext) -> Iterator[Finding]:
    """LL013 (same email) and LL014 (same name at the same email domain, different emails)."""
    by_email: dict[str, list[AuditContact]] = defaultdict(list)
    for c in ctx.snapshot.contacts:
        email = _email(c)
        if email:
            by_email[email].append(c)
    for email, group in by_email.items():
        if len(group) < 2:
            continue
        first, *rest = group
        labels = listing([stage_label(ctx.policy, c.label) for c in group])
        for c in rest:
            name = contact_name(c, ctx.account_of(c))
            yield finding(
                "LL013", record_kind="contact", key=c.key, record=name, label=c.label,
                supported_label=None, evidence=(f"same email as record {first.key}",),
                related=(first.key,),
                message=f"{email} is on {len(group)} records ({listing([g.key for g in group])}, "
                f"labelled {labels}): one person counted {len(group)} times.",
            )
    by_name: dict[tuple[str, str], dict[str, AuditContact]] = defaultdict(dict)
    for email, group in by_email.items():
        person = _person(group[0])
        domain = email.rsplit("@", 1)[-1]
        if person and " " in person and domain not in ctx.settings.free_mail_domains:
            by_name[(domain, person)].setdefault(email, group[0])
    for (domain, _), people in by_name.items():
        if len(people) < 2:
            continue
        first, *rest = people.values()
        for c in rest:
            name = contact_name(c, ctx.account_of(c))
            yield finding(
                "LL014", record_kind="contact", key=c.key, record=name, label=c.label,
                supported_label=None, evidence=(f"same name as {first.email} at {domain}",),
                related=(first.key,),
                message=f"{c.name} appears {len(people)} times at {domain} "
                f"({listing([p.email or p.key for p in people.values()])}): check whether they are one "
                "person counted twice.",
            )
