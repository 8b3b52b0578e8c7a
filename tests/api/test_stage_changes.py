"""Gated stage changes over HTTP: 201 with the ledger entry, 422 listing what is missing, 403 by role."""

from __future__ import annotations

from sqlalchemy import select, update

from leadledger.store.schema import contacts, stage_changes
from tests.api.conftest import Api, seed_contact


def test_refused_move_is_422_listing_the_missing_evidence(api: Api) -> None:
    cid = seed_contact(api)
    r = api.call("POST", f"/contacts/{cid}/stage-changes", role="sales", json={"to_stage": "sql"})
    err = r.json()["error"]
    assert r.status_code == 422 and err["code"] == "transition_refused"
    missing = {d["requirement"] for d in err["details"]}
    assert "evidence:need,authority,timeline" in missing and "two_way_interaction" in missing
    with api.engine.connect() as conn:
        assert conn.execute(select(contacts.c.stage).where(contacts.c.id == cid)).scalar_one() == "lead"


def test_allowed_move_is_201_with_the_ledger_entry_naming_the_key(api: Api) -> None:
    cid = seed_contact(api)
    r = api.call("POST", f"/contacts/{cid}/stage-changes", role="marketing",
                 json={"to_stage": "nurture", "reason": "no budget this year"})
    assert r.status_code == 201, r.text
    entry = r.json()
    assert (entry["from_stage"], entry["to_stage"]) == ("lead", "nurture")
    assert entry["actor"].startswith("key:test-marketing#") and entry["reason"] == "no budget this year"
    ledger = api.call("GET", f"/contacts/{cid}/stage-changes").json()
    assert ledger[-1]["to_stage"] == "nurture" and ledger[-1]["actor"] == entry["actor"]


def test_marketing_cannot_mark_sql_and_only_sales_accepts_an_mql(api: Api) -> None:
    cid = seed_contact(api, owner="Sam Seller")
    r = api.call("POST", f"/contacts/{cid}/stage-changes", role="marketing", json={"to_stage": "sql"})
    assert r.status_code == 403 and "owned by sales" in r.json()["error"]["message"]
    with api.engine.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.id == cid).values(stage="mql"))
    for role in ("marketing", "client-success"):
        r = api.call("POST", f"/contacts/{cid}/stage-changes", role=role, json={"to_stage": "sal"})
        assert r.status_code == 403, role
    r = api.call("POST", f"/contacts/{cid}/stage-changes", role="sales", json={"to_stage": "sal"})
    assert r.status_code == 201, r.text
    with api.engine.connect() as conn:
        actors = conn.execute(select(stage_changes.c.actor).where(stage_changes.c.contact_id == cid)
                              .order_by(stage_changes.c.id)).scalars().all()
    assert actors[-1].startswith("key:test-sales#")


def test_customer_needs_signed_and_booked_even_for_admin(api: Api) -> None:
    cid = seed_contact(api)
    with api.engine.begin() as conn:
        conn.execute(update(contacts).where(contacts.c.id == cid).values(stage="opportunity"))
    r = api.call("POST", f"/contacts/{cid}/stage-changes", role="admin", json={"to_stage": "customer"})
    assert r.status_code == 422
    assert any(d["requirement"] == "signed_and_booked" for d in r.json()["error"]["details"])
