"""Who may do what: the role → permission matrix and which role owns which stage change (pure)."""

from __future__ import annotations

from enum import StrEnum

from leadledger.domain.policy import Policy


class Role(StrEnum):
    """The roles a user or API key acts with (docs/security.md)."""

    ADMIN = "admin"
    MARKETING = "marketing"
    SALES = "sales"
    CLIENT_SUCCESS = "client-success"
    READ_ONLY = "read-only"
    INGEST_ONLY = "ingest-only"


ROLES: tuple[str, ...] = tuple(r.value for r in Role)


class Permission(StrEnum):
    """One thing an actor may be allowed to do."""

    READ_PERSONAL = "read:personal"  # contacts, accounts, opportunities, evidence, explain, audit findings
    READ_REPORTS = "read:reports"  # aggregates only: funnel, forecast, sources, SLA
    WRITE_RECORDS = "write:records"  # create/update contacts, accounts, opportunities
    WRITE_EVIDENCE = "write:evidence"  # record qualification evidence
    INGEST_EVENTS = "ingest:events"  # POST /events, /events:batch
    MOVE_STAGE = "move:stage"  # stage changes, further limited to the stages the role owns
    MANAGE_AUTH = "manage:auth"  # users and API keys


_P = Permission
MATRIX: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.MARKETING: frozenset(
        {_P.READ_PERSONAL, _P.READ_REPORTS, _P.WRITE_RECORDS, _P.INGEST_EVENTS, _P.MOVE_STAGE}
    ),
    Role.SALES: frozenset(
        {_P.READ_PERSONAL, _P.READ_REPORTS, _P.WRITE_RECORDS, _P.WRITE_EVIDENCE, _P.INGEST_EVENTS,
         _P.MOVE_STAGE}
    ),
    Role.CLIENT_SUCCESS: frozenset(
        {_P.READ_PERSONAL, _P.READ_REPORTS, _P.WRITE_RECORDS, _P.WRITE_EVIDENCE, _P.INGEST_EVENTS,
         _P.MOVE_STAGE}
    ),
    Role.READ_ONLY: frozenset({_P.READ_PERSONAL, _P.READ_REPORTS}),
    # Website forms and marketing automation: push records and events, never read personal data back.
    Role.INGEST_ONLY: frozenset({_P.WRITE_RECORDS, _P.INGEST_EVENTS}),
}


def parse_role(text: str) -> Role:
    """The role named `text`, or ValueError listing the roles."""
    try:
        return Role(text.strip().lower())
    except ValueError:
        raise ValueError(f"unknown role {text!r} (roles: {', '.join(ROLES)})") from None


def can(role: str, permission: Permission) -> bool:
    """Whether `role` has `permission` (unknown roles have none)."""
    try:
        return permission in MATRIX[Role(role)]
    except ValueError:
        return False


def team_role(owner_team: str) -> str:
    """The role that acts for a policy's owner team (`client_success` → `client-success`)."""
    return owner_team.strip().lower().replace("_", "-")


def stage_owner_role(policy: Policy, stage: str) -> str | None:
    """The role owning `stage` under `policy`, None for an unknown stage."""
    s = policy.stage(stage)
    return team_role(s.owner_team) if s else None


def movers(policy: Policy, from_stage: str, to_stage: str) -> tuple[str, ...]:
    """The roles (besides admin) that own the move `from_stage` → `to_stage`.

    Forward moves, and moves out of a side state, belong to the target stage's owner (marketing marks
    MQL, sales accepts an MQL as SAL and marks SQL, client success marks customer). A backward move
    belongs to the team handing the record back (sales rejecting an MQL: sal → mql is sales'). A move
    into a side state (nurture, disqualified) belongs to the owner of either end.
    """
    src, dst = policy.stage(from_stage), policy.stage(to_stage)
    if dst is None:
        return ()
    to_owner = team_role(dst.owner_team)
    from_owner = team_role(src.owner_team) if src else None
    if dst.side:
        owners = [from_owner, to_owner] if from_owner else [to_owner]
    else:
        f, t = policy.order(from_stage), policy.order(to_stage)
        backward = f is not None and t is not None and t < f
        owners = [from_owner] if backward and from_owner else [to_owner]
    return tuple(dict.fromkeys(o for o in owners if o))


def may_move(policy: Policy, role: str, from_stage: str, to_stage: str) -> str | None:
    """None if `role` may ask for this stage change, else the reason it may not.

    This is only who may ask: the gate (evidence) is checked afterwards, whoever asks.
    """
    if not can(role, Permission.MOVE_STAGE):
        return f"the {role} role cannot change stages"
    if role == Role.ADMIN or policy.stage(to_stage) is None:  # unknown stages: the gate names them
        return None
    owners = movers(policy, from_stage, to_stage)
    if role in owners:
        return None
    who = " or ".join(owners) if owners else "admin"
    return f"the {role} role cannot move a record from {from_stage} to {to_stage} (owned by {who})"
