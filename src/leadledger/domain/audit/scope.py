"""Which contacts a contact rule can flag, by stage: a source may list only those and count the rest.

Mirrors the dispatch in `contact_rules`: a stage's records are either all checked, or only those
without an owner, at a customer account, or not at one. Duplicates, deal contacts and labels a
company carries (LL011) are outside this scope; a source that lists fewer contacts must add those
itself (the ledger keeps no company labels, so LL011 never fires on it).
"""

from __future__ import annotations

from dataclasses import dataclass

from leadledger.domain.audit.contact_rules import MARKETING
from leadledger.domain.policy import Meaning, Policy


@dataclass(frozen=True, slots=True, kw_only=True)
class ContactScope:
    """Stage names by the condition under which their contacts can raise a contact finding."""

    every: tuple[str, ...]  # prospect stages (LL001, LL002, LL005) and SLA stages (LL009)
    unowned: tuple[str, ...]  # sales and client-success main stages, records nobody owns (LL008)
    at_customer: tuple[str, ...]  # marketing stages, at an account with a signed-and-booked deal (LL004)
    not_at_customer: tuple[str, ...]  # customer stages, at an account that is not a customer (LL003, LL012)


def contact_scope(policy: Policy) -> ContactScope:
    """The scope of the contact rules under `policy`."""
    every: list[str] = []
    unowned: list[str] = []
    at_customer: list[str] = []
    not_at_customer: list[str] = []
    nurture_rule = policy.edge_cases.customer_contacts_route_to_owner and policy.customer_stage is not None
    for stage in policy.stages:
        if stage.meaning is Meaning.PROSPECT and not stage.side:
            every.append(stage.name)
        elif stage.meaning is Meaning.CUSTOMER:
            not_at_customer.append(stage.name)
        elif stage.owner_team == MARKETING and nurture_rule:
            at_customer.append(stage.name)
        if not stage.side and stage.owner_team != MARKETING:
            unowned.append(stage.name)
        if stage.sla_first_touch_hours is not None:
            every.append(stage.name)
    return ContactScope(
        every=tuple(dict.fromkeys(every)),
        unowned=tuple(unowned),
        at_customer=tuple(at_customer),
        not_at_customer=tuple(not_at_customer),
    )
