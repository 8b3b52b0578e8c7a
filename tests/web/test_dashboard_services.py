"""The queue's rules read from the policy (pure), and the queue service's refusals on a real database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine

from leadledger.domain.policy import Policy
from leadledger.services.queue import (
    BadQueueAction,
    accept,
    queue_stages,
    reject,
    reject_targets,
    sales_queue,
)
from tests.builders import add_account, add_contact
from tests.conftest import NOW


def test_lead_first_queues_mqls_for_acceptance_and_sals_for_a_first_touch(lead_first: Policy) -> None:
    assert queue_stages(lead_first) == ("mql", "sal")
    assert reject_targets(lead_first, "mql") == ("nurture", "disqualified")
    assert reject_targets(lead_first, "sal") == ("mql", "nurture", "disqualified")  # sal → mql allowed


def test_a_policy_without_a_marketing_hand_off_queues_nothing(prospect_first: Policy) -> None:
    assert queue_stages(prospect_first) == ()


def test_the_service_refuses_what_the_queue_does_not_offer(engine: Engine) -> None:
    with engine.begin() as conn:
        acct = add_account(conn, "acme.com")
        lead = add_contact(conn, "lee@acme.com", acct)
        sal = add_contact(conn, "sal@acme.com", acct, stage="sal", owner="sam",
                          stage_entered_at=NOW - timedelta(hours=1))
        mql = add_contact(conn, "mo@acme.com", acct, stage="mql", stage_entered_at=NOW - timedelta(days=1))
    with pytest.raises(BadQueueAction, match="not awaiting acceptance"):
        accept(engine, lead, now=NOW, actor="user:sam", owner="sam")
    with pytest.raises(BadQueueAction, match="not awaiting acceptance"):  # an SAL waits for a touch instead
        accept(engine, sal, now=NOW, actor="user:sam", owner="sam")
    with pytest.raises(BadQueueAction, match="goes to one of nurture, disqualified, not 'lead'"):
        reject(engine, mql, "lead", "bad fit", now=NOW, actor="user:sam")
    q = sales_queue(engine, NOW)
    sal_section = next(s for s in q.sections if s.stage == "sal")
    item = sal_section.items[0]
    assert (item.contact_id, item.hours_left, item.breached) == (sal, 47.0, False)
    assert sal_section.accept_to is None and sal_section.kind == "first_touch"
