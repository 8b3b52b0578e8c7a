"""The dashboard through FastAPI's test client, on SQLite and PostgreSQL: login, every page and its JSON
twin, the queue's accept and reject, the record page's gated move, and what each role may see and do."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select

from leadledger.services.auth import add_user
from leadledger.services.funnel import funnel_report
from leadledger.store.schema import contacts, evidence, stage_changes
from tests.builders import add_account, add_contact, add_events
from tests.conftest import NOW

fastapi_testclient = pytest.importorskip("fastapi.testclient")

PASSWORD = "correct horse battery"
ROLES = {"sam": "sales", "mia": "marketing", "rob": "read-only", "ivy": "ingest-only", "ada": "admin"}


@pytest.fixture
def data(engine: Engine) -> dict[str, int]:
    """One account; MQLs to accept and reject, an SAL ready for SQL, a lead, an SAL past its SLA."""
    entered = NOW - timedelta(days=3)
    with engine.begin() as conn:
        acct = add_account(conn, "acme.com")
        ids = {
            "mql_a": add_contact(conn, "amy@acme.com", acct, stage="mql", stage_entered_at=entered),
            "mql_b": add_contact(conn, "bob@acme.com", acct, stage="mql", stage_entered_at=entered),
            "sal": add_contact(conn, "cat@acme.com", acct, stage="sal", owner="sam",
                               stage_entered_at=entered),
            "late": add_contact(conn, "dan@acme.com", acct, stage="sal", owner="sam",
                                stage_entered_at=NOW - timedelta(hours=50)),
            "lead": add_contact(conn, "eve@acme.com", acct),
        }
        # cat replied and asked for a demo: a two-way touch and a buying signal (she is off the SLA queue)
        add_events(conn, ids["sal"], [("reply", NOW - timedelta(days=1)),
                                      ("demo_request", NOW - timedelta(days=2))])
        add_events(conn, ids["lead"], [("page_view", NOW - timedelta(days=d)) for d in range(1, 9)])
    return ids


@pytest.fixture
def app(engine: Engine, data: dict[str, int]) -> Any:
    """The whole app (API and dashboard), its clock pinned to the tests' NOW."""
    from leadledger.api.app import create_app

    application = create_app(engine, secret_key="test-secret")
    application.state.clock = lambda: NOW
    return application


def client_for(app: Any, user: str | None) -> Any:
    """A test client, logged in through the login form's POST when `user` is given."""
    c = fastapi_testclient.TestClient(app)
    if user:
        add_user(app.state.engine, user, PASSWORD, ROLES[user], NOW)  # argon2 is slow: only who logs in
        r = c.post("/auth/login", data={"username": user, "password": PASSWORD, "next": "/ui/queue"},
                   follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/ui/queue"
    return c


@pytest.fixture
def sales(app: Any) -> Iterator[Any]:
    """Logged in as sam (sales)."""
    with client_for(app, "sam") as c:
        yield c


def ledger(engine: Engine, contact_id: int) -> list[Any]:
    """The contact's ledger, oldest first."""
    with engine.connect() as conn:
        return conn.execute(
            select(stage_changes).where(stage_changes.c.contact_id == contact_id).order_by(stage_changes.c.id)
        ).all()


def stage_and_owner(engine: Engine, contact_id: int) -> tuple[str, str | None]:
    """The contact's current stage and owner."""
    with engine.connect() as conn:
        row = conn.execute(
            select(contacts.c.stage, contacts.c.owner).where(contacts.c.id == contact_id)
        ).one()
    return row.stage, row.owner


def test_pages_need_a_login_and_come_back_after_it(app: Any) -> None:
    add_user(app.state.engine, "sam", PASSWORD, "sales", NOW)
    with fastapi_testclient.TestClient(app) as c:
        r = c.get("/ui/queue?x=1", follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/ui/queue%3Fx%3D1"
        assert c.get("/ui/queue?format=json").status_code == 401  # the JSON twin answers like the API
        assert c.get("/login").status_code == 200
        bad = c.post("/auth/login", data={"username": "sam", "password": "nope", "next": "/ui/audit"},
                     follow_redirects=False)
        assert bad.status_code == 303 and bad.headers["location"].startswith("/login?error=1")
        assert "Wrong username or password" in c.get(bad.headers["location"]).text
        ok = c.post("/auth/login", data={"username": "sam", "password": PASSWORD, "next": "/ui/audit"})
        assert ok.status_code == 200 and ok.url.path == "/ui/audit"
        out = c.post("/logout", follow_redirects=False)
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert c.get("/ui/audit", follow_redirects=False).status_code == 303


PAGES = {"/ui/funnel": "conversion", "/ui/queue": "sections", "/ui/audit": "groups", "/ui/policy": "stages",
         "/ui/contacts/{sal}": "timeline"}


def test_every_page_renders_and_has_a_json_twin(sales: Any, data: dict[str, int]) -> None:
    for path, key in PAGES.items():
        url = path.format(**data)
        page = sales.get(url)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), url
        assert "<script" not in page.text.lower(), url  # no script on any page
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-content-type-options"] == "nosniff"
        assert page.headers.get_list("content-security-policy") == [page.headers["content-security-policy"]]
        assert re.search(r'href="/ui/static/dashboard\.css\?v=[0-9a-f]{12}"', page.text), url
        twin = sales.get(url + "?format=json")
        assert twin.status_code == 200 and twin.headers["content-type"] == "application/json", url
        assert twin.json()[key], url
    assert "content-security-policy" not in sales.get("/healthz").headers  # API routes: no page headers
    assert "content-security-policy" in sales.get("/login").headers
    link = re.search(r'href="(/ui/static/dashboard\.css[^"]*)"', page.text)
    assert link is not None
    css = sales.get(link.group(1))
    assert css.status_code == 200 and "@media" in css.text


def test_the_queue_lists_mqls_by_score_and_sals_past_their_sla(sales: Any, data: dict[str, int]) -> None:
    q = sales.get("/ui/queue?format=json").json()
    sections = {s["stage"]: s for s in q["sections"]}
    assert {i["contact_id"] for i in sections["mql"]["items"]} == {data["mql_a"], data["mql_b"]}
    assert sections["mql"]["accept_to"] == "sal" and "nurture" in sections["mql"]["reject_to"]
    sal = sections["sal"]
    assert [i["contact_id"] for i in sal["items"]] == [data["late"]]  # cat was touched: off the queue
    assert sal["breached"] == 1 and sal["items"][0]["breached"] and sal["items"][0]["hours_left"] == -2.0
    assert q["actions"]["mql"]["accept"] is True
    html = sales.get("/ui/queue").text
    assert 'class="breached"' in html and "breached 2 h ago" in html


def test_sales_accepts_an_mql_and_becomes_its_owner(sales: Any, engine: Engine, data: dict[str, int]) -> None:
    r = sales.post(f"/ui/queue/{data['mql_a']}/accept", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/queue?accepted={data['mql_a']}"
    assert stage_and_owner(engine, data["mql_a"]) == ("sal", "sam")
    last = ledger(engine, data["mql_a"])[-1]
    assert (last.from_stage, last.to_stage, last.actor) == ("mql", "sal", "user:sam")
    assert "Accepted amy@acme.com" in sales.get(r.headers["location"]).text


def test_a_rejection_with_its_reason_feeds_the_rejected_mql_report(
    sales: Any, engine: Engine, data: dict[str, int]
) -> None:
    empty = sales.post(f"/ui/queue/{data['mql_b']}/reject", data={"to_stage": "disqualified", "reason": "  "})
    assert empty.status_code == 422 and "needs a reason" in empty.text
    assert stage_and_owner(engine, data["mql_b"])[0] == "mql"
    # nurture is marketing's side stage: sales sends a bad MQL to disqualified (docs/security.md)
    assert sales.get("/ui/queue?format=json").json()["actions"]["mql"]["reject"] == ["disqualified"]
    r = sales.post(f"/ui/queue/{data['mql_b']}/reject",
                   data={"to_stage": "disqualified", "reason": "No  budget"}, follow_redirects=False)
    assert r.status_code == 303
    assert stage_and_owner(engine, data["mql_b"])[0] == "disqualified"
    later = NOW + timedelta(minutes=1)  # the window ends before its clock; the rejection was at NOW
    reasons = {x.reason: x.rejections for x in funnel_report(engine, later).rejected_mqls}
    assert reasons == {"no budget": 1}


def test_marketing_is_refused_accepting_an_mql_and_sees_no_buttons(app: Any, engine: Engine,
                                                                  data: dict[str, int]) -> None:
    with client_for(app, "mia") as c:
        page = c.get("/ui/queue")
        assert page.status_code == 200 and "Accept</button>" not in page.text
        assert "see the queue but not accept from it: the marketing role cannot move" in page.text
        r = c.post(f"/ui/queue/{data['mql_a']}/accept")
        assert r.status_code == 403
        assert "the marketing role cannot move a record from mql to sal (owned by sales)" in r.text
        j = c.post(f"/ui/queue/{data['mql_a']}/accept?format=json")
        assert j.status_code == 403 and j.json()["error"]["code"] == "forbidden"
    assert stage_and_owner(engine, data["mql_a"]) == ("mql", None)
    assert len(ledger(engine, data["mql_a"])) == 1


def test_read_only_and_ingest_only_see_what_their_role_allows(app: Any, data: dict[str, int]) -> None:
    with client_for(app, "rob") as c:
        assert c.get("/ui/queue").status_code == 200
        assert c.post(f"/ui/queue/{data['mql_a']}/accept").status_code == 403
        record = c.get(f"/ui/contacts/{data['sal']}").text
        assert "cannot move this record" in record and 'action="/ui/contacts' not in record
    with client_for(app, "ivy") as c:  # no personal data, no reports
        for path in ("/ui/queue", "/ui/audit", f"/ui/contacts/{data['sal']}", "/ui/funnel"):
            r = c.get(path)
            assert r.status_code == 403 and "does not have the" in r.text, path
        assert c.get("/ui/queue?format=json").json()["error"]["status"] == 403


def test_an_illegal_move_shows_the_gate_refusal_inline(
    sales: Any, engine: Engine, data: dict[str, int]
) -> None:
    r = sales.post(f"/ui/contacts/{data['lead']}/move", data={"to_stage": "sql", "reason": ""})
    assert r.status_code == 422
    assert 'id="refusal"' in r.text and "cannot move from lead to sql" in r.text
    assert "missing qualification evidence" in r.text or "need" in r.text
    assert len(ledger(engine, data["lead"])) == 1  # nothing written


def test_a_move_with_evidence_records_the_ledger_entry(
    sales: Any, engine: Engine, data: dict[str, int]
) -> None:
    form = {"to_stage": "sql", "reason": "", "ev_need": "CRM migration", "ev_authority": "VP signs",
            "ev_timeline": "Q3", "ev_budget": ""}
    r = sales.post(f"/ui/contacts/{data['sal']}/move", data=form, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/ui/contacts/{data['sal']}?moved=1"
    last = ledger(engine, data["sal"])[-1]
    assert (last.from_stage, last.to_stage, last.actor) == ("sal", "sql", "user:sam")
    with engine.connect() as conn:
        fields = {r.field: r.confirmed_by for r in conn.execute(
            select(evidence.c.field, evidence.c.confirmed_by).where(evidence.c.contact_id == data["sal"]))}
    assert fields == {"need": "user:sam", "authority": "user:sam", "timeline": "user:sam"}
    page = sales.get(r.headers["location"]).text
    first = page.index('<li class="stage_change')
    assert "sal → sql" in page[first:first + 300] and 'id="moved"' in page


def test_the_timeline_is_capped_with_a_show_more_link(sales: Any, data: dict[str, int]) -> None:
    short = sales.get(f"/ui/contacts/{data['lead']}?events=3")
    assert short.text.count('<li class="event') == 3
    assert f'href="/ui/contacts/{data["lead"]}?events=12"' in short.text
    twin = sales.get(f"/ui/contacts/{data['lead']}?events=3&format=json").json()
    assert (twin["events_total"], twin["events_shown"]) == (8, 3)
    full = sales.get(f"/ui/contacts/{data['lead']}?events=12")
    assert full.text.count('<li class="event') == 8 and 'id="show-more"' not in full.text


def test_a_missing_contact_is_a_404(sales: Any) -> None:
    page = sales.get("/ui/contacts/999999")
    assert page.status_code == 404 and "no contact with id 999999" in page.text
    assert "<h1>Not found" in page.text
    assert sales.get("/ui/contacts/999999?format=json").json()["error"]["status"] == 404
    assert sales.post("/ui/queue/999999/accept").status_code == 404


def test_the_record_page_shows_the_stored_prediction_and_asks_the_model_only_for_why(
    sales: Any, engine: Engine, data: dict[str, int]
) -> None:
    from leadledger.store.schema import predictions, predictive_models

    assert sales.get(f"/ui/contacts/{data['sal']}?format=json").json()["prediction"] is None  # no model
    with engine.begin() as conn:
        model = conn.execute(predictive_models.insert().values(
            created_at=NOW.replace(tzinfo=None), kind="lightgbm", outcome="reached customer within 180 days",
            leads=1000, converted=100, features="[]", metrics="{}", policy_version="test", model="{}",
            active=True)).inserted_primary_key[0]
        conn.execute(predictions.insert().values(contact_id=data["sal"], model_id=model, probability=0.37,
                                                 scored_at=NOW.replace(tzinfo=None)))
    p = sales.get(f"/ui/contacts/{data['sal']}?format=json").json()["prediction"]
    assert (p["model_id"], p["probability"], p["up"], p["note"]) == (model, 0.37, [], None)
    page = sales.get(f"/ui/contacts/{data['sal']}").text
    assert "37%" in page and 'href="?why=1#prediction-factors"' in page
    other = sales.get(f"/ui/contacts/{data['lead']}?format=json").json()["prediction"]
    assert other["probability"] is None and "no stored probability" in other["note"]


def test_the_audit_page_keeps_its_result_until_asked_to_rerun(sales: Any, engine: Engine) -> None:
    first = sales.get("/ui/audit?format=json").json()
    assert first["cached"] is False and first["findings"] >= 1
    assert sales.get("/ui/audit?format=json").json()["cached"] is True
    assert "rerun the audit" in sales.get("/ui/audit").text
    assert sales.get("/ui/audit?format=json&refresh=1").json()["cached"] is False
