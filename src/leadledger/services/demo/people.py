"""Accounts and contacts: firmographics, people, emails, titles and sources."""

from __future__ import annotations

import math
import random
import re

from leadledger.services.demo import vocab as V
from leadledger.services.demo.world import DAY, HOUR, AccountSim, ContactSim, office_hours, pick

ACCOUNTLESS_SHARE = {"free": 0.02, "student": 0.01, "competitor": 0.005}
MAX_CONTACTS_PER_ACCOUNT = 15


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def _company_name(rng: random.Random, industry: str, taken: dict[str, None]) -> str:
    """A unique '<Prefix> <Core>' name, with a suffix when the pair is taken."""
    cores = V.INDUSTRIES[industry][1]
    while True:
        name = f"{rng.choice(V.COMPANY_PREFIXES)} {rng.choice(cores)}"
        if name in taken:
            name = f"{name} {rng.choice(V.COMPANY_SUFFIXES)}"
        if name not in taken:
            taken[name] = None
            return name


def _domain(rng: random.Random, name: str, industry: str, country: str) -> str:
    if industry == "government" and country == "us":
        return _slug(name) + ".gov"
    if industry == "education":
        return _slug(name) + ".org"  # not .edu: staff of a school are not students
    tld = V.COUNTRIES[country][1] if rng.random() < 0.6 else ".com"
    return _slug(name) + tld


def _tech_stack(rng: random.Random, employees: int) -> tuple[str, ...]:
    size = min(1.0, math.log10(max(employees, 10)) / 4)  # 0.25 at 10 people, 1.0 at 10,000
    tools = [
        tool for tool, p in V.TECH_TOOLS.items()
        if rng.random() < p * (0.6 + 0.9 * size if tool in V.BIG_COMPANY_TOOLS else 1.0)
    ]
    return tuple(tools) or ("slack",)


def make_accounts(rng: random.Random, n: int) -> list[AccountSim]:
    """`n` companies with correlated size, revenue and tooling (ids assigned later)."""
    taken: dict[str, None] = {}
    domains: dict[str, None] = {}
    industries = {k: v[0] for k, v in V.INDUSTRIES.items()}
    countries = {k: v[0] for k, v in V.COUNTRIES.items()}
    out = []
    for _ in range(n):
        industry = pick(rng, industries)
        country = pick(rng, countries)
        name = _company_name(rng, industry, taken)
        domain = _domain(rng, name, industry, country)
        while domain in domains:  # two names can slug alike
            domain = f"{rng.randint(2, 99)}{domain}"
        domains[domain] = None
        employees = int(min(20_000, max(5, round(math.exp(rng.gauss(math.log(120), 1.45))))))
        per_head = V.INDUSTRIES[industry][2] * math.exp(rng.gauss(0, 0.45))
        out.append(
            AccountSim(
                id=0, name=name, domain=domain, industry=industry, employees=employees,
                revenue=float(round(employees * per_head, -3)), country=country,
                tech=_tech_stack(rng, employees), owner=rng.choice(V.ACCOUNT_EXECUTIVES),
                in_market=rng.gauss(0, 0.7),
            )
        )
    return out


def _team_sizes(rng: random.Random, accounts: list[AccountSim], total: int) -> list[int]:
    """Contacts per account: 1–15, skewed, larger at larger companies, summing to `total`."""
    sizes = [
        max(1, min(MAX_CONTACTS_PER_ACCOUNT, round(math.exp(
            rng.gauss(1.25 + 0.3 * math.log10(a.employees / 100), 0.7)))))
        for a in accounts
    ]
    diff = total - sum(sizes)
    while diff != 0:
        i = rng.randrange(len(sizes))
        if diff > 0 and sizes[i] < MAX_CONTACTS_PER_ACCOUNT:
            sizes[i] += 1
            diff -= 1
        elif diff < 0 and sizes[i] > 1:
            sizes[i] -= 1
            diff += 1
    return sizes


def _title(rng: random.Random, seniority: str, role: str) -> tuple[str, str]:
    """(title, role); a C-level title decides its role."""
    if seniority == "c_level":
        role = rng.choice(list(V.C_LEVEL_TITLES))
        return V.C_LEVEL_TITLES[role], role
    dept = V.DEPARTMENT[role]
    if seniority == "vp":
        return f"VP of {dept}", role
    if seniority == "director":
        return f"Director of {dept}", role
    if seniority == "manager":
        return f"{dept} Manager", role
    return rng.choice(V.INDIVIDUAL_TITLES[role]), role


def _seniority(rng: random.Random, employees: int) -> str:
    weights = dict(V.SENIORITIES)
    if employees < 50:  # small companies: the founders answer the emails
        weights["c_level"] *= 2.5
    return pick(rng, weights)


def _created_at(rng: random.Random, now: int) -> int:
    """Spread over the last 12 months, a little denser recently (marketing grew)."""
    t = now - HOUR - int(365 * DAY * rng.random() ** 1.15)
    shifted = office_hours(rng, t)
    return shifted if shifted < now else t


class _Emails:
    """Unique addresses: first.last@domain, with a digit when taken."""

    def __init__(self) -> None:
        self.taken: dict[str, None] = {}

    def make(self, rng: random.Random, first: str, last: str, domain: str, numbered: bool) -> str:
        local = f"{_slug(first)}.{_slug(last)}"
        if numbered:
            local += str(rng.randint(1, 99))
        email, n = f"{local}@{domain}", 2
        while email in self.taken:
            email, n = f"{local}{n}@{domain}", n + 1
        self.taken[email] = None
        return email


def _person(
    rng: random.Random, emails: _Emails, domain: str, company: str, employees: int,
    source: str, account: AccountSim | None, now: int, numbered: bool = False,
) -> ContactSim:
    first, last = rng.choice(V.FIRST_NAMES), rng.choice(V.LAST_NAMES)
    seniority = _seniority(rng, employees)
    title, role = _title(rng, seniority, pick(rng, V.ROLES))
    return ContactSim(
        id=0, email=emails.make(rng, first, last, domain, numbered), first_name=first,
        last_name=last, company=company, title=title, seniority=seniority, role=role,
        source=source, created_at=_created_at(rng, now), account=account,
    )


def _accountless(rng: random.Random, emails: _Emails, total: int, now: int) -> list[ContactSim]:
    """Free-mail freelancers, students (.edu) and competitors snooping (no account: negative fit)."""
    out = []
    for _ in range(round(total * ACCOUNTLESS_SHARE["free"])):
        domain = rng.choice(V.FREE_DOMAINS)
        source = rng.choice(("form_fill", "content_download", "newsletter", "free_trial"))
        c = _person(rng, emails, domain, "", 3, source, None, now, numbered=True)
        c.company = f"{c.last_name} Consulting"
        out.append(c)
    for _ in range(round(total * ACCOUNTLESS_SHARE["student"])):
        domain = rng.choice(list(V.STUDENT_DOMAINS))
        source = rng.choice(("webinar", "content_download", "newsletter"))
        c = _person(rng, emails, domain, V.STUDENT_DOMAINS[domain], 3, source, None, now)
        c.seniority, c.title, c.role = "individual", "Student", "other"
        out.append(c)
    for _ in range(max(2, round(total * ACCOUNTLESS_SHARE["competitor"]))):
        domain = rng.choice(list(V.COMPETITOR_DOMAINS))
        source = rng.choice(("webinar", "content_download", "free_trial", "newsletter"))
        out.append(_person(rng, emails, domain, V.COMPETITOR_DOMAINS[domain], 5_000, source, None, now))
    return out


def make_contacts(
    rng: random.Random, accounts: list[AccountSim], total: int, now: int
) -> list[ContactSim]:
    """`total` people: most at the accounts, a few at free, student or competitor domains."""
    emails = _Emails()
    loose = _accountless(rng, emails, total, now)
    sizes = _team_sizes(rng, accounts, total - len(loose))
    contacts = []
    for account, size in zip(accounts, sizes, strict=True):
        for _ in range(size):
            c = _person(rng, emails, account.domain, account.name, account.employees,
                        pick(rng, V.SOURCES), account, now)
            account.contacts.append(c)
            contacts.append(c)
    return contacts + loose


def number(rng: random.Random, accounts: list[AccountSim], contacts: list[ContactSim]) -> None:
    """Give ids in creation order, as a CRM would have; an account predates its first contact."""
    for a in accounts:
        first = min(c.created_at for c in a.contacts)
        a.created_at = first - int(rng.random() * 20 * DAY)
    accounts.sort(key=lambda a: (a.created_at, a.domain))
    for i, a in enumerate(accounts, 1):
        a.id = i
    contacts.sort(key=lambda c: (c.created_at, c.email))
    for i, c in enumerate(contacts, 1):
        c.id = i
    for a in accounts:
        a.contacts.sort(key=lambda c: c.id)
