"""Creating a database and switching its policy."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine

from leadledger.domain.policy import Policy
from leadledger.policyfile import builtin_policy_text, load_policy_file, parse_policy
from leadledger.store import activity, db, funnel_summary
from leadledger.store.policies import load_active_policy, store_policy


@dataclass(frozen=True, slots=True)
class InitResult:
    """What `init` did."""

    policy: Policy
    policy_file: Path | None
    created: bool


def init_database(
    engine: Engine, *, model: str, now: datetime, write_policy_to: Path | None = None
) -> InitResult:
    """Create (or upgrade) the schema and store the built-in `model` policy as active."""
    created = not db.is_initialized(engine)
    db.upgrade(engine)
    text = builtin_policy_text(model)
    policy = parse_policy(text, model)
    with db.transaction(engine) as conn:
        if created or activity.get_meta(conn, "activity_anchor") is None:
            activity.rebuild(conn, policy.scoring.half_life_days, datetime(now.year, 1, 1, tzinfo=UTC))
        if created:
            store_policy(conn, policy, text, now)
        else:
            policy = load_active_policy(conn)
        if not funnel_summary.is_fresh(conn, policy):  # new, upgraded, or written around
            funnel_summary.rebuild(conn, policy)
    if write_policy_to is not None and created and not write_policy_to.exists():
        write_policy_to.write_text(text, encoding="utf-8")
    return InitResult(policy=policy, policy_file=write_policy_to if created else None, created=created)


def apply_policy(engine: Engine, path: Path, now: datetime) -> tuple[Policy, bool]:
    """Validate and activate a policy file; rebuild decay sums or the funnel summary if they changed."""
    policy, text = load_policy_file(path)
    with db.transaction(engine) as conn:
        changed = store_policy(conn, policy, text, now)
        _, half_life = activity.decay_params(conn)
        if half_life != policy.scoring.half_life_days:
            anchor, _ = activity.decay_params(conn)
            activity.rebuild(conn, policy.scoring.half_life_days, anchor)
        if funnel_summary.fresh_stages(conn) != funnel_summary.main_stages(policy):
            funnel_summary.rebuild(conn, policy)
    return policy, changed


def active_policy(engine: Engine) -> Policy:
    """The policy in force."""
    with engine.connect() as conn:
        return load_active_policy(conn)
