"""The dashboard in real headless Chromium (Debian's, driven by Playwright) against a live `leadledger serve`.

The test builds a small demo database with the CLI (`demo --scale 0.05`, `score`, `user add`), starts
`leadledger serve` on a free loopback port in a subprocess, and clicks through: log in, the funnel,
accept an MQL from the queue, an illegal move refused inline, a move with evidence and its ledger
entry, and the same pages at phone width (375 px). With LEADLEDGER_SCREENSHOTS=1 it also rewrites
the PNGs in docs/screenshots/ that the README and docs/dashboard.md show.

CI=true makes a missing Chromium or Playwright a failure, never a silent skip.
"""

from __future__ import annotations

import os
import socket
import struct
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "browser-test-password"
SHOTS = os.environ.get("LEADLEDGER_SCREENSHOTS") == "1"


def _cli(db: str, *args: str, stdin: str | None = None) -> str:
    """Run the real `leadledger` CLI on `db`; fail with its output if it fails."""
    r = subprocess.run([sys.executable, "-m", "leadledger", "--db", db, *args], input=stdin,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"leadledger {' '.join(args)} failed:\n{r.stdout}\n{r.stderr}"
    return r.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A small, scored demo database with a sales and a marketing user."""
    db = f"sqlite:///{tmp_path_factory.mktemp('dashboard')}/demo.db"
    _cli(db, "demo", "--scale", "0.05")
    _cli(db, "score")
    _cli(db, "user", "add", "sam", "--role", "sales", "--password-stdin", stdin=PASSWORD + "\n")
    _cli(db, "user", "add", "mia", "--role", "marketing", "--password-stdin", stdin=PASSWORD + "\n")
    return db


@pytest.fixture(scope="module")
def server(database: str) -> Iterator[str]:
    """`leadledger serve` on a free loopback port; stopped (by its pid) after the module."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "leadledger", "--db", database, "serve", "--host", "127.0.0.1",
         "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.stdout and proc.poll() is not None else ""
                pytest.fail(f"leadledger serve did not come up on {base}:\n{out}")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()




def _login(browser: Any, base: str, user: str, width: int = 1280, height: int = 800) -> Any:
    """A new page logged in as `user` through the login form; console errors collected on `page.errors`."""
    page = browser.new_page(viewport={"width": width, "height": height})
    errors: list[str] = []

    def console(m: Any) -> None:
        # A refused move answers 422 and a role refusal 403 on purpose; the browser logs those too.
        if m.type == "error" and not any(f"status of {s}" in m.text for s in (403, 422)):
            errors.append(m.text)

    page.on("console", console)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.errors = errors
    page.goto(base + "/ui/funnel")
    assert "/login?next=/ui/funnel" in page.url  # no session: the login page, coming back after
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/ui/funnel")
    return page


def _shot(page: Any, name: str, *, full_page: bool = False) -> None:
    if SHOTS:
        DOCS.mkdir(parents=True, exist_ok=True)
        path = DOCS / f"dashboard-{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        width, _ = struct.unpack(">II", path.read_bytes()[16:24])
        assert width == page.viewport_size["width"]


@pytest.fixture(scope="module")
def page(browser: Any, server: str) -> Iterator[Any]:
    """Logged in as sam (sales) at 1280 px."""
    p = _login(browser, server, "sam")
    yield p
    assert p.errors == []  # no script errors, no blocked or missing resource on any page visited
    p.close()


def test_the_funnel_shows_counts_trend_time_in_stage_and_sources(page: Any) -> None:
    assert page.inner_text("h1") == "Funnel"
    for section in ("stages", "trend", "time-in-stage", "sources"):
        assert page.locator(f"section#{section}").is_visible(), section
    charts = page.locator("svg.chart")
    assert charts.count() >= 4
    for i in range(charts.count()):
        box = charts.nth(i).bounding_box()
        assert box is not None and box["width"] > 200 and box["height"] > 100
    assert page.locator("#stages tbody tr").count() >= 6
    _shot(page, "funnel")


def test_accept_an_mql_from_the_queue(page: Any, server: str) -> None:
    page.goto(server + "/ui/queue")
    first = page.locator("#queue-mql tbody tr").first
    name = first.locator("td a").first.inner_text()
    contact = first.get_attribute("data-contact")
    _shot(page, "queue")
    first.locator("button", has_text="Accept").click()
    page.wait_for_url("**/ui/queue?accepted=*")
    assert "Accepted" in page.locator(".alert.ok").inner_text()
    assert page.locator(f'#queue-mql tr[data-contact="{contact}"]').count() == 0
    page.goto(f"{server}/ui/contacts/{contact}")
    assert page.inner_text("h1") == name
    assert page.inner_text("#stage") == "sal"
    top = page.locator("ol.timeline li.stage_change").first.inner_text()
    assert "mql → sal" in top and "user:sam" in top


def test_an_illegal_move_is_refused_inline(page: Any, server: str, database: str) -> None:
    contact = _lead_without_evidence(database)
    page.goto(f"{server}/ui/contacts/{contact}")
    page.select_option("#to_stage", "sql")  # a lead straight to SQL, with no evidence on file
    page.click("#move button[type=submit]")
    page.wait_for_load_state()
    refusal = page.locator("#refusal")
    assert refusal.count() == 1, page.inner_text("main")
    text = refusal.inner_text()
    assert "Refused by the gate" in text and "cannot move from lead to sql" in text
    assert "missing qualification evidence" in text
    assert page.inner_text("#stage") == "lead"
    _shot(page, "refusal")


def test_a_move_with_evidence_shows_its_ledger_entry(page: Any, server: str, database: str) -> None:
    contact = _sal_ready_but_for_evidence(database)
    page.goto(f"{server}/ui/contacts/{contact}")
    page.select_option("#to_stage", "sql")
    page.fill("#ev_need", "replacing spreadsheets")
    page.fill("#ev_authority", "VP Sales signs")
    page.fill("#ev_timeline", "this quarter")
    page.fill("#ev_champion", "the VP")
    page.fill("#ev_initiative", "CRM rollout")
    page.fill("#ev_next_meeting", "next Tuesday")
    page.click("#move button[type=submit]")
    page.wait_for_url("**moved=1")
    assert page.inner_text("#stage") == "sql"
    entry = page.locator("ol.timeline li.stage_change").first
    assert "sal → sql" in entry.inner_text() and "user:sam" in entry.inner_text()
    entry.locator("summary").click()
    assert "replacing spreadsheets" in entry.inner_text()  # the evidence snapshot the gate kept
    assert "replacing spreadsheets" in page.inner_text("#evidence")
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, "record")


def test_audit_and_policy_pages(page: Any, server: str) -> None:
    page.goto(server + "/ui/audit")
    assert page.locator("section.rule").count() >= 3
    assert page.locator("section.rule .badge.error").count() >= 1
    _shot(page, "audit")
    page.goto(server + "/ui/policy")
    assert page.locator("#stages tbody tr").count() == 8
    assert page.locator("#history tbody tr").count() >= 1
    _shot(page, "policy")


def test_marketing_sees_why_it_cannot_accept(browser: Any, server: str) -> None:
    p = _login(browser, server, "mia")
    p.goto(server + "/ui/queue")
    assert p.locator("#queue-mql button", has_text="Accept").count() == 0
    assert "the marketing role cannot move a record from mql to sal" in p.inner_text(".alert.note")
    p.close()


@pytest.mark.parametrize("path", ["/ui/funnel", "/ui/queue", "/ui/contacts/1", "/ui/audit", "/ui/policy"])
def test_pages_fit_a_phone_screen(browser: Any, server: str, path: str) -> None:
    """At 375 px nothing widens the page: tables scroll inside their box, the nav wraps."""
    p = _login(browser, server, "sam", width=375, height=740)
    p.goto(server + path)
    assert p.evaluate("document.documentElement.scrollWidth") <= 375, path
    assert p.locator("nav.main").is_visible()
    if path == "/ui/queue":  # the action is on screen without scrolling sideways
        box = p.locator("#queue-mql button", has_text="Accept").first.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 375
        _shot(p, "queue-phone")
    assert p.errors == []
    p.close()


def _lead_without_evidence(database: str) -> int:
    """A lead with no evidence on file: the SQL gate must refuse it."""
    from sqlalchemy import select

    from leadledger.store.db import make_engine
    from leadledger.store.schema import contacts, evidence

    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            cid = conn.execute(
                select(contacts.c.id)
                .where(contacts.c.stage == "lead", ~contacts.c.id.in_(select(evidence.c.contact_id)))
                .order_by(contacts.c.id)
                .limit(1)
            ).scalar_one()
    finally:
        engine.dispose()
    return int(cid)


def _sal_ready_but_for_evidence(database: str) -> int:
    """An SAL whose SQL gate lacks only evidence (fit, two-way touch, buying signal are on record)."""
    from leadledger.services.contacts import explain
    from leadledger.store.db import make_engine, utcnow
    from leadledger.store.schema import contacts

    engine = make_engine(database)
    try:
        with engine.connect() as conn:
            emails = [r.email for r in conn.execute(
                contacts.select().where(contacts.c.stage == "sal").order_by(contacts.c.id))]
        for email in emails:
            x = explain(engine, email, utcnow())
            needs = {m.requirement.split(":")[0] for m in (x.next_gate.missing if x.next_gate else ())}
            if x.next_stage == "sql" and needs and needs <= {"evidence", "enterprise"}:
                return x.facts.contact.id
    finally:
        engine.dispose()
    pytest.fail("the demo has no SAL that only lacks evidence for SQL")
