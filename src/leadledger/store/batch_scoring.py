"""The set-based score evaluator: the policy compiled into one INSERT … SELECT.

It must agree with `domain.scoring.score_contact` (the reference); a property test checks it.
Categorical columns are stored lower-case, so only the policy's literals are lower-cased here.
"""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import ColumnElement, Connection, and_, case, func, literal, not_, or_, select

from leadledger.domain.policy import NUMERIC_FIT_FIELDS, FitRule, Policy, Signal
from leadledger.store.activity import now_factor
from leadledger.store.bulk import is_postgres
from leadledger.store.db import to_db
from leadledger.store.schema import accounts, contact_activity, contacts, scores

Expr = ColumnElement[float]


def _email_domain(pg: bool) -> ColumnElement[str]:
    if pg:
        return func.split_part(contacts.c.email, "@", 2)
    return func.substr(contacts.c.email, func.instr(contacts.c.email, "@") + 1)


def _column(field: str, pg: bool) -> ColumnElement[object]:
    if field == "email_domain":
        return _email_domain(pg)  # type: ignore[return-value]
    if field in ("seniority", "role", "source"):
        return contacts.c[field]
    return accounts.c[field]


def _position(haystack: ColumnElement[str], needle: str, pg: bool) -> ColumnElement[int]:
    return func.strpos(haystack, needle) if pg else func.instr(haystack, needle)


def fit_condition(rule: FitRule, pg: bool) -> ColumnElement[bool]:
    """SQL that is true exactly when `domain.scoring.fit_rule_matches` is."""
    col = _column(rule.field, pg)
    v = rule.value
    if rule.field in NUMERIC_FIT_FIELDS:
        num = cast(ColumnElement[float], col)  # NULL never matches, as in the reference
        nums = [float(x) for x in (v if isinstance(v, tuple) else (v,))]
        if rule.op == "between":
            return and_(num >= nums[0], num < nums[1])
        conditions = {
            "gte": num >= nums[0],
            "lte": num <= nums[0],
            "eq": num == nums[0],
            "ne": num != nums[0],
        }
        return conditions.get(rule.op, literal(False))
    present = and_(col.is_not(None), col != "")
    values = [str(x).lower() for x in (v if isinstance(v, tuple) else (v,))]
    if rule.field == "tech_stack":
        wrapped = literal(",") + col + literal(",")
        any_of = or_(*[_position(wrapped, f",{x},", pg) > 0 for x in values])
        if rule.op in ("contains", "eq", "in"):
            return and_(present, any_of)
        if rule.op == "not_in":
            return and_(present, not_(any_of))
        return literal(False)
    text = col
    if rule.op == "eq":
        cond = text == values[0]
    elif rule.op == "ne":
        cond = text != values[0]
    elif rule.op == "in":
        cond = text.in_(values)
    elif rule.op == "not_in":
        cond = text.not_in(values)
    elif rule.op == "contains":
        cond = _position(text, values[0], pg) > 0  # type: ignore[arg-type]
    elif rule.op == "ends_with":
        n = len(values[0])
        tail = func.right(text, n) if pg else func.substr(text, -n)
        cond = tail == values[0]
    else:
        return literal(False)
    return and_(present, cond)


def fit_expression(policy: Policy, pg: bool) -> Expr:
    """Σ points of matching fit rules."""
    terms: list[Expr] = [
        case((fit_condition(r, pg), literal(r.points)), else_=literal(0.0)) for r in policy.scoring.fit_rules
    ]
    return sum(terms[1:], terms[0]) if terms else literal(0.0)


def _capped(signal: Signal, raw: Expr, pg: bool) -> Expr:
    if signal.cap is None:
        return raw
    least, greatest = (func.least, func.greatest) if pg else (func.min, func.max)
    if signal.points >= 0:
        return least(raw, literal(signal.cap))
    return greatest(raw, literal(-signal.cap))


def behavior_expression(policy: Policy, factor: float, pg: bool) -> Expr:
    """Σ capped(points × decayed count) over signals, from the activity aggregates."""
    terms: list[Expr] = []
    for s in policy.scoring.signals:
        n = contact_activity.c[f"{s.event_type}_n"]
        w = contact_activity.c[f"{s.event_type}_w"]
        raw = literal(s.points) * w * literal(factor)
        terms.append(case((n > 0, _capped(s, raw, pg)), else_=literal(0.0)))
    return sum(terms[1:], terms[0]) if terms else literal(0.0)


def rescore_all(conn: Connection, policy: Policy, now: datetime) -> int:
    """Recompute and store every contact's score as of `now`; returns how many were scored."""
    pg = is_postgres(conn)
    _, factor = now_factor(conn, now)
    # MATERIALIZED: otherwise SQLite inlines the CTE and evaluates every rule twice for `total`.
    inner = (
        select(
            contacts.c.id.label("contact_id"),
            fit_expression(policy, pg).label("fit"),
            behavior_expression(policy, factor, pg).label("behavior"),
        )
        .select_from(
            contacts.outerjoin(accounts, accounts.c.id == contacts.c.account_id).outerjoin(
                contact_activity, contact_activity.c.contact_id == contacts.c.id
            )
        )
        .cte("computed")
        .prefix_with("MATERIALIZED")
    )
    rows = select(
        inner.c.contact_id,
        inner.c.fit,
        inner.c.behavior,
        (inner.c.fit + inner.c.behavior).label("total"),
        literal(to_db(now)).label("scored_at"),
        literal(policy.version).label("policy_version"),
    )
    conn.execute(scores.delete())
    conn.execute(
        scores.insert().from_select(
            ["contact_id", "fit", "behavior", "total", "scored_at", "policy_version"], rows
        )
    )
    return int(conn.execute(select(func.count()).select_from(scores)).scalar_one())
