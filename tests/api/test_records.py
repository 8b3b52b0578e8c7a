"""Record endpoints: upsert by natural key through the import's checks, reads, keyset pages."""

from __future__ import annotations

from sqlalchemy import func, select

from leadledger.store.schema import contacts, evidence, opportunity_contacts, stage_changes
from tests.api.conftest import Api, seed_contact


def test_contact_upsert_by_email_creates_then_updates(api: Api) -> None:
    cid = seed_contact(api, "Dana@Acme.com")
    r = api.call("POST", "/contacts", json={"email": "dana@acme.com", "title": "VP Sales"})
    assert r.status_code == 200 and r.json()["status"] == "updated" and r.json()["id"] == cid
    got = api.call("GET", f"/contacts/{cid}").json()
    assert got["email"] == "dana@acme.com" and got["title"] == "VP Sales" and got["first_name"] == "Dana"
    assert got["account_domain"] == "acme.com" and got["stage"] == "lead"
    with api.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(contacts)).scalar_one() == 1
        actor = conn.execute(select(stage_changes.c.actor)).scalar_one()
    assert actor.startswith("import:key:test-admin#")  # the first ledger entry names the key


def test_contact_rejected_by_the_import_rules_is_422_naming_the_field(api: Api) -> None:
    r = api.call("POST", "/contacts", json={"email": "not-an-email"})
    body = r.json()["error"]
    assert r.status_code == 422 and body["details"][0]["field"] == "email"
    assert "email" in body["message"]
    r = api.call("POST", "/contacts", json={"email": "a@b.com", "stage": "customer"})
    assert r.status_code == 422  # stages never change by upsert: unknown field


def test_keyset_pagination_and_filters(api: Api) -> None:
    ids = [seed_contact(api, f"p{i}@acme.com") for i in range(5)]
    first = api.call("GET", "/contacts", params={"limit": 2}).json()
    assert [c["id"] for c in first["items"]] == ids[:2] and first["next"] == str(ids[1])
    second = api.call("GET", "/contacts", params={"limit": 2, "after": first["next"]}).json()
    third = api.call("GET", "/contacts", params={"limit": 2, "after": second["next"]}).json()
    assert [c["id"] for c in second["items"] + third["items"]] == ids[2:] and third["next"] is None
    one = api.call("GET", "/contacts", params={"email": "P3@acme.com"}).json()["items"]
    assert [c["id"] for c in one] == [ids[3]]
    assert api.call("GET", "/contacts", params={"stage": "mql"}).json()["items"] == []
    bad = api.call("GET", "/contacts", params={"after": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["field"] == "after"


def test_account_upsert_and_read(api: Api) -> None:
    r = api.call("POST", "/accounts", json={"domain": "https://www.Beta.io/", "name": "Beta",
                                            "tech_stack": ["Salesforce", "Slack"]})
    assert r.status_code == 201 and r.json()["key"] == "beta.io"
    aid = r.json()["id"]
    r = api.call("POST", "/accounts", json={"domain": "beta.io", "name": "Beta Inc", "employees": 40})
    assert r.status_code == 200 and r.json()["id"] == aid
    got = api.call("GET", f"/accounts/{aid}").json()
    assert got["name"] == "Beta Inc" and got["employees"] == 40 and got["tech_stack"] == "salesforce,slack"
    assert api.call("GET", "/accounts", params={"domain": "beta.io"}).json()["items"][0]["id"] == aid


def test_opportunity_with_committee_roles(api: Api) -> None:
    cid = seed_contact(api)
    r = api.call("POST", "/opportunities", json={
        "opportunity_id": "OPP-1", "account_domain": "acme.com", "name": "Acme expansion", "stage": "demo",
        "amount": 12000, "committee": [{"email": "dana@acme.com", "role": "champion"}]})
    assert r.status_code == 201, r.text
    opp = api.call("GET", f"/opportunities/{r.json()['id']}").json()
    assert opp["committee"] == [{"contact_id": cid, "email": "dana@acme.com", "role": "champion"}]
    listed = api.call("GET", "/opportunities", params={"open": True}).json()["items"]
    assert [o["opportunity_id"] for o in listed] == ["OPP-1"]
    with api.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(opportunity_contacts)).scalar_one() == 1


def test_evidence_is_confirmed_by_the_acting_key(api: Api) -> None:
    cid = seed_contact(api)
    r = api.call("POST", f"/contacts/{cid}/evidence", role="sales", json={"field": "need", "value": "dedupe"})
    assert r.status_code == 201, r.text
    got = api.call("GET", f"/contacts/{cid}/evidence").json()
    assert got[0]["field"] == "need" and got[0]["confirmed_by"].startswith("key:test-sales#")
    r = api.call("POST", f"/contacts/{cid}/evidence", json={"field": "favourite_colour", "value": "red"})
    assert r.status_code == 422 and "unknown evidence field" in r.json()["error"]["message"]
    with api.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(evidence)).scalar_one() == 1


def test_missing_records_are_404_in_the_error_shape(api: Api) -> None:
    for path in ("/contacts/999", "/accounts/999", "/opportunities/999", "/contacts/999/explain"):
        r = api.call("GET", path)
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", path


def test_explain_has_the_rule_breakdown(api: Api) -> None:
    cid = seed_contact(api)
    d = api.call("GET", f"/contacts/{cid}/explain").json()
    assert d["contact"]["email"] == "dana@acme.com" and d["next_stage"] == "mql"
    assert {i["signal"] for i in d["score"]["breakdown"]} >= {"target industry"}
    assert "predictive" in d
